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
import unittest

import yaml

from harness import SOURCE_DIR, TOKEN_PATTERN, Controller, IntegrationTest, condition


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

    def test_examples_reach_running(self):
        examples = os.path.join(SOURCE_DIR, "manifests", "examples")
        self.assertTrue(os.path.isdir(examples), f"{examples} not found; set PODSESSION_SOURCE_DIR")
        shutil.rmtree(self.sessions.path)
        shutil.copytree(examples, self.sessions.path)
        sessions = self.example_sessions(self.sessions.path)
        self.assertGreaterEqual(len(sessions), 3)

        controller = Controller(self.workdir, self.sessions.path,
                                ["--provider", "simulated", "--poll-interval", "1s"], label="demo")
        self.controllers.append(controller)
        self.addCleanup(controller.stop)
        controller.start()

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
                                "the token file holds no 43-character base64url token")

        self.assertEqual(controller.http_get("/readyz")[0], 200)
        self.assertRegex(controller.log_text(), r"using the simulated RunPod")
        self.assertEqual(controller.terminate(), 0, controller.log_tail())
        self.assertIsNone(re.search(r" (error|critical) ", controller.log_text()),
                          controller.log_tail())


if __name__ == "__main__":
    unittest.main()
