#!/usr/bin/env python3
"""Controller restarts in directory mode: a crash right after a create, and a
clean stop with sessions running. The simulator runs in its own process and
keeps its pods while the controller is down.

Run through CTest, one class per test, or by hand:
  PODSESSION_BINARY=build/podsession /usr/bin/python3 restart_test.py -v RestartAdoption
"""

import os
import re
import signal
import unittest

from harness import IntegrationTest, pod_name_prefix, session_yaml, wait_until


class CrashAfterCreate(IntegrationTest):
    def crash_and_restart(self, name, crashed):
        """Starts a controller on one new session and kills it with SIGKILL once
        `crashed(controller)` is true. Then restarts it and checks that the pod
        the first process created is adopted."""
        self.start_simulator()
        self.sessions.write(f"{name}.yaml", session_yaml(name))
        controller = self.start_controller()
        wait_until(lambda: crashed(controller), 20, "the create", self.diagnostics,
                   interval=0.005)
        controller.kill()

        pods = self.simulator.pods(pod_name_prefix(name))
        self.assertEqual(len(pods), 1, self.simulator.describe())
        pod_id = pods[0]["id"]
        # The token is stored before the create is sent.
        self.assertTrue(os.path.exists(self.sessions.token_path(name)))
        token = self.read_token(name)
        self.assertTrue(pods[0]["env"].get("ATLAS_PRESHARED_KEY") == token,
                        "the pod's token is not the one in the token file")

        controller.start()
        status = self.wait_for_phase(name, "Running")
        self.assertEqual(status["podId"], pod_id)
        self.assertTrue(self.read_token(name) == token, "the token file changed on restart")
        self.assertEqual(self.sessions.document(name)["metadata"]["uid"],
                         pods[0]["env"]["PODSESSION_UID"])

        # Later lists change nothing: the simulator never saw a second pod.
        self.wait_for_resyncs(3)
        self.assertEqual(len(self.simulator.pods(pod_name_prefix(name))), 1,
                         self.simulator.describe())
        calls = self.simulator.calls()
        self.assertEqual((calls["createPod"], calls["deletePod"]), (1, 0))

    def test_kill_when_simulator_has_pod(self):
        self.crash_and_restart(
            "zeta", lambda controller: self.simulator.pods(pod_name_prefix("zeta")))

    def test_kill_while_create_unanswered(self):
        # The simulator is stopped while the create is in flight, so the
        # controller dies before the response arrives and the pod appears
        # afterwards. The restart finds only the create request in the status.
        self.start_simulator()
        # No list runs during the test, so the only request in flight is the create.
        controller = self.start_controller("--resync-interval", "60s")
        controller.wait_ready()
        self.simulator.process.send_signal(signal.SIGSTOP)
        try:
            self.sessions.write("mu.yaml", session_yaml("mu"))
            self.wait_for(lambda: (self.sessions.status("mu") or {}).get("createRequestedAt"),
                          "the create request in the status file")
            self.wait_for(lambda: self.simulator.unread_request_bytes() > 0,
                          "the create request to reach the stopped simulator")
            controller.kill()
            self.assertNotIn("podId", self.sessions.status("mu"))
        finally:
            self.simulator.process.send_signal(signal.SIGCONT)
        pods = self.wait_for(lambda: self.simulator.pods(pod_name_prefix("mu")),
                             "the simulator to create the pod it was sent")
        token = self.read_token("mu")
        self.assertTrue(pods[0]["env"].get("ATLAS_PRESHARED_KEY") == token,
                        "the pod's token is not the one in the token file")

        self.start_controller()
        status = self.wait_for_phase("mu", "Running")
        self.assertEqual(status["podId"], pods[0]["id"])
        self.assertTrue(self.read_token("mu") == token, "the token file changed on restart")
        self.wait_for_resyncs(3)
        self.assertEqual(len(self.simulator.pods(pod_name_prefix("mu"))), 1,
                         self.simulator.describe())
        calls = self.simulator.calls()
        self.assertEqual((calls["createPod"], calls["deletePod"]), (1, 0))

    def test_kill_when_log_says_created(self):
        self.crash_and_restart(
            "eta", lambda controller: re.search(r"created pod session=default/eta ",
                                                controller.log_text()))


class RestartAdoption(IntegrationTest):
    sessions_by_file = {
        "two.yaml": [("theta", None), ("iota", "apps")],
        "one.yml": [("kappa", None)],
    }

    def snapshot(self):
        """Returns each session's uid, pod id and token."""
        result = {}
        for documents in self.sessions_by_file.values():
            for name, namespace in documents:
                namespace = namespace or "default"
                document = self.sessions.document(name, namespace)
                result[(namespace, name)] = (document["metadata"]["uid"],
                                             document["status"]["podId"],
                                             self.read_token(name, namespace))
        return result

    def assert_pods_live(self, pod_ids):
        live = {pod["id"] for pod in self.simulator.pods("psn-", live_only=True)}
        self.assertEqual(live, pod_ids, self.simulator.describe())

    def test_restart_adopts_running_pods(self):
        self.start_simulator()
        for filename, documents in self.sessions_by_file.items():
            self.sessions.write(filename, "---\n".join(
                session_yaml(name, namespace=namespace) for name, namespace in documents))
        controller = self.start_controller()
        for documents in self.sessions_by_file.values():
            for name, namespace in documents:
                self.wait_for_phase(name, "Running", namespace or "default")
        before = self.snapshot()
        pod_ids = {pod_id for _, pod_id, _ in before.values()}
        self.assertEqual(len(pod_ids), 3)

        self.assertEqual(controller.terminate(), 0, controller.log_tail())
        self.assert_pods_live(pod_ids)
        calls = self.simulator.calls()
        self.assertEqual((calls["createPod"], calls["deletePod"]), (3, 0))

        controller.start()
        controller.wait_ready()
        self.wait_for_resyncs(3)
        self.assertEqual(self.snapshot(), before)
        for documents in self.sessions_by_file.values():
            for name, namespace in documents:
                self.assertEqual(self.sessions.status(name, namespace or "default")["phase"],
                                 "Running")
        calls = self.simulator.calls()
        self.assertEqual((calls["createPod"], calls["deletePod"], calls["podAction"]), (3, 0, 0))
        self.assert_pods_live(pod_ids)

        self.assertEqual(controller.terminate(), 0, controller.log_tail())
        self.assert_pods_live(pod_ids)
        self.assertRegex(controller.log_text(), r"stopping on signal; pods keep running")

    def test_lost_status_adopts_pod(self):
        # The status file contains the session's UID. Lost while the controller
        # is stopped, the next start mints a new UID; the pod of the old one is
        # still the session's, and its token file shows the user has its token.
        self.start_simulator()
        self.sessions.write("one.yml", session_yaml("kappa"))
        controller = self.start_controller()
        running = self.wait_for_phase("kappa", "Running")
        uid = self.sessions.document("kappa")["metadata"]["uid"]
        token = self.read_token("kappa")
        self.assertEqual(controller.terminate(), 0, controller.log_tail())

        os.remove(self.sessions.status_path("kappa"))
        controller.start()
        controller.wait_ready()
        self.wait_for_resyncs(3)
        status = self.wait_for_phase("kappa", "Running")
        self.assertEqual(status["podId"], running["podId"])
        self.assertEqual(self.sessions.document("kappa")["metadata"]["uid"], uid)
        self.assertEqual(self.read_token("kappa"), token)
        self.assertEqual(self.simulator.calls()["createPod"], 1, self.simulator.describe())
        self.assertRegex(controller.log_text(), r"status file lost; taking the UID")

    def test_adopted_pod_outlives_orphan_grace(self):
        # A pod adopted for a session whose status file was lost belongs to that
        # session, so the orphan reaper must not terminate it, even past the grace.
        self.start_simulator()
        self.sessions.write("one.yml", session_yaml("kappa"))
        controller = self.start_controller("--orphan-grace", "2s")
        running = self.wait_for_phase("kappa", "Running")
        wait_until(lambda: (self.simulator.pods(pod_name_prefix("kappa"))[0].get("runtime") or {})
                   .get("uptime", 0) >= 3, 20, "a pod older than the grace", self.diagnostics)
        self.assertEqual(controller.terminate(), 0, controller.log_tail())

        os.remove(self.sessions.status_path("kappa"))
        controller.start()
        controller.wait_ready()
        self.wait_for_resyncs(3)
        status = self.wait_for_phase("kappa", "Running")
        self.assertEqual(status["podId"], running["podId"])
        self.assertEqual(self.simulator.calls()["deletePod"], 0, self.simulator.describe())

    def test_lost_token_starts_anew(self):
        # Without the token file no client can use the old pod: the session starts
        # anew, and the old pod is left to the orphan reaper.
        self.start_simulator()
        self.sessions.write("one.yml", session_yaml("kappa"))
        controller = self.start_controller()
        running = self.wait_for_phase("kappa", "Running")
        self.assertEqual(controller.terminate(), 0, controller.log_tail())

        os.remove(self.sessions.status_path("kappa"))
        os.remove(self.sessions.token_path("kappa"))
        controller.start()
        status = self.wait_for_phase("kappa", "Running")
        self.assertNotEqual(status["podId"], running["podId"])
        self.assertEqual(self.simulator.calls()["createPod"], 2, self.simulator.describe())


if __name__ == "__main__":
    unittest.main()
