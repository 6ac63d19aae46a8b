"""Pods that misbehave after their create: stuck while booting, moved to
ERROR or deleted from the console, stopped when the balance runs out, and
env values that must reach them byte for byte.
"""

import unittest

from harness import ResilienceTest, hold_for, session_prefix


class StuckBoot(ResilienceTest):
    """Pods that stay PROVISIONING or STARTING forever, with no runtime."""

    def test_ready_timeout_fails_and_terminates(self):
        self.simulator.set_faults([
            {"fault": "stick", "podStatus": "PROVISIONING",
             "namePrefix": session_prefix("stuck-provisioning")},
            {"fault": "stick", "podStatus": "STARTING",
             "namePrefix": session_prefix("stuck-starting")}])
        self.start_controller()

        self.write_session("stuck-provisioning", ready_timeout=3)
        self.write_session("stuck-starting", ready_timeout=3)
        self.write_session("fine", ready_timeout=30)

        for name in ("stuck-provisioning", "stuck-starting"):
            status = self.wait_for_gone(name)
            self.assertEqual(status["phase"], "Failed")
            self.assertEqual(status["reason"], "ReadyTimeout")
        self.wait_for_running("fine")
        self.assert_invariants(live=["fine"], ended=["stuck-provisioning", "stuck-starting"])


class PodErrorAndConsoleDeletion(ResilienceTest):
    """A pod goes to ERROR, or someone deletes it in the RunPod console,
    whether it runs or still boots."""

    def test_sessions_fail_without_new_pods(self):
        self.simulator.set_faults([
            {"fault": "stick", "podStatus": "STARTING", "namePrefix": session_prefix("booting")}])
        self.start_controller()
        for name in ("broken", "deleted", "booting"):
            self.write_session(name)
        self.wait_for_running("broken", "deleted")
        self.wait_for_phase("booting", "Provisioning")
        ids = {name: self.statuses.status(name)["podId"]
               for name in ("broken", "deleted", "booting")}

        self.simulator.set_status(ids["broken"], "ERROR")
        self.simulator.set_status(ids["deleted"], "TERMINATED")
        self.simulator.set_status(ids["booting"], "TERMINATED")

        status = self.wait_for_gone("broken")
        self.assertEqual((status["phase"], status["reason"]), ("Failed", "PodFailed"))
        for name in ("deleted", "booting"):
            status = self.wait_for_gone(name)
            self.assertEqual((status["phase"], status["reason"]), ("Failed", "PodFailed"))
            ready = self.statuses.condition(name, "Ready")
            self.assertEqual(ready["reason"], "PodGone")
        # A pod gone by someone else's hand is not replaced, because a new
        # pod would be a bill that no user requested.
        self.assertEqual(self.simulator.calls("createPod"), 3)
        self.assert_invariants(live=[], ended=["broken", "deleted", "booting"])


class ZeroBalance(ResilienceTest):
    """The balance runs out: RunPod stops running pods itself and rejects
    creates with 402."""

    def test_stops_creating_and_cleans_up(self):
        controller = self.start_controller()
        self.write_session("user-a")
        self.write_session("user-b")
        self.wait_for_running("user-a", "user-b")

        self.simulator.admin("PUT", "/_sim/balance", {"empty": True, "pods": "stop"})

        for name in ("user-a", "user-b"):
            status = self.wait_for_gone(name)
            self.assertEqual((status["phase"], status["reason"]), ("Failed", "PodFailed"))

        # A new session gets a condition instead of a pod, and no create storm.
        self.write_session("user-c")
        condition = self.wait_for(
            lambda: self.statuses.condition("user-c", "ProviderError"),
            "user-c to report the exhausted balance")
        self.assertIn("402", condition["message"])
        self.assertEqual(self.statuses.status("user-c")["phase"], "Pending")
        self.assertIn("balance exhausted", controller.log())

        def payment_failures():
            return sum(1 for request in self.simulator.requests()
                       if request["operation"] == "createPod" and request["status"] == 402)

        first = payment_failures()
        self.assertGreaterEqual(first, 1)

        def still_waiting():
            self.assertEqual(self.statuses.status("user-c").get("phase"), "Pending")
            self.assertEqual(self.live_pods_of("user-c"), [])

        hold_for(2.0, still_waiting)
        self.assertLessEqual(payment_failures(), first + 1)
        self.assert_invariants(live=[], ended=["user-a", "user-b", "user-c"])

    def test_pods_terminated_by_runpod_are_not_replaced(self):
        self.start_controller()
        self.write_session("user-a")
        self.wait_for_running("user-a")

        self.simulator.admin("PUT", "/_sim/balance", {"empty": True, "pods": "terminate"})

        status = self.wait_for_gone("user-a")
        self.assertEqual((status["phase"], status["reason"]), ("Failed", "PodFailed"))
        self.assertEqual(self.statuses.condition("user-a", "Ready")["reason"], "PodGone")
        self.assertEqual(self.simulator.calls("createPod"), 1)
        self.assert_invariants(live=[], ended=["user-a"])


class AwkwardEnv(ResilienceTest):
    """Env values with `=`, quotes, spaces, backslashes, line breaks and
    non-ASCII text reach the pod byte for byte, and never a log or status."""

    env = {
        "EQUALS": "a=b==c zq7-equals",
        "QUOTES": "say \"hi\" and 'bye' zq7-quotes",
        "SPACES": "  padded  value zq7-spaces  ",
        "UNICODE": "é 中文 🚀 zq7-unicode",
        "BACKSLASH": "C:\\path\\to zq7-backslash",
        "LINES": "first line\nsecond line zq7-lines",
        "EMPTY": "",
    }

    def test_values_round_trip(self):
        controller = self.start_controller()

        self.write_session("user-a", env=self.env)
        status = self.wait_for_phase("user-a", "Running")

        pods = self.simulator.pods(session_prefix("user-a"))
        self.assertEqual(len(pods), 1)
        for name, value in self.env.items():
            with self.subTest(variable=name):
                self.assertEqual(pods[0]["env"].get(name), value)
        self.assertEqual(pods[0]["env"]["PODSESSION_NAME"], "user-a")

        with open(self.statuses.path("user-a"), encoding="utf-8") as file:
            status_text = file.read()
        for name, value in self.env.items():
            marker = value.strip().split(" ")[-1]
            if marker:
                with self.subTest(marker=marker):
                    self.assertNotIn(marker, controller.log())
                    self.assertNotIn(marker, status_text)
        self.assertEqual(status["phase"], "Running")
        self.assert_invariants(live=["user-a"])


if __name__ == "__main__":
    unittest.main()
