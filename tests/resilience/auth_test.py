"""Authentication failures, and secrets that must never leave the controller.

An auth failure is not "zero pods": while RunPod rejects the key, nothing
looks orphaned or missing, nothing is created or deleted, and fixing the key
file is enough to recover.
"""

import os
import secrets
import subprocess
import time
import unittest

from harness import (POD_PREFIX, Controller, ResilienceTest, hold_for, pod_name_of,
                     replace_file, session_prefix, write_private)


def minutes_ago(minutes):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60 * minutes))


class ListUnauthorized(ResilienceTest):
    """The pod list fails with 401 for a while."""

    def test_nothing_looks_orphaned_or_missing(self):
        controller = self.start_controller()
        self.write_session("user-a")
        self.write_session("user-b")
        self.wait_for_running("user-a", "user-b")
        ids = {name: self.statuses.status(name)["podId"] for name in ("user-a", "user-b")}

        self.simulator.set_faults([{"operation": "listPods", "fault": "error", "status": 401,
                                    "detail": "invalid bearer token"}])
        self.wait_for(lambda: "RunPod rejected the API key" in controller.log(),
                      "the controller to stop writing")
        orphan = self.simulator.add_pod(POD_PREFIX + "default-ghost-0badc0de", minutes_ago(60))
        foreign = self.simulator.add_pod("psn-other-default-user-x-12345678", minutes_ago(60))
        self.delete_session("user-a")
        deletes_before = self.simulator.calls("deletePod")
        creates_before = self.simulator.calls("createPod")

        def nothing_changes():
            self.assertEqual(self.simulator.calls("deletePod"), deletes_before)
            self.assertEqual(self.simulator.calls("createPod"), creates_before)
            live = {pod["id"] for pod in self.simulator.pods()}
            self.assertTrue({orphan["id"], foreign["id"], *ids.values()} <= live)
            status_b = self.statuses.status("user-b")
            self.assertEqual((status_b["phase"], status_b["podId"]), ("Running", ids["user-b"]))
            status_a = self.statuses.status("user-a")
            self.assertIsNotNone(status_a, "the deleted session was released")
            self.assertNotIn("terminatedAt", status_a)

        # Longer than the orphan grace and many resyncs.
        hold_for(4.0, nothing_changes)

        # The list works again: the orphan goes, the deleted session's pod goes,
        # the other controller's pod stays, and user-b keeps its pod.
        self.simulator.clear_faults()
        self.wait_for(lambda: self.statuses.status("user-a") is None,
                      "the deleted session to be released")
        self.wait_for(lambda: not self.simulator.pods(POD_PREFIX + "default-ghost-"),
                      "the orphan to be reaped")
        self.assertEqual([pod["id"] for pod in self.simulator.pods("psn-other-")],
                         [foreign["id"]])
        self.assertIn("RunPod accepts the API key again", controller.log())
        self.assert_invariants(live=["user-b"], ended=["user-a"])


class BadApiKey(ResilienceTest):
    """The controller starts with a wrong key, then the key file is fixed."""

    uids = {"user-a": "a0a0a0a0-1111-4111-8111-000000000001",
            "user-b": "b0b0b0b0-2222-4222-8222-000000000002"}

    def test_blocks_writes_then_recovers_without_restart(self):
        # The sessions' pods exist already, as after a restart, and so does an
        # orphan well past its grace. The sessions' pods started two minutes
        # ago, well within the idle TTL, which counts from their start.
        planted = {}
        for name, uid in self.uids.items():
            pod = self.simulator.add_pod(pod_name_of(name, uid), minutes_ago(2),
                                         env={"PODSESSION_UID": uid})
            planted[name] = pod["id"]
        orphan = self.simulator.add_pod(POD_PREFIX + "default-ghost-0badc0de", minutes_ago(60))
        key_file = os.path.join(self.workdir, "controller-api-key")
        write_private(key_file, "rpa_WRONG_" + secrets.token_urlsafe(16) + "\n")

        controller = self.start_controller(key_file=key_file, flags={"--orphan-grace": "1s"})
        for name, uid in self.uids.items():
            self.write_session(name, uid=uid)

        # Creates stop with a condition that names the fix.
        for name in self.uids:
            condition = self.wait_for(
                lambda name=name: self.statuses.condition(name, "ProviderError"),
                f"{name} to report the rejected key")
            self.assertEqual(condition["reason"], "ProviderBlocked")
            self.assertIn("RUNPOD_API_KEY", condition["message"])

        def nothing_deleted():
            self.assertEqual(self.simulator.calls("deletePod"), 0)
            live = {pod["id"] for pod in self.simulator.pods()}
            self.assertTrue({orphan["id"], *planted.values()} <= live)

        hold_for(2.5, nothing_deleted)
        log = controller.log()
        self.assertEqual(sum(1 for line in log.splitlines() if "RUNPOD_API_KEY" in line), 1, log)

        # The key file is fixed in place; no restart.
        creates_before = self.simulator.calls("createPod")
        replace_file(key_file, self.simulator.api_key + "\n")

        for name in self.uids:
            status = self.wait_for_phase(name, "Running")
            self.assertEqual(status["podId"], planted[name])
            self.assertIsNone(self.statuses.condition(name, "ProviderError"))
        self.wait_for(lambda: not self.simulator.pods(POD_PREFIX + "default-ghost-"),
                      "the orphan to be reaped")
        self.assertEqual(self.simulator.calls("createPod"), creates_before)
        self.assertIn("RunPod API key file changed", controller.log())
        self.assert_invariants(live=list(self.uids))


class KeyWithNewline(ResilienceTest):
    """A key with the trailing newline that `echo` or `kubectl create secret
    --from-file` leave, from the environment or from a file."""

    def test_env_key_is_trimmed(self):
        self.start_controller(env_api_key=self.simulator.api_key + "\n")
        self.write_session("user-a")
        self.wait_for_running("user-a")
        self.assert_invariants(live=["user-a"])

    def test_file_key_uses_first_line(self):
        key_file = os.path.join(self.workdir, "two-lines")
        write_private(key_file, f"  {self.simulator.api_key}\r\nsecond line\n")
        self.start_controller(key_file=key_file)
        self.write_session("user-b")
        self.wait_for_running("user-b")

    def test_control_character_rejected(self):
        controller = Controller(self.workdir, self.simulator, self.sessions_dir,
                                env_api_key="rpa_A\tB", name="controller-tab")
        result = subprocess.run(controller.arguments, env=controller.env, capture_output=True,
                                text=True, timeout=30)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("RUNPOD_API_KEY contains a control character", result.stderr)
        self.assertNotIn("rpa_A", result.stderr)


class SecretsNeverLeak(ResilienceTest):
    """A whole scenario with a distinctive API key, a wrong key before it, and
    a distinctive env value. None of them, nor a session token, may appear in
    a log line, an error message, a status file or a metric."""

    def test_scan_every_output(self):
        env_secret = "zq7-env-secret-" + secrets.token_hex(8)
        wrong_key = "rpa_WRONG_" + secrets.token_urlsafe(16)
        self.simulator.set_faults([
            # A server that echoes the env value in its error.
            {"operation": "createPod", "fault": "error", "status": 422,
             "detail": f"env value {env_secret} is not allowed",
             "namePrefix": session_prefix("rejected"), "times": 1},
            {"operation": "createPod", "fault": "errorAfterEffect", "status": 500,
             "namePrefix": session_prefix("adopted"), "times": 1},
            {"fault": "error", "status": 429, "retryAfterSeconds": 1, "after": 6, "times": 2}])
        key_file = os.path.join(self.workdir, "controller-api-key")
        write_private(key_file, wrong_key + "\n")
        controller = self.start_controller(key_file=key_file)

        self.write_session("rejected", env={"APP_SECRET": env_secret})
        self.write_session("adopted", env={"APP_SECRET": env_secret}, idle_ttl=3)
        self.wait_for(lambda: self.statuses.condition("adopted", "ProviderError"),
                      "the wrong key to be reported")
        replace_file(key_file, self.simulator.api_key + "\n")

        status = self.wait_for_phase("rejected", "Failed")
        self.assertEqual(status["reason"], "ProviderRejected")
        self.assertIn("[redacted]", self.statuses.condition("rejected", "Ready")["message"])
        self.wait_for_running("adopted")
        self.wait_for_gone("adopted")
        metrics_text = controller.metrics_text()
        tokens = []
        for root, _, files in os.walk(self.sessions_dir):
            for entry in files:
                if entry.endswith(".token"):
                    with open(os.path.join(root, entry), encoding="utf-8") as file:
                        tokens.append(file.read().strip())
        self.assertTrue(tokens, "no session token was written")
        controller.stop()
        self.simulator.stop()

        outputs = {"controller log": controller.log(), "metrics": metrics_text}
        with open(self.simulator.log_path, encoding="utf-8", errors="replace") as file:
            outputs["simulator log"] = file.read()
        for root, _, files in os.walk(os.path.join(self.sessions_dir, ".status")):
            for entry in files:
                if not entry.endswith(".token"):
                    path = os.path.join(root, entry)
                    with open(path, encoding="utf-8", errors="replace") as file:
                        outputs[path] = file.read()
        self.assertIn(".status", "".join(outputs))
        secrets_to_find = {"env value": env_secret, "wrong key": wrong_key,
                           "API key": self.simulator.api_key}
        secrets_to_find.update({f"token {i}": token for i, token in enumerate(tokens)})
        for output, text in outputs.items():
            for secret_name, secret in secrets_to_find.items():
                with self.subTest(output=output, secret=secret_name):
                    self.assertNotIn(secret, text)
        self.assertEqual(self.monitor.violations, [])


if __name__ == "__main__":
    unittest.main()
