#!/usr/bin/env python3
"""The life of one session in directory mode, against the RunPod simulator in
its own process: creation, touches, idle expiry, deletion and broken edits.

Run through CTest, one class per test, or by hand:
  PODSESSION_BINARY=build/podsession /usr/bin/python3 lifecycle_test.py -v NewSession
"""

import os
import stat
import subprocess
import time
import unittest

from harness import (
    PODSESSION, TOKEN_PATTERN, IntegrationTest, condition, format_time, parse_time, pod_name_prefix,
    session_yaml,
)


class NewSession(IntegrationTest):
    def check_session(self, name, namespace, token_variable, other_variable):
        status = self.wait_for_phase(name, "Running", namespace)
        document = self.sessions.document(name, namespace)
        uid = document["metadata"]["uid"]
        pod_id = status["podId"]

        self.assertEqual(status["podName"], pod_name_prefix(name, namespace) + uid[:8])
        self.assertEqual(status["endpoints"], [
            {"port": 8000, "protocol": "http",
             "url": f"https://{pod_id}-8000.proxy.runpod.net"},
        ])
        self.assertEqual(status["tokenFile"], self.sessions.token_path(name, namespace))
        self.assertEqual(status["gpuType"], "NVIDIA GeForce RTX 4090")
        self.assertEqual(condition(status, "Ready")["status"], "True")
        self.assertIn("readyAt", status)
        self.assertIn("expiresAt", status)

        mode = stat.S_IMODE(os.stat(self.sessions.token_path(name, namespace)).st_mode)
        self.assertEqual(mode, 0o600, f"token file mode {mode:o}")
        token = self.read_token(name, namespace)
        self.assertTrue(TOKEN_PATTERN.fullmatch(token),
                        f"the token file holds {len(token)} characters, not 43 of base64url")

        pods = self.simulator.pods(pod_name_prefix(name, namespace))
        self.assertEqual(len(pods), 1, self.simulator.describe())
        pod = pods[0]
        self.assertEqual(pod["id"], pod_id)
        self.assertEqual(pod["name"], status["podName"])
        self.assertEqual(pod["status"], "RUNNING")
        self.assertFalse(pod["deleted"])
        # Env values are compared, never printed: one of them is the token.
        env = pod["env"]
        self.assertEqual(env.get("PODSESSION_NAMESPACE"), namespace)
        self.assertEqual(env.get("PODSESSION_NAME"), name)
        self.assertEqual(env.get("PODSESSION_UID"), uid)
        self.assertTrue(env.get(token_variable) == token,
                        f"env {token_variable} is not the content of the token file")
        self.assertNotIn(other_variable, env)
        return pod_id

    def test_session_file_gets_pod(self):
        self.start_simulator()
        self.sessions.write("alpha.yaml", session_yaml("alpha"))
        self.sessions.write("studio.yaml",
                            session_yaml("studio", namespace="apps", auth="signedUrl"))
        controller = self.start_controller()

        alpha = self.check_session("alpha", "default", "ATLAS_PRESHARED_KEY",
                                   "ATLAS_SIGNING_SECRET")
        studio = self.check_session("studio", "apps", "ATLAS_SIGNING_SECRET",
                                    "ATLAS_PRESHARED_KEY")

        # Further lists change nothing: still one pod each.
        self.wait_for_resyncs(3)
        self.assertEqual(self.simulator.calls()["createPod"], 2)
        self.assertEqual(sorted(pod["id"] for pod in self.simulator.pods("psn-", live_only=True)),
                         sorted([alpha, studio]))
        self.assertEqual(len(self.simulator.pods("psn-")), 2, self.simulator.describe())

        self.assertEqual(controller.http_get("/healthz")[0], 200)
        self.assertEqual(controller.http_get("/readyz")[0], 200)
        self.assertEqual(controller.metric('podsession_sessions{phase="Running"}'), 2)

        self.check_get_lists(alpha, studio)

    def run_get(self, *arguments):
        return subprocess.run([PODSESSION, "get", "--sessions-dir", self.sessions.path, *arguments],
                              capture_output=True, text=True, timeout=10)

    def check_get_lists(self, alpha, studio):
        result = self.run_get("-A")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0].split(),
                         ["NAMESPACE", "NAME", "PHASE", "GPU", "URL", "IDLE-TTL", "EXPIRES-IN"])
        rows = [line.split(maxsplit=3) for line in lines[1:]]
        self.assertEqual([row[:3] for row in rows],
                         [["apps", "studio", "Running"], ["default", "alpha", "Running"]])
        self.assertIn(f"https://{studio}-8000.proxy.runpod.net   ", lines[1])
        self.assertIn(f"https://{alpha}-8000.proxy.runpod.net   ", lines[2])
        # Without idleTTLSeconds the session has the controller's default TTL,
        # which the files do not record, and a deadline minutes away.
        self.assertRegex(lines[2], r"NVIDIA GeForce RTX 4090 +https://\S+ +<default> +\d+m(\d+s)?$")

        result = self.run_get("alpha")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines()[0].split()[0], "NAME")
        self.assertEqual(len(result.stdout.splitlines()), 2)

        result = self.run_get("studio")
        self.assertEqual(result.returncode, 1)
        self.assertIn('PodSession "studio" not found in namespace default', result.stderr)

        result = self.run_get("-n", "empty")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "No sessions found in empty namespace.\n")


class TouchKeepsAlive(IntegrationTest):
    ttl = 3

    def touch(self, name):
        result = subprocess.run(
            [PODSESSION, "touch", name, "-n", "default", "--sessions-dir", self.sessions.path],
            capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_touches_outlast_ttl(self):
        self.start_simulator()
        self.sessions.write("beta.yaml", session_yaml("beta", idle_ttl=self.ttl))
        self.start_controller()
        status = self.wait_for_phase("beta", "Running")
        pod_id = status["podId"]
        running_since = time.time()

        # A heartbeat every second, as an app sends one, for more than twice the TTL.
        last_expiry = parse_time(status["expiresAt"])
        while time.time() < running_since + 2 * self.ttl + 2:
            self.touch("beta")
            time.sleep(1)
            status = self.sessions.status("beta")
            self.assertEqual(status["phase"], "Running", self.diagnostics())
            self.assertEqual(status["podId"], pod_id)
            pods = self.simulator.pods(pod_name_prefix("beta"))
            self.assertEqual([pod["deleted"] for pod in pods], [False], self.diagnostics())
            expiry = parse_time(status["expiresAt"])
            self.assertGreaterEqual(expiry, last_expiry)
            last_expiry = expiry
        self.assertGreater(last_expiry, running_since + 2 * self.ttl,
                           "the touches did not move expiresAt")
        self.assertEqual(self.simulator.calls()["createPod"], 1)

        # Without touches the same session expires, so the touches kept it alive.
        status = self.wait_for_phase("beta", "Expired", timeout=self.ttl + 10)
        self.assertEqual(status["reason"], "IdleTimeout")


class IdleExpiry(IntegrationTest):
    ttl = 3

    def test_pod_goes_at_expires_at(self):
        self.start_simulator()
        self.sessions.write("gamma.yaml", session_yaml("gamma", idle_ttl=self.ttl))
        controller = self.start_controller()
        status = self.wait_for_phase("gamma", "Running")
        pod_id = status["podId"]
        expires_at = parse_time(status["expiresAt"])
        self.assertAlmostEqual(expires_at - parse_time(status["readyAt"]), self.ttl)

        # Poll quickly, so the time the pod is first seen deleted bounds its
        # deletion from above.
        def deleted_at():
            pods = self.simulator.pods(pod_name_prefix("gamma"))
            now = time.time()
            current = self.sessions.status("gamma")
            if current and current.get("phase") == "Running":
                self.assertEqual(parse_time(current["expiresAt"]), expires_at,
                                 "expiresAt moved without a touch")
            return now if pods and pods[0]["deleted"] else None
        seen_deleted = self.wait_for(deleted_at, "the pod to be deleted",
                                     timeout=self.ttl + 15)

        self.assertGreaterEqual(seen_deleted, expires_at, "the pod was deleted before expiresAt")
        self.assertLessEqual(seen_deleted - expires_at, 1.0,
                             "the pod was deleted more than 1 s after expiresAt")

        # terminatedAt follows once the controller confirms the pod gone.
        status = self.wait_for(
            lambda: (self.sessions.status("gamma") or {}).get("terminatedAt") and
            self.sessions.status("gamma"), "terminatedAt in the status")
        self.assertEqual(status["phase"], "Expired")
        self.assertEqual(status["reason"], "IdleTimeout")
        self.assertEqual(status["podId"], pod_id)
        self.assertGreaterEqual(parse_time(status["terminatedAt"]), expires_at)
        self.assertNotIn("endpoints", status)
        self.assertEqual(
            controller.metric('podsession_pods_terminated_total{reason="idle_timeout"}'), 1)

        # Expired is terminal: a later touch brings no new pod.
        text = session_yaml("gamma", idle_ttl=self.ttl,
                            annotations={"podsession.io/last-touched": "2099-01-01T00:00:00Z"})
        self.sessions.write("gamma.yaml", text)
        self.wait_for_resyncs(3)
        self.assertEqual(self.sessions.status("gamma")["phase"], "Expired")
        self.assertEqual(self.simulator.calls()["createPod"], 1)
        self.assertEqual(len(self.simulator.pods("psn-")), 1)

        # `podsession touch` warns about it instead of leaving the caller to wait.
        result = subprocess.run(
            [PODSESSION, "touch", "gamma", "--sessions-dir", self.sessions.path],
            capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("podsession touch: warning: PodSession default/gamma is Expired, and a "
                      "touch does not bring it back", result.stderr)


    # A touch at .950 s: the pod must go within a second of the expiresAt the
    # status shows, not a second after it.
    def test_fractional_touch_expiry(self):
        self.start_simulator()
        self.sessions.write("nu.yaml", session_yaml("nu", idle_ttl=self.ttl))
        self.start_controller()
        ready_at = parse_time(self.wait_for_phase("nu", "Running")["readyAt"])

        # The app writes its own touch, with milliseconds, in the past but
        # after readyAt.
        touched = ready_at + 1.999
        self.wait_for(lambda: time.time() > touched, "the touch time to pass")
        stamp = format_time(touched).replace("Z", ".999Z")
        self.sessions.write("nu.yaml", session_yaml(
            "nu", idle_ttl=self.ttl, annotations={"podsession.io/last-touched": stamp}))
        status = self.wait_for(
            lambda: (self.sessions.status("nu") or {}).get("lastTouched") and
            self.sessions.status("nu"), "the touch in the status")
        expires_at = parse_time(status["expiresAt"])

        seen_deleted = self.wait_for(
            lambda: self.simulator.pods(pod_name_prefix("nu"))[0]["deleted"] and time.time(),
            "the pod to be deleted", timeout=self.ttl + 15)
        self.assertGreaterEqual(seen_deleted, expires_at, "the pod was deleted before expiresAt")
        self.assertLessEqual(seen_deleted - expires_at, 1.0,
                             "the pod was deleted more than 1 s after expiresAt")


class FileDeletion(IntegrationTest):
    def test_deleted_file_terminates_pod(self):
        self.start_simulator()
        self.sessions.write("delta.yaml", session_yaml("delta"))
        controller = self.start_controller()
        status = self.wait_for_phase("delta", "Running")
        pod_id = status["podId"]
        self.read_token("delta")

        self.sessions.remove("delta.yaml")
        self.wait_for(lambda: self.simulator.pods(pod_name_prefix("delta"))[0]["deleted"],
                      "the pod to be deleted")
        self.wait_for(lambda: not os.path.exists(self.sessions.status_path("delta"))
                      and not os.path.exists(self.sessions.token_path("delta")),
                      "the status and token files to be removed")
        self.wait_for_log(controller,
                          rf"terminated pod session=default/delta pod={pod_id} .*reason=deleted")
        self.assertEqual(
            controller.metric('podsession_pods_terminated_total{reason="deleted"}'), 1)

        # Nothing comes back on later lists.
        self.wait_for_resyncs(3)
        self.assertFalse(os.path.exists(self.sessions.status_path("delta")))
        self.assertEqual(self.simulator.calls()["createPod"], 1)
        self.assertEqual(len(self.simulator.pods("psn-")), 1)


class SessionFileRename(IntegrationTest):
    """A renamed file declares the same session: its pod, UID and token stay."""

    def rename_keeps_session(self, old_name, new_name):
        self.start_simulator()
        self.sessions.write(old_name, session_yaml("xi"))
        controller = self.start_controller()
        status = self.wait_for_phase("xi", "Running")
        uid = self.sessions.document("xi")["metadata"]["uid"]
        token = self.read_token("xi")

        os.rename(self.sessions.file(old_name), self.sessions.file(new_name))
        self.wait_for_log(controller, rf"session file removed file=.*{old_name}")
        self.wait_for_resyncs(3)
        self.assertEqual(self.sessions.status("xi")["podId"], status["podId"], self.diagnostics())
        self.assertEqual(self.sessions.status("xi")["phase"], "Running")
        self.assertEqual(self.sessions.document("xi")["metadata"]["uid"], uid)
        self.assertTrue(self.read_token("xi") == token, "the token file changed")
        calls = self.simulator.calls()
        self.assertEqual((calls["createPod"], calls["deletePod"]), (1, 0), self.diagnostics())

    def test_rename_to_earlier_name(self):
        self.rename_keeps_session("xi-2.yaml", "xi-1.yaml")

    # The watcher sees the old name go and the new one appear in one batch; the
    # session must move to the new file without a new pod, whichever sorts first.
    def test_rename_to_later_name(self):
        self.rename_keeps_session("xi-1.yaml", "xi-2.yaml")


class BrokenFileEdit(IntegrationTest):
    def test_invalid_yaml_keeps_session(self):
        self.start_simulator()
        original = session_yaml("epsilon")
        self.sessions.write("epsilon.yaml", original)
        controller = self.start_controller()
        pod_id = self.wait_for_phase("epsilon", "Running")["podId"]
        token = self.read_token("epsilon")

        # An edit saved half-way: the flow sequence is never closed.
        self.sessions.write_in_place("epsilon.yaml",
                                     original.replace("[rtx-4090]", "[rtx-4090, l4"))
        self.wait_for_log(controller, r"epsilon\.yaml:\d+: .*is not valid YAML")
        self.wait_for_resyncs(3)
        status = self.sessions.status("epsilon")
        self.assertEqual(status["phase"], "Running", self.diagnostics())
        self.assertEqual(status["podId"], pod_id)
        self.assertEqual(self.simulator.calls()["deletePod"], 0)
        self.assertFalse(self.simulator.pods(pod_name_prefix("epsilon"))[0]["deleted"])

        # Fixed again, with a touch so that the reread shows in the status.
        self.sessions.write_in_place("epsilon.yaml", session_yaml(
            "epsilon", annotations={"podsession.io/last-touched": format_time(time.time())}))
        self.wait_for(lambda: self.sessions.status("epsilon").get("lastTouched") is not None,
                      "the fixed file to be read (lastTouched in the status)")
        self.wait_for_resyncs(2)
        status = self.sessions.status("epsilon")
        self.assertEqual(status["phase"], "Running")
        self.assertEqual(status["podId"], pod_id)
        self.assertTrue(self.sessions.read_token("epsilon") == token, "the token file changed")
        calls = self.simulator.calls()
        self.assertEqual((calls["createPod"], calls["deletePod"]), (1, 0))

        self.sessions.remove("epsilon.yaml")
        self.wait_for(lambda: self.simulator.pods(pod_name_prefix("epsilon"))[0]["deleted"],
                      "the pod to be deleted")
        self.wait_for(lambda: not os.path.exists(self.sessions.status_path("epsilon")),
                      "the status file to be removed")

    # At start the broken file declares nothing readable; its session must keep
    # its pod instead of being taken for deleted.
    def test_invalid_yaml_at_restart_keeps_session(self):
        self.start_simulator()
        original = session_yaml("pi")
        self.sessions.write("pi.yaml", original)
        controller = self.start_controller()
        pod_id = self.wait_for_phase("pi", "Running")["podId"]
        token = self.read_token("pi")
        self.assertEqual(controller.terminate(), 0, controller.log_tail())

        # The file is half-saved while the controller is down.
        self.sessions.write_in_place("pi.yaml", original.replace("[rtx-4090]", "[rtx-4090, l4"))
        controller.start()
        self.wait_for_log(controller, r"pi\.yaml:\d+: .*is not valid YAML")
        self.wait_for_resyncs(3)
        self.assertEqual(self.simulator.calls()["deletePod"], 0, self.diagnostics())
        self.assertFalse(self.simulator.pods(pod_name_prefix("pi"))[0]["deleted"])
        self.assertEqual(self.sessions.status("pi")["podId"], pod_id)

        # Fixed, the file declares the same session with the same pod and token.
        self.sessions.write_in_place("pi.yaml", session_yaml(
            "pi", annotations={"podsession.io/last-touched": format_time(time.time())}))
        self.wait_for(lambda: self.sessions.status("pi").get("lastTouched") is not None,
                      "the fixed file to be read (lastTouched in the status)")
        status = self.sessions.status("pi")
        self.assertEqual((status["phase"], status["podId"]), ("Running", pod_id))
        self.assertTrue(self.read_token("pi") == token, "the token file changed")
        self.assertEqual(self.simulator.calls()["createPod"], 1)


if __name__ == "__main__":
    unittest.main()
