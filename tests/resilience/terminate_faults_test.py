"""Terminates that go wrong: a DELETE that fails but works, one that succeeds
but does nothing, one that keeps failing or timing out.

A session is marked gone (terminatedAt, or its files released) only after a
GET finds its pod gone. The monitor of every test checks that throughout.
"""

import unittest

from harness import ResilienceTest, hold_for, session_prefix

FAILURES = "podsession_terminate_failures_total"


class ActionErrorsButTakesEffect(ResilienceTest):
    """An action returns an error but takes effect, or returns success and
    does nothing. The controller terminates with DELETE, so these are the
    DELETE's variants; the simulator scripts the same for pod actions."""

    def test_terminates_are_confirmed_by_get(self):
        self.simulator.set_faults([
            {"operation": "deletePod", "fault": "errorAfterEffect", "status": 500,
             "namePrefix": session_prefix("worked"), "times": 1},
            {"operation": "deletePod", "fault": "ignore",
             "namePrefix": session_prefix("ignored"), "times": 2}])
        controller = self.start_controller()

        self.write_session("worked", idle_ttl=2)
        self.write_session("ignored", idle_ttl=2)
        self.wait_for_running("worked", "ignored")

        for name in ("worked", "ignored"):
            status = self.wait_for_gone(name)
            self.assertEqual((status["phase"], status["reason"]), ("Expired", "IdleTimeout"))
        counters = self.simulator.fault_counters()
        self.assertEqual(counters[0]["applied"], 1)
        self.assertEqual(counters[1]["applied"], 2)
        self.assertIn("terminate not confirmed yet", controller.log())
        self.assert_invariants(live=[], ended=["worked", "ignored"])


class DeleteKeepsFailing(ResilienceTest):
    """A DELETE fails again and again, or times out, for a while."""

    def test_session_stays_terminating_until_confirmed(self):
        controller = self.start_controller(flags={"--runpod-request-timeout": "1s"})
        self.write_session("stubborn", idle_ttl=3)
        self.write_session("slow")
        self.wait_for_running("stubborn", "slow")
        ids = {name: self.statuses.status(name)["podId"] for name in ("stubborn", "slow")}
        baseline = controller.metrics()[FAILURES]

        self.simulator.set_faults([
            {"operation": "deletePod", "fault": "error", "status": 500,
             "namePrefix": session_prefix("stubborn")},
            # Past the 1 s request timeout, and then no effect.
            {"operation": "deletePod", "fault": "dropRequest", "delayMs": 1500,
             "namePrefix": session_prefix("slow"), "times": 4}])
        self.delete_session("slow")

        # Every failure is counted, and the session is not marked gone.
        self.wait_for(lambda: controller.metrics()[FAILURES] >= baseline + 3,
                      "three counted terminate failures")
        stubborn = self.statuses.status("stubborn")
        self.assertEqual(stubborn["phase"], "Expired")
        self.assertNotIn("terminatedAt", stubborn)
        self.assertEqual([pod["id"] for pod in self.live_pods_of("stubborn")],
                         [ids["stubborn"]])
        self.assertIn("terminate failed, retrying", controller.log())

        def slow_is_held():
            status = self.statuses.status("slow")
            if self.live_pods_of("slow"):
                self.assertIsNotNone(status, "released while its pod runs")
                self.assertEqual(status["phase"], "Terminating")

        hold_for(1.0, slow_is_held)

        # The fault clears: both pods go, and only then the sessions.
        self.simulator.clear_faults()
        status = self.wait_for_gone("stubborn")
        self.assertEqual(status["reason"], "IdleTimeout")
        self.wait_for(lambda: self.statuses.status("slow") is None,
                      "the deleted session to be released")
        deleted = {pod["id"] for pod in self.simulator.pods(live_only=False) if pod["deleted"]}
        self.assertTrue({ids["stubborn"], ids["slow"]} <= deleted)
        self.assertGreaterEqual(controller.metrics()[FAILURES], baseline + 3)
        self.assert_invariants(live=[], ended=["stubborn", "slow"])


if __name__ == "__main__":
    unittest.main()
