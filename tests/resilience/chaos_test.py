"""Every fault at once, at random rates from a seeded generator, while the
controller is killed and restarted twice. Once the faults stop, the
invariants must hold as after any single fault.
"""

import unittest

from harness import ResilienceTest

LIVE = [f"user-{i}" for i in range(5)]
EXPIRING = ["idle-0", "idle-1", "idle-2"]
DELETED = ["gone-0", "gone-1"]


class Chaos(ResilienceTest):
    """Latency, listing lag, 5xx, lost and failed-but-done creates, ignored and
    failed-but-done DELETEs and 429s, all at once."""

    faults = [
        {"fault": "delay", "delayMs": 5, "delayMaxMs": 150},
        {"operation": "listPods", "fault": "listLag", "lagMs": 3000},
        {"fault": "error", "status": 503, "probability": 0.2},
        {"operation": "createPod", "fault": "errorAfterEffect", "status": 500,
         "probability": 0.15},
        {"operation": "createPod", "fault": "dropResponse", "probability": 0.1},
        {"operation": "deletePod", "fault": "ignore", "probability": 0.2},
        {"operation": "deletePod", "fault": "errorAfterEffect", "status": 502,
         "probability": 0.2},
        {"fault": "error", "status": 429, "retryAfterSeconds": 1, "probability": 0.03},
    ]

    def wait_for_calls(self, operation, count):
        start = self.simulator.calls(operation)
        self.wait_for(lambda: self.simulator.calls(operation) >= start + count,
                      f"{count} more {operation} requests")

    def test_converges_after_faults_and_crashes(self):
        self.simulator.set_faults(self.faults, seed=11)
        controller = self.start_controller()
        for name in LIVE + DELETED:
            self.write_session(name)
        for name in EXPIRING:
            self.write_session(name, idle_ttl=4)
        self.wait_for_calls("createPod", 5)

        # Sessions go away while pods are being made, and the controller dies
        # twice mid-flight.
        for name in DELETED:
            self.delete_session(name)
        controller.crash()
        controller = self.start_controller()
        self.wait_for_calls("listPods", 3)
        controller.crash()
        controller = self.start_controller()
        self.wait_for_calls("listPods", 3)

        self.simulator.clear_faults()
        self.wait_for_running(*LIVE)
        for name in EXPIRING:
            status = self.wait_for_gone(name)
            self.assertEqual(status["phase"], "Expired")
        for name in DELETED:
            self.wait_for(lambda name=name: self.statuses.status(name) is None,
                          f"{name} to be released")
        self.wait_for(lambda: not self.simulator.pods("psn-default-default-idle-"),
                      "the expired sessions' pods to be gone")
        self.assertNotIn("critical", controller.log())
        self.assert_invariants(live=LIVE, ended=EXPIRING + DELETED)


if __name__ == "__main__":
    unittest.main()
