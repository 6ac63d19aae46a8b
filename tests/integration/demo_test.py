#!/usr/bin/env python3
"""The demo path of the README (scripts/demo.sh): `podsession run` on a copy of
manifests/examples with the in-process simulated RunPod.

Run through CTest, or by hand:
  PODSESSION_BINARY=build/podsession PODSESSION_SOURCE_DIR=. \\
      /usr/bin/python3 demo_test.py -v ReadmeDemo
"""

import os
import re
import shutil
import stat
import subprocess
import unittest

import yaml

from harness import (
    PODSESSION, SOURCE_DIR, TOKEN_PATTERN, Controller, IntegrationTest, condition,
)


class ReadmeDemo(IntegrationTest):
    # Boot of a simulated pod (3 s by default) plus a few list intervals of 1 s.
    timeout = 20

    def example_sessions(self, directory):
        """Returns (namespace, name, spec) of every PodSession in the folder."""
        sessions = []
        for filename in sorted(os.listdir(directory)):
            if not filename.endswith((".yaml", ".yml")):
                continue
            with open(os.path.join(directory, filename), encoding="utf-8") as file:
                for document in yaml.safe_load_all(file):
                    metadata = document["metadata"]
                    sessions.append((metadata.get("namespace", "default"), metadata["name"],
                                     document["spec"]))
        return sessions

    def start_demo(self):
        """Starts the controller as scripts/demo.sh does, on a loopback port."""
        controller = Controller(self.workdir, self.sessions.path,
                                ["--provider", "simulated", "--poll-interval", "1s"], label="demo")
        self.controllers.append(controller)
        self.addCleanup(controller.stop)
        return controller.start()

    def copy_examples(self):
        examples = os.path.join(SOURCE_DIR, "manifests", "examples")
        self.assertTrue(os.path.isdir(examples), f"{examples} not found; set PODSESSION_SOURCE_DIR")
        shutil.rmtree(self.sessions.path)
        # A demo run leaves its .status folder in the examples; the test starts clean.
        shutil.copytree(examples, self.sessions.path, ignore=shutil.ignore_patterns(".status"))
        sessions = self.example_sessions(self.sessions.path)
        self.assertGreaterEqual(len(sessions), 3)
        return sessions

    def check_running(self, sessions):
        for namespace, name, spec in sessions:
            with self.subTest(session=f"{namespace}/{name}"):
                status = self.wait_for_phase(name, "Running", namespace, timeout=self.timeout)
                pod_id = status["podId"]
                self.assertEqual(condition(status, "Ready")["status"], "True")
                self.assertEqual(len(status["endpoints"]), len(spec["ports"]))
                for port, endpoint in zip(spec["ports"], status["endpoints"]):
                    self.assertEqual(endpoint["port"], port["port"])
                    if port["protocol"] == "http":
                        self.assertEqual(endpoint["url"],
                                         f"https://{pod_id}-{port['port']}.proxy.runpod.net")
                    else:
                        self.assertRegex(endpoint["url"], r"^tcp://127\.0\.0\.1:\d+$")

                token_path = self.sessions.token_path(name, namespace)
                self.assertEqual(status["tokenFile"], token_path)
                mode = stat.S_IMODE(os.stat(token_path).st_mode)
                self.assertEqual(mode, 0o600, f"token file mode {mode:o}")
                token = self.read_token(name, namespace)
                self.assertTrue(TOKEN_PATTERN.fullmatch(token),
                                "the token file contains no 43-character base64url token")

    def test_examples_reach_running(self):
        sessions = self.copy_examples()
        controller = self.start_demo()
        self.check_running(sessions)
        self.assertEqual(controller.http_get("/readyz")[0], 200)
        self.assertRegex(controller.log_text(), r"using the simulated RunPod")

        # The README's next steps: the session list, a heartbeat, the metrics, a
        # deleted file.
        result = subprocess.run([PODSESSION, "get", "-A", "--sessions-dir", self.sessions.path],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        listed = sorted(tuple(line.split()[:3]) for line in result.stdout.splitlines()[1:])
        self.assertEqual(listed, sorted((namespace, name, "Running")
                                        for namespace, name, _ in sessions))
        result = subprocess.run(
            [PODSESSION, "touch", "chat-user-42", "-n", "apps", "--sessions-dir",
             self.sessions.path], capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.wait_for(lambda: self.sessions.status("chat-user-42", "apps").get("lastTouched"),
                      "lastTouched in the status of apps/chat-user-42")
        # The gauge is counted after each pod list, so it may lag a list behind.
        running = 'podsession_sessions{phase="Running"}'
        self.wait_for(lambda: controller.metric(running) == len(sessions),
                      f"{running} to reach {len(sessions)}", timeout=10)
        self.sessions.remove("notebook-gpu-fallback.yaml")
        self.wait_for_log(controller, r"terminated pod session=default/notebook-user-1001 "
                                      r".*reason=deleted")
        self.wait_for(lambda: not os.path.exists(self.sessions.status_path("notebook-user-1001")),
                      "the status file of default/notebook-user-1001 to be removed")

        self.assertEqual(controller.terminate(), 0, controller.log_tail())
        self.assertIsNone(re.search(r" (error|critical) ", controller.log_text()),
                          controller.log_tail())

    def test_second_run_reaches_running(self):
        sessions = self.copy_examples()
        controller = self.start_demo()
        self.check_running(sessions)
        first = {(namespace, name): (self.sessions.status(name, namespace)["podId"],
                                     self.read_token(name, namespace))
                 for namespace, name, _ in sessions}
        self.assertEqual(controller.terminate(), 0, controller.log_tail())
        state_file = os.path.join(self.sessions.path, ".status", "simulated-runpod.json")
        mode = stat.S_IMODE(os.stat(state_file).st_mode)
        self.assertEqual(mode, 0o600, f"simulator state file mode {mode:o}")

        # The second run's simulator loads the pods of the first, so each
        # session keeps its pod and its token.
        controller.start()
        self.check_running(sessions)
        for namespace, name, _ in sessions:
            with self.subTest(session=f"{namespace}/{name}"):
                pod_id, token = first[(namespace, name)]
                self.assertEqual(self.sessions.status(name, namespace)["podId"], pod_id)
                # Compared without assertEqual, whose message would print the token.
                self.assertTrue(self.read_token(name, namespace) == token,
                                "the token file changed across the restart")
        self.assertRegex(controller.log_text(), rf"simulated pods loaded .*pods={len(sessions)}")
        self.assertNotRegex(controller.log_text(), r"created pod ")
        self.assertEqual(controller.terminate(), 0, controller.log_tail())

if __name__ == "__main__":
    unittest.main()
