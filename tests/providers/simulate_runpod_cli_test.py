"""Runs `podsession simulate-runpod` as a user would: starts it, talks to it
over HTTP, stops it with a signal.

Usage: simulate_runpod_cli_test.py PODSESSION_BINARY SCHEMA_FILE
"""

import json
import os
import queue
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

import jsonschema

PODSESSION = None
SCHEMA_FILE = None
# Bounds for waits on the child process; far above what any step takes.
STARTUP_BOUND_SECONDS = 30
STOP_BOUND_SECONDS = 30


def read_line(lines):
    try:
        return lines.get(timeout=STARTUP_BOUND_SECONDS).rstrip("\n")
    except queue.Empty:
        raise AssertionError("simulate-runpod printed no line within the startup bound") from None


def call(base_url, method, path, key=None, body=None):
    """Returns (status, headers, parsed body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method)
    if key is not None:
        request.add_header("Authorization", "Bearer " + key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, response.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, error.headers, json.loads(raw) if raw else None


class simulate_runpod_cli_test(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.processes = []
        self.readers = []

    def tearDown(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=STOP_BOUND_SECONDS)
            process.stdout.close()
            process.stderr.close()
        self.directory.cleanup()

    def start(self, *arguments):
        """Starts the command; returns the process and a queue of its stdout lines."""
        process = subprocess.Popen([PODSESSION, "simulate-runpod", *arguments],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(process)
        lines = queue.Queue()
        self.output = []

        def forward():
            for line in process.stdout:
                self.output.append(line)
                lines.put(line)

        reader = threading.Thread(target=forward, daemon=True)
        reader.start()
        self.readers.append(reader)
        return process, lines

    def stop(self, process, signal_number):
        """Signals the process; returns all it printed on stdout and stderr."""
        process.send_signal(signal_number)
        self.assertEqual(process.wait(timeout=STOP_BOUND_SECONDS), 0)
        for reader in self.readers:
            reader.join(timeout=STOP_BOUND_SECONDS)
        return "".join(self.output), process.stderr.read()

    def test_serves_pod_api_and_stops_on_sigterm(self):
        key = "rpa_cli_test_key_0123456789"
        key_file = os.path.join(self.directory.name, "key")
        with open(key_file, "w", encoding="utf-8") as file:
            file.write(key + "\n")
        process, lines = self.start("--api-key-file", key_file, "--boot-seconds", "0")

        address = read_line(lines)
        self.assertRegex(address, r"^127\.0\.0\.1:\d+$")
        base_url = "http://" + address

        awkward = "a=b \"quoted\" 'single' \\ tab\t é 中文 🚀"
        status, headers, pod = call(base_url, "POST", "/v2/pods", key, {
            "name": "psn-cli-default-user-00000001", "image": "img",
            "gpu": {"id": "NVIDIA H200", "count": 1}, "ports": ["8000/http"],
            "env": {"AWKWARD": awkward, "PODSESSION_UID": "uid-1"}})
        self.assertEqual(status, 201)
        self.assertIn("RateLimit", headers)
        self.assertEqual(pod["env"]["AWKWARD"], awkward)
        self.assertEqual(pod["cost"], 3.99)
        with open(SCHEMA_FILE, encoding="utf-8") as file:
            components = json.load(file)["components"]
        validator = jsonschema.Draft202012Validator(
            {"$ref": "#/components/schemas/Pod", "components": components})
        self.assertEqual([error.message for error in validator.iter_errors(pod)], [])

        status, _, listed = call(base_url, "GET", "/v2/pods", key)
        self.assertEqual(status, 200)
        self.assertEqual([entry["status"] for entry in listed["pods"]], ["RUNNING"])

        status, _, problem = call(base_url, "GET", "/v2/pods")
        self.assertEqual(status, 401)
        self.assertEqual(problem["detail"], "missing bearer token")
        status, _, problem = call(base_url, "POST", "/v2/pods", key,
                                  {"name": "n", "image": "i", "gpu": {"id": "NVIDIA L4"}, "x": 1})
        self.assertEqual(status, 422)
        self.assertEqual(problem["errors"], ["$: additional properties 'x' not allowed"])

        self.assertEqual(call(base_url, "DELETE", "/v2/pods/" + pod["id"], key)[0], 204)
        self.assertEqual(call(base_url, "GET", "/v2/pods/" + pod["id"], key)[0], 404)
        status, _, state = call(base_url, "GET", "/_sim/state", key)
        self.assertEqual(status, 200)
        self.assertEqual(state["calls"]["createPod"], 2)
        self.assertEqual([entry["deleted"] for entry in state["pods"]], [True])

        stdout, stderr = self.stop(process, signal.SIGTERM)
        self.assertNotIn(key, stdout + stderr)
        self.assertNotIn(awkward, stdout + stderr)
        self.assertIn("RunPod simulator stopped", stderr)

    def test_generates_private_key_file_and_stops_on_sigint(self):
        process, lines = self.start()

        address = read_line(lines)
        key_line = read_line(lines)
        self.assertTrue(key_line.startswith("api-key-file "), key_line)
        key_file = key_line.split(" ", 1)[1]
        self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o600)
        with open(key_file, encoding="utf-8") as file:
            key = file.read().strip()
        self.assertEqual(len(key), 43)
        self.assertEqual(call("http://" + address, "GET", "/v2/pods", key)[0], 200)

        stdout, stderr = self.stop(process, signal.SIGINT)
        self.assertNotIn(key, stdout + stderr)
        # The key is useless once the simulator is gone, so its folder goes too.
        self.assertFalse(os.path.exists(os.path.dirname(key_file)))

    def test_rejects_bad_listen_address(self):
        process, _ = self.start("--listen", "not-an-address")
        self.assertEqual(process.wait(timeout=STOP_BOUND_SECONDS), 2)
        self.assertIn("--listen", process.stderr.read())

    def test_loads_fault_file_and_quota_windows(self):
        key = "rpa_cli_test_key_faults"
        key_file = os.path.join(self.directory.name, "key")
        faults_file = os.path.join(self.directory.name, "faults.yaml")
        with open(key_file, "w", encoding="utf-8") as file:
            file.write(key + "\n")
        with open(faults_file, "w", encoding="utf-8") as file:
            file.write("rules:\n"
                       "  - {operation: listPods, fault: error, status: 503, times: 1}\n")
        process, lines = self.start("--api-key-file", key_file, "--faults", faults_file,
                                    "--rate-limit", "burst=3/60", "--rate-limit", "hour=100/3600")
        base_url = "http://" + read_line(lines)

        statuses = [call(base_url, "GET", "/v2/pods", key)[0] for _ in range(4)]
        _, headers, _ = call(base_url, "GET", "/v2/pods/none", key)

        self.assertEqual(statuses, [503, 200, 200, 429])
        self.assertEqual(headers["RateLimit-Policy"], '"burst";q=3;w=60, "hour";q=100;w=3600')
        _, _, state = call(base_url, "GET", "/_sim/state", key)
        self.assertEqual([(window["name"], window["rejected"]) for window in state["rateLimits"]],
                         [("burst", 2), ("hour", 0)])
        _, _, faults = call(base_url, "GET", "/_sim/faults", key)
        self.assertEqual(faults["rules"][0]["applied"], 1)
        self.stop(process, signal.SIGTERM)

    def test_state_file_keeps_pods_across_restart(self):
        key = "rpa_cli_test_key_state"
        key_file = os.path.join(self.directory.name, "key")
        state_file = os.path.join(self.directory.name, "state.json")
        with open(key_file, "w", encoding="utf-8") as file:
            file.write(key + "\n")
        arguments = ["--api-key-file", key_file, "--boot-seconds", "0", "--state-file", state_file]
        process, lines = self.start(*arguments)
        base_url = "http://" + read_line(lines)
        self.assertEqual(stat.S_IMODE(os.stat(state_file).st_mode), 0o600)

        env = {"ATLAS_PRESHARED_KEY": "state-test-token-0123", "PODSESSION_UID": "uid-1"}
        status, _, pod = call(base_url, "POST", "/v2/pods", key, {
            "name": "psn-cli-default-user-00000001", "image": "img",
            "gpu": {"id": "NVIDIA L4", "count": 1}, "ports": ["8000/http", "22/tcp"],
            "env": env})
        self.assertEqual(status, 201)
        status, _, deleted = call(base_url, "POST", "/v2/pods", key, {
            "name": "psn-cli-default-user-00000002", "image": "img",
            "gpu": {"id": "NVIDIA L4", "count": 1}})
        self.assertEqual(status, 201)
        self.assertEqual(call(base_url, "DELETE", "/v2/pods/" + deleted["id"], key)[0], 204)
        status, _, stopped = call(base_url, "POST", f"/v2/pods/{pod['id']}/action", key,
                                  {"action": "stop"})
        self.assertEqual((status, stopped["status"]), (200, "EXITED"))
        _, stderr = self.stop(process, signal.SIGTERM)
        self.assertIn("simulated pods saved", stderr)
        self.assertNotIn(env["ATLAS_PRESHARED_KEY"], stderr)

        self.assertEqual(stat.S_IMODE(os.stat(state_file).st_mode), 0o600)
        with open(state_file, encoding="utf-8") as file:
            saved = json.load(file)
        self.assertEqual([entry["id"] for entry in saved["pods"]], [pod["id"]])

        process, lines = self.start(*arguments)
        base_url = "http://" + read_line(lines)
        status, _, listed = call(base_url, "GET", "/v2/pods", key)
        self.assertEqual(status, 200)
        self.assertEqual([entry["id"] for entry in listed["pods"]], [pod["id"]])
        restored = listed["pods"][0]
        self.assertEqual(restored["env"], env)
        self.assertEqual(restored["status"], "EXITED")
        self.assertEqual(restored["createdAt"], pod["createdAt"])
        status, _, started = call(base_url, "POST", f"/v2/pods/{pod['id']}/action", key,
                                  {"action": "start"})
        self.assertEqual((status, started["status"]), (200, "RUNNING"))
        # The tcp port keeps its public port.
        self.assertEqual(started["runtime"]["ports"], pod["runtime"]["ports"])
        self.stop(process, signal.SIGTERM)

    def test_rejects_invalid_fault_file_and_flags(self):
        faults_file = os.path.join(self.directory.name, "faults.json")
        with open(faults_file, "w", encoding="utf-8") as file:
            file.write('{"rules": [{"fault": "error", "status": 600}]}')
        state_file = os.path.join(self.directory.name, "state.json")
        with open(state_file, "w", encoding="utf-8") as file:
            file.write('{"version": 1, "pods": [')
        for arguments, status, message in [
                (["--state-file", state_file], 1,
                 f'the simulator state file "{state_file}" is invalid: invalid JSON at line 1'),
                (["--state-file", state_file], 1, "delete it to start the simulator with no pods"),
                (["--state-file", "/nonexistent/state.json"], 1, "check that its folder exists"),
                (["--faults", faults_file], 1, "rules[0].status: 600 is not"),
                (["--faults", "/nonexistent/faults.yaml"], 1, "cannot read the fault file"),
                (["--rate-limit", "minute=sixty/60"], 2, "NAME=QUOTA/SECONDS"),
                (["--rate-limit", "minute=0/60"], 2, "quota of at least 1"),
                (["--tls-cert", faults_file], 2, "--tls-cert and --tls-key go together")]:
            with self.subTest(arguments=arguments):
                process, _ = self.start(*arguments)
                self.assertEqual(process.wait(timeout=STOP_BOUND_SECONDS), status)
                self.assertIn(message, process.stderr.read())


if __name__ == "__main__":
    PODSESSION, SCHEMA_FILE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
