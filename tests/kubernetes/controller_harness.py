"""Processes for the controller's Kubernetes-mode tests: the RunPod simulator and controllers.

The controller runs as `podsession run --kubeconfig ... --provider runpod` against
`podsession simulate-runpod` in a separate process, so a test can kill a
controller (even with SIGKILL) while its pods live on in the simulator. The
binary comes from PODSESSION_BINARY (set by CTest), else build/podsession.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from fakekube import REPO_ROOT, podsessions, wait_until

PODSESSION = os.environ.get("PODSESSION_BINARY", os.path.join(REPO_ROOT, "build", "podsession"))
START_TIMEOUT_SECONDS = 15
STOP_TIMEOUT_SECONDS = 15
# Fast loops so that tests converge in seconds: pods boot in one second and the
# controller lists them five times a second while one boots.
CONTROLLER_TIMING = ["--poll-interval", "200ms", "--resync-interval", "1s",
                     "--create-settle", "10s", "--orphan-grace", "5m"]
# Leader election scaled down from 15 s / 10 s / 2 s so a handover takes seconds.
LEASE_SECONDS = 3
LEADER_ELECTION_TIMING = ["--leader-election-lease-duration", f"{LEASE_SECONDS}s",
                          "--leader-election-renew-deadline", "2s",
                          "--leader-election-retry-period", "500ms"]


def http_json(url, method="GET", key=None, timeout=10):
    request = urllib.request.Request(url, method=method)
    if key:
        request.add_header("Authorization", "Bearer " + key)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class Simulator:
    """`podsession simulate-runpod` on a free loopback port, with a key of its own."""

    def __init__(self, folder, boot_seconds=1):
        self.key = "sim-key-for-tests"
        self.key_file = os.path.join(folder, "runpod-key")
        with open(self.key_file, "w", encoding="utf-8") as stream:
            stream.write(self.key + "\n")
        self.log_path = os.path.join(folder, "simulator.log")
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            [PODSESSION, "simulate-runpod", "--listen", "127.0.0.1:0", "--api-key-file",
             self.key_file, "--boot-seconds", str(boot_seconds)],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.process.stdout.readline().strip()
        if not line:
            self.stop()
            raise AssertionError("simulate-runpod printed no address")
        self.address = line
        self.url = "http://" + line

    def pods(self):
        """Every pod the simulator ever created, terminated ones with `deleted: true`."""
        return http_json(self.url + "/_sim/state", key=self.key)["pods"]

    def pods_of(self, session, namespace="default"):
        prefix = f"psn-default-{namespace}-{session}-"
        return [p for p in self.pods() if p["name"].startswith(prefix)]

    def live_pods_of(self, session, namespace="default"):
        return [p for p in self.pods_of(session, namespace) if not p.get("deleted")]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_SECONDS)
        self.process.stdout.close()
        self.log.close()


class Controller:
    """One `podsession run` in Kubernetes mode, logging to a file of its own."""

    def __init__(self, folder, kubeconfig, simulator, name="ctl-a", extra_args=(), environment=None):
        self.name = name
        self.log_path = os.path.join(folder, f"{name}.log")
        self.log = open(self.log_path, "w", encoding="utf-8")
        arguments = [PODSESSION, "run", "--kubeconfig", kubeconfig, "--provider", "runpod",
                     "--runpod-base-url", simulator.url, "--runpod-api-key-file", simulator.key_file,
                     "--listen", "127.0.0.1:0", *CONTROLLER_TIMING, *extra_args]
        full_environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "POD_NAME": name,
                            **(environment or {})}
        self.process = subprocess.Popen(arguments, stdout=self.log, stderr=subprocess.STDOUT,
                                        env=full_environment)
        self.metrics_url = None

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, encoding="utf-8") as stream:
            return stream.read()

    def wait_for_log(self, text, timeout=START_TIMEOUT_SECONDS):
        return wait_until(lambda: text in self.output() or self.exited(), timeout,
                          message=f"{self.name} to log {text!r}") and text in self.output()

    def exited(self):
        return self.process.poll() is not None

    def metrics(self):
        """The /metrics text, once the controller logged where it serves it."""
        if self.metrics_url is None:
            found = wait_until(
                lambda: re.search(r"serving metrics and health address=(\S+)", self.output()),
                START_TIMEOUT_SECONDS, message=f"{self.name} to serve /metrics")
            self.metrics_url = f"http://{found.group(1)}/metrics"
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            return response.read().decode()

    def metric(self, name):
        match = re.search(rf"^{re.escape(name)} (\S+)$", self.metrics(), re.MULTILINE)
        return float(match.group(1)) if match else None

    def kill(self):
        """SIGKILL: the process gets no chance to release anything."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_SECONDS)

    def stop(self):
        """SIGTERM and wait; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_SECONDS)
        self.log.close()
        return self.process.returncode


class ControllerEnvironment:
    """A fake API server, a simulator and the controllers of one test, stopped in reverse order."""

    def __init__(self, test, server):
        self.test = test
        self.server = server
        self.folder = tempfile.TemporaryDirectory(prefix="podsession-kube-")
        test.addCleanup(self.folder.cleanup)
        self.simulator = Simulator(self.folder.name)
        test.addCleanup(self.simulator.stop)
        self.kubeconfig = server.write_kubeconfig()
        self.controllers = []

    def start_controller(self, name="ctl-a", extra_args=(), environment=None):
        controller = Controller(self.folder.name, self.kubeconfig, self.simulator, name, extra_args,
                                environment)
        self.test.addCleanup(self.report_log, controller)
        self.test.addCleanup(controller.stop)
        self.controllers.append(controller)
        return controller

    def report_log(self, controller):
        """Print a controller's log when the test failed, so CTest shows it."""
        outcome = getattr(self.test, "_outcome", None)
        failed = outcome is not None and not getattr(outcome, "success", True)
        if failed:
            print(f"--- {controller.name} log ---\n{controller.output()}")

    # --- PodSessions -------------------------------------------------------------------

    def session(self, name, namespace="default"):
        response = self.server.get(podsessions(namespace, name))
        return response.json if response.status == 200 else None

    def condition(self, name, kind, namespace="default"):
        obj = self.session(name, namespace) or {}
        for condition in (obj.get("status") or {}).get("conditions") or []:
            if condition["type"] == kind:
                return condition
        return None

    def wait_for_phase(self, name, phase, namespace="default", timeout=20):
        return wait_until(
            lambda: ((self.session(name, namespace) or {}).get("status") or {}).get("phase") == phase
            and self.session(name, namespace),
            timeout, interval=0.05, message=f"{namespace}/{name} to reach phase {phase}")

    def wait_for_gone(self, name, namespace="default", timeout=20):
        wait_until(lambda: self.session(name, namespace) is None, timeout, interval=0.05,
                   message=f"{namespace}/{name} to disappear")

    def assert_one_pod_ever(self, name, namespace="default"):
        """No duplicate: the simulator saw exactly one pod for the session, ever."""
        pods = self.simulator.pods_of(name, namespace)
        self.test.assertEqual(len(pods), 1, f"pods of {namespace}/{name}: {pods}")
        return pods[0]

    def wait_for_expiry(self, name, namespace="default", timeout=20):
        """The session turns Expired and its pod is terminated."""
        obj = self.wait_for_phase(name, "Expired", namespace, timeout)
        self.test.assertEqual(obj["status"]["reason"], "IdleTimeout")
        wait_until(lambda: not self.simulator.live_pods_of(name, namespace), timeout, interval=0.05,
                   message=f"the pod of {namespace}/{name} to be terminated")
        return obj


def session_body(name, namespace="default", **spec):
    """A PodSession for the API; `spec` overrides the minimal valid spec."""
    body = {"apiVersion": "podsession.io/v1alpha1", "kind": "PodSession",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"image": "ghcr.io/example/app:1", "gpu": {"types": ["h100"]},
                     "ports": [{"port": 8000, "protocol": "http"}]}}
    body["spec"].update(spec)
    return body


def now_rfc3339():
    """The current time in RFC 3339 with milliseconds, as an app would touch a session."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
