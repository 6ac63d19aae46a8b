#!/usr/bin/env python3
"""What the controller must not do to pods and bills: orphan reaping within
its own prefix only, --dry-run, and --max-pods.

Run through CTest, one class per test, or by hand:
  PODSESSION_BINARY=build/podsession /usr/bin/python3 guards_test.py -v OrphanReaping
"""

import re
import time
import unittest

from harness import IntegrationTest, condition, parse_time, pod_name_prefix, session_yaml


class OrphanReaping(IntegrationTest):
    grace = 3

    def test_reaps_only_own_orphans(self):
        self.start_simulator()
        # The planted pods count their age from a whole second, as RunPod's
        # createdAt does.
        planted_at = int(time.time())
        orphan = self.simulator.plant("psn-default-default-ghost-0123abcd", created_at=planted_at)
        survivors = {
            "another controller id": self.simulator.plant(
                "psn-other-default-ghost-0123abcd", created_at=planted_at),
            "an id that extends this one": self.simulator.plant(
                "psn-default2-default-ghost-0123abcd", created_at=planted_at),
            "an unrelated name": self.simulator.plant("my-notebook", created_at=planted_at),
        }
        self.sessions.write("keeper.yaml", session_yaml("keeper"))
        controller = self.start_controller("--orphan-grace", f"{self.grace}s",
                                           "--resync-interval", "500ms")
        keeper_pod = self.wait_for_phase("keeper", "Running")["podId"]

        def orphan_deleted_at():
            pods = {pod["id"]: pod for pod in self.simulator.pods()}
            return time.time() if pods[orphan]["deleted"] else None
        seen_deleted = self.wait_for(orphan_deleted_at, "the orphan to be reaped",
                                     timeout=self.grace + 15)
        created_at = parse_time(self.simulator.pods("psn-default-default-ghost-")[0]["createdAt"])
        self.assertGreaterEqual(seen_deleted, created_at + self.grace,
                                "the orphan was reaped before --orphan-grace")
        # The log line follows the GET that confirms the pod gone.
        self.wait_for_log(controller, rf"terminated pod session=none pod={orphan} .*reason=orphan")
        self.assertEqual(
            controller.metric('podsession_pods_terminated_total{reason="orphan"}'), 1)

        # Every later list is past the grace of all planted pods.
        self.wait_for_resyncs(3)
        live = {pod["id"] for pod in self.simulator.pods(live_only=True)}
        for description, pod_id in survivors.items():
            with self.subTest(pod=description):
                self.assertIn(pod_id, live)
        self.assertIn(keeper_pod, live)
        self.assertEqual(self.sessions.status("keeper")["phase"], "Running")
        self.assertEqual(self.simulator.calls()["deletePod"], 1)


class DryRun(IntegrationTest):
    def test_dry_run_calls_no_mutation(self):
        self.start_simulator()
        orphan = self.simulator.plant("psn-default-default-ghost-0123abcd",
                                      created_at=time.time() - 3600)
        self.sessions.write("omicron.yaml", session_yaml("omicron"))
        controller = self.start_controller("--dry-run", "--orphan-grace", "1s")

        self.wait_for_log(controller, r"dry run, not acting session=default/omicron "
                                      r"action=\"create pod psn-default-default-omicron-[0-9a-f]{8}\"")
        self.wait_for_log(controller, rf"dry run, not acting action=\"terminate pod {orphan} "
                                      r"\(orphan\)\"")
        self.wait_for_resyncs(3)
        calls = self.simulator.calls()
        self.assertEqual((calls["createPod"], calls["deletePod"], calls["podAction"]), (0, 0, 0))
        self.assertEqual([pod["id"] for pod in self.simulator.pods(live_only=True)], [orphan])
        status = self.sessions.status("omicron")
        self.assertIsNotNone(status, self.diagnostics())
        self.assertEqual(status["phase"], "Pending")
        self.assertNotIn("podId", status)
        self.assertRegex(controller.log_text(), r"executor started .*dry_run=true")


class MaxPods(IntegrationTest):
    names = ("sigma", "tau")

    def split_by_phase(self):
        """Returns (running name, waiting name) once one session runs and the
        other carries BudgetExceeded, else None."""
        statuses = {name: self.sessions.status(name) or {} for name in self.names}
        running = [name for name, status in statuses.items() if status.get("phase") == "Running"]
        waiting = [name for name, status in statuses.items()
                   if (condition(status, "BudgetExceeded") or {}).get("status") == "True"]
        if len(running) == 1 and len(waiting) == 1 and running != waiting:
            return running[0], waiting[0]
        return None

    def test_second_session_waits_for_budget(self):
        self.start_simulator()
        for name in self.names:
            self.sessions.write(f"{name}.yaml", session_yaml(name))
        self.start_controller("--max-pods", "1")
        running, waiting = self.wait_for(self.split_by_phase,
                                         "one session Running and one BudgetExceeded")

        status = self.sessions.status(waiting)
        self.assertEqual(status["phase"], "Pending")
        self.assertRegex(condition(status, "BudgetExceeded")["message"], r"--max-pods 1")
        self.assertEqual(condition(status, "Ready")["status"], "False")
        self.wait_for_resyncs(3)
        self.assertEqual(self.split_by_phase(), (running, waiting))
        self.assertEqual(len(self.simulator.pods("psn-")), 1, self.simulator.describe())
        self.assertEqual(self.simulator.calls()["createPod"], 1)

        # The budget frees up when the running session ends; never two live pods.
        self.sessions.remove(f"{running}.yaml")
        def waiting_runs():
            live = self.simulator.pods("psn-", live_only=True)
            self.assertLessEqual(len(live), 1, self.simulator.describe())
            status = self.sessions.status(waiting)
            return status if status.get("phase") == "Running" else None
        status = self.wait_for(waiting_runs, f"{waiting} to get the freed pod")
        self.assertIsNone(condition(status, "BudgetExceeded"))
        self.assertEqual(self.simulator.calls()["createPod"], 2)


class DuplicatePod(IntegrationTest):
    def test_newer_duplicate_is_terminated(self):
        self.start_simulator()
        self.sessions.write("upsilon.yaml", session_yaml("upsilon"))
        controller = self.start_controller()
        status = self.wait_for_phase("upsilon", "Running")
        uid = self.sessions.document("upsilon")["metadata"]["uid"]

        # A second, newer pod for the same session, as a create retried
        # blindly would leave. The pod booted for a second, so now is a later
        # whole second than its createdAt.
        duplicate = self.simulator.plant(
            status["podName"], created_at=time.time(),
            env={"PODSESSION_NAMESPACE": "default", "PODSESSION_NAME": "upsilon",
                 "PODSESSION_UID": uid})

        def duplicate_gone():
            live = self.simulator.pods(pod_name_prefix("upsilon"), live_only=True)
            return all(pod["id"] != duplicate for pod in live)
        self.wait_for(duplicate_gone, "the duplicate to be terminated")
        self.wait_for_log(controller, rf"terminated pod session=default/upsilon pod={duplicate} "
                                      r".*reason=duplicate")
        self.wait_for_resyncs(2)
        live = self.simulator.pods(pod_name_prefix("upsilon"), live_only=True)
        self.assertEqual([pod["id"] for pod in live], [status["podId"]])
        self.assertEqual(self.sessions.status("upsilon")["podId"], status["podId"])
        self.assertEqual(self.simulator.calls()["createPod"], 1)


if __name__ == "__main__":
    unittest.main()
