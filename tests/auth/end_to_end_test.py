#!/usr/bin/env python3
"""Credentials from controller to pod, end to end.

The controller creates sessions against a RunPod simulator running as its own
process. The test reads each pod's env back through the simulator's RunPod API,
as RunPod returns it, starts the example inference server with that env, and
checks that the session's token (read from its token file) opens the pod while
no token or another session's token does not, and that a URL signed with a
signedUrl session's secret works until it expires. Finally no token may
appear in the controller's log, its metrics or its status files.
"""

import argparse
import http.client
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

ARGS = None
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

SESSIONS = """\
apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata: {name: alice}
spec:
  image: ghcr.io/example/llm:1
  gpu: {types: [l4]}
  ports: [{port: 8000, protocol: http}]
  auth: bearer
---
apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata: {name: bob}
spec:
  image: ghcr.io/example/llm:1
  gpu: {types: [l4]}
  ports: [{port: 8000, protocol: http}]
  auth: bearer
---
apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata: {name: carol}
spec:
  image: ghcr.io/example/video:1
  gpu: {types: [l4]}
  ports: [{port: 8080, protocol: http}]
  auth: signedUrl
"""


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def read_first_line(process, timeout):
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout):
        raise AssertionError("the process printed nothing")
    return process.stdout.readline().strip()


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class CredentialsEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="podsession-auth-e2e-")
        cls.processes = []
        cls.key_file = os.path.join(cls.workdir, "runpod.key")
        with open(cls.key_file, "w", encoding="utf-8") as key:
            key.write("e2e-test-key-0123456789\n")
        os.chmod(cls.key_file, 0o600)

        simulator = subprocess.Popen(
            [ARGS.podsession, "simulate-runpod", "--listen", "127.0.0.1:0", "--api-key-file", cls.key_file,
             "--boot-seconds", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.processes.append(simulator)
        cls.simulator_address = read_first_line(simulator, 20)

        cls.sessions = os.path.join(cls.workdir, "sessions")
        os.makedirs(cls.sessions)
        with open(os.path.join(cls.sessions, "sessions.yaml"), "w", encoding="utf-8") as sessions:
            sessions.write(SESSIONS)
        cls.log_path = os.path.join(cls.workdir, "controller.log")
        cls.log = open(cls.log_path, "w", encoding="utf-8")
        controller = subprocess.Popen(
            [ARGS.podsession, "run", "--sessions-dir", cls.sessions, "--provider", "runpod",
             "--runpod-base-url", f"http://{cls.simulator_address}", "--runpod-api-key-file", cls.key_file,
             "--listen", "127.0.0.1:0", "--poll-interval", "200ms"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        cls.processes.append(controller)

        for name in ("alice", "bob", "carol"):
            wait_for(lambda name=name: cls.status(name).get("phase") == "Running", 30, f"{name} to run")

    @classmethod
    def tearDownClass(cls):
        for process in reversed(cls.processes):
            stop(process)
        cls.log.close()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def status(cls, name):
        path = os.path.join(cls.sessions, ".status", "default", f"{name}.yaml")
        if not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as status:
            text = status.read()
        fields = dict(re.findall(r"^  (\w+): \"?([^\"\n]*)\"?$", text, re.M))
        return fields

    @classmethod
    def token(cls, name):
        with open(os.path.join(cls.sessions, ".status", "default", f"{name}.token"), encoding="utf-8") as token:
            return token.read().strip()

    @classmethod
    def pod_env(cls, name):
        """Returns the pod's env as RunPod's GET /v2/pods/{id} returns it."""
        request = urllib.request.Request(f"http://{cls.simulator_address}/v2/pods/{cls.status(name)['podId']}")
        with open(cls.key_file, encoding="utf-8") as key:
            request.add_header("Authorization", "Bearer " + key.read().strip())
        with _opener.open(request, timeout=5) as response:
            return json.loads(response.read())["env"]

    def start_pod_server(self, env):
        environment = {key: value for key, value in os.environ.items() if not key.startswith("ATLAS_")}
        environment.update(env)
        server = subprocess.Popen([ARGS.server, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=environment, text=True)
        self.addCleanup(stop, server)
        line = read_first_line(server, 20)
        return int(line.rsplit(":", 1)[-1])

    def request(self, port, method, target, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request(method, target, body=b'{"prompt": "hi"}' if method == "POST" else None,
                               headers=headers or {})
            return connection.getresponse().status
        finally:
            connection.close()

    def test_pod_env_carries_the_session_token(self):
        env = self.pod_env("alice")
        self.assertEqual(env["ATLAS_PRESHARED_KEY"], self.token("alice"))
        self.assertEqual(env["PODSESSION_NAME"], "alice")
        self.assertEqual(env["PODSESSION_NAMESPACE"], "default")
        self.assertNotIn("ATLAS_SIGNING_SECRET", env)
        self.assertEqual(self.pod_env("carol")["ATLAS_SIGNING_SECRET"], self.token("carol"))
        self.assertNotEqual(self.token("alice"), self.token("bob"))

    def test_bearer_token_opens_only_its_own_pod(self):
        port = self.start_pod_server(self.pod_env("alice"))
        self.assertEqual(self.request(port, "POST", "/v1/generate"), 401)
        self.assertEqual(self.request(port, "POST", "/v1/generate",
                                      {"Authorization": "Bearer " + self.token("alice")}), 200)
        self.assertEqual(self.request(port, "POST", "/v1/generate",
                                      {"Authorization": "Bearer " + self.token("bob")}), 401)

    def test_signed_url_works_until_it_expires(self):
        port = self.start_pod_server(self.pod_env("carol"))
        secret_file = os.path.join(self.sessions, ".status", "default", "carol.token")

        def signed(expires_in):
            result = subprocess.run(
                [ARGS.podsession, "sign", f"http://127.0.0.1:{port}/media/clip.mp4?user=carol",
                 "--secret-file", secret_file, f"--expires-in={expires_in}"],
                capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 0, result.stderr)
            parsed = urllib.parse.urlsplit(result.stdout.strip())
            return parsed.path + "?" + parsed.query

        self.assertEqual(self.request(port, "GET", "/media/clip.mp4?user=carol"), 401)
        short_lived = signed(2)
        self.assertEqual(self.request(port, "GET", short_lived), 200)
        self.assertEqual(self.request(port, "GET", signed(3600)), 200)
        wait_for(lambda: self.request(port, "GET", short_lived) == 401, 10, "the signed URL to expire")

    def test_no_token_in_logs_metrics_or_status(self):
        tokens = [self.token(name) for name in ("alice", "bob", "carol")]
        with open(self.log_path, encoding="utf-8") as log:
            logged = log.read()
        address = re.search(r"serving metrics and health address=(\S+)", logged).group(1)
        with _opener.open(f"http://{address}/metrics", timeout=5) as response:
            exposition = response.read().decode()
        statuses = ""
        for name in ("alice", "bob", "carol"):
            with open(os.path.join(self.sessions, ".status", "default", f"{name}.yaml"), encoding="utf-8") as status:
                statuses += status.read()
        for token in tokens:
            self.assertEqual(len(token), 43)
            self.assertNotIn(token, logged)
            self.assertNotIn(token, exposition)
            self.assertNotIn(token, statuses)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--podsession", required=True)
    parser.add_argument("--server", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
