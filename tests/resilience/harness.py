"""Process harness of the resilience suite.

Runs `podsession simulate-runpod` and `podsession run --provider runpod` as
separate processes on loopback ports chosen by the OS, scripts the
simulator's faults through its admin API, reads the controller's status
files and metrics, and checks the invariants every test ends with. Every wait
polls with a bound. A wait that runs out fails with the controller's log
tail and the simulator's pods, without their env, which contains tokens.

The binary comes from the environment variable PODSESSION_BINARY.
"""

import ctypes
import json
import os
import re
import secrets
import selectors
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import yaml

PODSESSION = os.environ.get("PODSESSION_BINARY", "")

CONTROLLER_ID = "default"
POD_PREFIX = f"psn-{CONTROLLER_ID}-"
GPU_4090 = "NVIDIA GeForce RTX 4090"

# Bounds of every wait, in seconds: far above what a step takes alone,
# because CTest runs the test classes side by side on a small machine.
START_TIMEOUT = 15
CONVERGE_TIMEOUT = 30
STOP_TIMEOUT = 10

# Intervals short enough that a scenario converges in seconds. The orphan
# grace and the create settle time stay above the simulator's boot time and
# any listing lag a test scripts.
FAST_FLAGS = {
    "--resync-interval": "300ms",
    "--poll-interval": "200ms",
    "--rescan-interval": "300ms",
    "--orphan-grace": "3s",
    "--create-settle": "5s",
    "--runpod-request-timeout": "3s",
}

# The tests talk to 127.0.0.1 only; proxies from the environment must not
# see their requests.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """Makes the child get SIGKILL when the test process dies, so that no
    simulator or controller outlives a test that CTest killed."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def wait_until(predicate, description, timeout=CONVERGE_TIMEOUT, diagnostics=None,
               interval=0.1):
    """Calls `predicate` until it returns a true value, and returns that value.

    Raises AssertionError naming `description`, with `diagnostics()`, once
    `timeout` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            details = diagnostics() if diagnostics else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {description}\n"
                                 f"{details}")
        time.sleep(interval)


def hold_for(seconds, check, interval=0.1):
    """Calls `check` (which asserts) repeatedly for `seconds`: a property that
    must stay true while a fault lasts."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check()
        time.sleep(interval)
    check()


def write_private(path, text):
    """Writes `text` to a new file readable by the owner only."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
              encoding="utf-8") as file:
        file.write(text)


def replace_file(path, text):
    """Replaces `path` atomically, as a Secret volume or an editor does."""
    staged = path + ".staged"
    write_private(staged, text)
    os.replace(staged, path)


def session_yaml(name, gpu_types=("rtx-4090",), idle_ttl=None, ready_timeout=None,
                 env=None, uid=None, namespace=None):
    """Returns one PodSession document."""
    metadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if uid:
        metadata["uid"] = uid
    spec = {
        "userId": name,
        "image": "ghcr.io/example/inference:1.0",
        "gpu": {"types": list(gpu_types)},
        "ports": [{"port": 8000, "protocol": "http"}],
    }
    if idle_ttl is not None:
        spec["idleTTLSeconds"] = idle_ttl
    if ready_timeout is not None:
        spec["readyTimeoutSeconds"] = ready_timeout
    if env:
        spec["env"] = [{"name": key, "value": value} for key, value in env.items()]
    document = {"apiVersion": "podsession.io/v1alpha1", "kind": "PodSession",
                "metadata": metadata, "spec": spec}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def pod_name_of(name, uid, namespace="default"):
    """Returns the pod name the controller gives a session (short names only)."""
    hex_digits = "".join(c for c in uid.lower() if c in "0123456789abcdef")[:8]
    return f"{POD_PREFIX}{namespace}-{name}-{hex_digits}"


def session_prefix(name, namespace="default"):
    """Returns the start of every pod name of a session, whatever its UID."""
    return f"{POD_PREFIX}{namespace}-{name}-"


def make_certificate_authority(directory, name):
    """Creates a CA with the openssl command; returns (certificate, key) paths."""
    certificate = os.path.join(directory, name + "-ca.crt")
    key = os.path.join(directory, name + "-ca.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN=podsession test CA {name}",
         "-keyout", key, "-out", certificate],
        check=True, capture_output=True, timeout=30)
    return certificate, key


def make_server_certificate(directory, authority):
    """Issues a certificate for 127.0.0.1 from `authority`; returns
    (certificate, key) paths."""
    ca_certificate, ca_key = authority
    certificate = os.path.join(directory, "server.crt")
    key = os.path.join(directory, "server.key")
    request = os.path.join(directory, "server.csr")
    extensions = os.path.join(directory, "server.ext")
    with open(extensions, "w", encoding="utf-8") as file:
        file.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    subprocess.run(
        ["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", request],
        check=True, capture_output=True, timeout=30)
    subprocess.run(
        ["openssl", "x509", "-req", "-in", request, "-CA", ca_certificate, "-CAkey", ca_key,
         "-CAcreateserial", "-days", "1", "-extfile", extensions, "-out", certificate],
        check=True, capture_output=True, timeout=30)
    return certificate, key


def _stop_process(process):
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _tail(path, count):
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = file.readlines()
    except OSError:
        return ""
    return "".join(lines[-count:])


def _read_first_line(process, timeout, what, log_tail):
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"{what} printed nothing within {timeout} s\n{log_tail()}")
    return process.stdout.readline().decode().strip()


class Simulator:
    """`podsession simulate-runpod` as a child process with its own key."""

    def __init__(self, workdir, boot_seconds=1.0, faults=None, rate_limits=(),
                 tls=None, ca_file=None):
        self.workdir = workdir
        self.api_key = "rpa_" + secrets.token_urlsafe(24)
        self.key_file = os.path.join(workdir, "simulator-api-key")
        write_private(self.key_file, self.api_key + "\n")
        self.log_path = os.path.join(workdir, "simulator.log")
        arguments = [PODSESSION, "simulate-runpod", "--listen", "127.0.0.1:0",
                     "--api-key-file", self.key_file, "--boot-seconds", str(boot_seconds)]
        if faults is not None:
            faults_file = os.path.join(workdir, "faults.json")
            with open(faults_file, "w", encoding="utf-8") as file:
                json.dump(faults, file)
            arguments += ["--faults", faults_file]
        for window in rate_limits:
            arguments += ["--rate-limit", window]
        if tls:
            arguments += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.arguments = arguments
        self.ssl_context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.process = None
        self.base_url = ""

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.arguments, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=log,
                                            preexec_fn=_die_with_parent)
        address = _read_first_line(self.process, START_TIMEOUT, "simulate-runpod",
                                   self.log_tail)
        if not re.fullmatch(r"127\.0\.0\.1:\d+", address):
            raise AssertionError(f"simulate-runpod printed {address!r}\n{self.log_tail()}")
        scheme = "https" if self.ssl_context else "http"
        self.base_url = f"{scheme}://{address}"
        return self

    def stop(self):
        _stop_process(self.process)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def log_tail(self, count=15):
        return _tail(self.log_path, count)

    def request(self, method, path, body=None):
        """Sends one request with the simulator's key; returns (status, JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.api_key)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            if self.ssl_context:
                handler = urllib.request.HTTPSHandler(context=self.ssl_context)
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), handler)
            else:
                opener = _opener
            with opener.open(request, timeout=10) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read()
            return error.code, json.loads(text) if text else None

    def admin(self, method, path, body=None, expected=(200, 201, 204)):
        status, answer = self.request(method, path, body)
        if status not in expected:
            raise AssertionError(f"{method} {path} returned {status}: {answer}")
        return answer

    def state(self):
        return self.admin("GET", "/_sim/state")

    def pods(self, prefix="", live_only=True):
        """Returns the simulator's pods whose name starts with `prefix`."""
        return [pod for pod in self.state()["pods"]
                if pod["name"].startswith(prefix) and not (live_only and pod["deleted"])]

    def calls(self, operation):
        return self.state()["calls"][operation]

    def set_faults(self, rules, seed=1):
        return self.admin("PUT", "/_sim/faults", {"seed": seed, "rules": rules})

    def clear_faults(self):
        self.admin("DELETE", "/_sim/faults")

    def fault_counters(self):
        return self.admin("GET", "/_sim/faults")["rules"]

    def requests(self):
        return self.admin("GET", "/_sim/requests")["requests"]

    def set_status(self, pod_id, status):
        self.admin("PUT", f"/_sim/pods/{pod_id}/status", {"status": status})

    def add_pod(self, name, created_at, status="RUNNING", gpu=GPU_4090, env=None):
        body = {"name": name, "image": "ghcr.io/example/inference:1.0",
                "gpu": {"id": gpu, "count": 1}, "status": status, "createdAt": created_at}
        if env:
            body["env"] = env
        return self.admin("POST", "/_sim/pods", body)

    def describe(self):
        """Lists the pods for a failure message, without their env."""
        try:
            pods = self.state()["pods"]
        except Exception as error:  # noqa: BLE001 - a diagnostic must not raise
            return f"(simulator state unavailable: {error})"
        lines = [f"  {pod['id']} {pod['name']} {pod['status']}"
                 f"{' deleted' if pod['deleted'] else ''}" for pod in pods]
        return "simulator pods:\n" + "\n".join(lines)


class Controller:
    """`podsession run --provider runpod` in directory mode, as a child process."""

    def __init__(self, workdir, simulator, sessions_dir, key_file=None, flags=None,
                 extra=(), name="controller", env_api_key=None):
        """With `env_api_key`, the key comes from RUNPOD_API_KEY instead of a file."""
        self.workdir = workdir
        self.sessions_dir = sessions_dir
        self.log_path = os.path.join(workdir, name + ".log")
        self.key_file = key_file or simulator.key_file
        # A flag given twice is a usage error, so overrides replace defaults.
        merged = dict(FAST_FLAGS, **(flags or {}))
        self.arguments = [
            PODSESSION, "run", "--provider", "runpod",
            "--runpod-base-url", simulator.base_url,
            "--runpod-api-key-file", self.key_file,
            "--sessions-dir", sessions_dir,
            "--controller-id", CONTROLLER_ID,
            "--listen", "127.0.0.1:0",
            *[part for flag, value in merged.items() for part in (flag, value)],
            *extra,
        ]
        self.env = {key: value for key, value in os.environ.items()
                    if key != "RUNPOD_API_KEY"}
        if env_api_key is not None:
            option = self.arguments.index("--runpod-api-key-file")
            del self.arguments[option:option + 2]
            self.env["RUNPOD_API_KEY"] = env_api_key
        self.process = None
        self.metrics_url = ""

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.arguments, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, env=self.env,
                                            preexec_fn=_die_with_parent)
        match = wait_until(
            lambda: re.search(r"serving metrics and health address=(127\.0\.0\.1:\d+)",
                              self.log()),
            "the controller to serve metrics", timeout=START_TIMEOUT,
            diagnostics=self.log_tail)
        self.metrics_url = f"http://{match.group(1)}/metrics"
        return self

    def stop(self):
        _stop_process(self.process)

    def crash(self):
        """Kills the controller with SIGKILL, as a node failure would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as file:
                return file.read()
        except OSError:
            return ""

    def log_tail(self, count=25):
        return _tail(self.log_path, count)

    def metrics(self):
        """Returns the scraped samples as {"name{labels}": value}."""
        with _opener.open(self.metrics_url, timeout=10) as response:
            text = response.read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def metrics_text(self):
        with _opener.open(self.metrics_url, timeout=10) as response:
            return response.read().decode()


class StatusReader:
    """Reads the status files that the controller writes in directory mode."""

    def __init__(self, sessions_dir):
        self.sessions_dir = sessions_dir

    def path(self, name, namespace="default"):
        return os.path.join(self.sessions_dir, ".status", namespace, name + ".yaml")

    def status(self, name, namespace="default"):
        """Returns the status of a session, {} before the first write, None once
        the files are released."""
        try:
            with open(self.path(name, namespace), encoding="utf-8") as file:
                document = yaml.safe_load(file)
        except FileNotFoundError:
            return None
        except yaml.YAMLError:
            return {}
        return (document or {}).get("status") or {}

    def all(self):
        """Returns {namespace/name: status} of every status file."""
        found = {}
        root = os.path.join(self.sessions_dir, ".status")
        for namespace in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            for entry in sorted(os.listdir(os.path.join(root, namespace))):
                if entry.endswith(".yaml"):
                    name = entry[:-len(".yaml")]
                    status = self.status(name, namespace)
                    if status is not None:
                        found[f"{namespace}/{name}"] = status
        return found

    def condition(self, name, kind, namespace="default"):
        for condition in (self.status(name, namespace) or {}).get("conditions", []):
            if condition.get("type") == kind:
                return condition
        return None


class GoneMonitor(threading.Thread):
    """Watches, for the whole test, that no session is marked gone while its pod
    may still run.

    Whenever a status file carries `terminatedAt`, or a status file that named
    a pod disappears, that pod must already be deleted at the simulator. The
    status files are read before the simulator's pods, and the controller
    deletes a pod before it writes `terminatedAt`. A pod found live here was
    therefore really marked gone too early."""

    def __init__(self, simulator, statuses):
        super().__init__(daemon=True)
        self.simulator = simulator
        self.statuses = statuses
        self.violations = []
        self.samples = 0
        self._stop_event = threading.Event()
        self._known_pods = {}

    def run(self):
        while not self._stop_event.is_set():
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a sample may race a file write or a stop
                pass
            self._stop_event.wait(0.1)

    def sample(self):
        statuses = self.statuses.all()
        gone = {}
        for key, status in statuses.items():
            pod_id = status.get("podId")
            if pod_id:
                self._known_pods[key] = pod_id
                if status.get("terminatedAt"):
                    gone[pod_id] = f"{key} has terminatedAt"
        for key, pod_id in list(self._known_pods.items()):
            if key not in statuses:
                gone[pod_id] = f"{key} was released"
                del self._known_pods[key]
        if not gone:
            self.samples += 1
            return
        live = {pod["id"] for pod in self.simulator.pods()}
        for pod_id, why in gone.items():
            if pod_id in live:
                self.violations.append(f"{why} while pod {pod_id} still runs")
        self.samples += 1

    def stop(self):
        self._stop_event.set()
        self.join(timeout=STOP_TIMEOUT)


class ResilienceTest(unittest.TestCase):
    """A simulator, a sessions directory and helpers; each test starts its own
    controller with `start_controller`."""

    boot_seconds = 1.0
    simulator_faults = None
    rate_limits = ()

    def setUp(self):
        if not PODSESSION:
            self.skipTest("PODSESSION_BINARY is not set")
        self._workdir = tempfile.TemporaryDirectory(prefix="podsession-resilience-")
        self.workdir = self._workdir.name
        self.sessions_dir = os.path.join(self.workdir, "sessions")
        os.mkdir(self.sessions_dir)
        self.statuses = StatusReader(self.sessions_dir)
        self.controllers = []
        self.simulator = self.make_simulator()
        self.addCleanup(self._workdir.cleanup)
        # Cleanups run last first: this one after every process has stopped.
        self.addCleanup(self._check_sanitizer_reports)
        self.addCleanup(self.simulator.stop)
        self.simulator.start()
        self.monitor = GoneMonitor(self.simulator, self.statuses)
        self.monitor.start()
        self.addCleanup(self.monitor.stop)

    def _check_sanitizer_reports(self):
        """Fails the test when a process built with sanitizers reported an error."""
        for path in [self.simulator.log_path] + [c.log_path for c in self.controllers]:
            text = _tail(path, 100000)
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in text:
                    start = text.index(marker)
                    self.fail(f"{path} has a sanitizer report:\n{text[start:start + 3000]}")

    def make_simulator(self):
        return Simulator(self.workdir, boot_seconds=self.boot_seconds,
                         faults=self.simulator_faults, rate_limits=self.rate_limits)

    def start_controller(self, sessions_dir=None, **options):
        controller = Controller(self.workdir, self.simulator, sessions_dir or self.sessions_dir,
                                name=f"controller-{len(self.controllers) + 1}", **options)
        self.controllers.append(controller)
        self.addCleanup(controller.stop)
        return controller.start()

    def write_session(self, name, **options):
        path = os.path.join(self.sessions_dir, name + ".yaml")
        replace_file(path, session_yaml(name, **options))
        return path

    def delete_session(self, name):
        os.remove(os.path.join(self.sessions_dir, name + ".yaml"))

    def diagnostics(self):
        parts = []
        for controller in self.controllers:
            parts.append(f"controller log tail ({controller.log_path}):\n"
                         + controller.log_tail())
        parts.append(self.simulator.describe())
        phases = {key: (status.get("phase"), status.get("reason"), status.get("podId"))
                  for key, status in self.statuses.all().items()}
        parts.append(f"status files: {phases}")
        return "\n".join(parts)

    def wait_for(self, predicate, description, timeout=CONVERGE_TIMEOUT):
        return wait_until(predicate, description, timeout=timeout,
                          diagnostics=self.diagnostics)

    def wait_for_phase(self, name, phase, timeout=CONVERGE_TIMEOUT):
        return self.wait_for(
            lambda: (self.statuses.status(name) or {}).get("phase") == phase
            and self.statuses.status(name),
            f"session {name} to reach {phase}", timeout=timeout)

    def wait_for_running(self, *names, timeout=CONVERGE_TIMEOUT):
        for name in names:
            self.wait_for_phase(name, "Running", timeout=timeout)

    def wait_for_gone(self, name, timeout=CONVERGE_TIMEOUT):
        """Waits until the session's status has terminatedAt and returns it."""
        return self.wait_for(
            lambda: (self.statuses.status(name) or {}).get("terminatedAt")
            and self.statuses.status(name),
            f"session {name} to be marked gone", timeout=timeout)

    def live_pods_of(self, name):
        return self.simulator.pods(session_prefix(name))

    def assert_invariants(self, live, ended=(), grace_passed=True):
        """Checks the end state of a scenario once it has converged:

        - every session in `live` is Running with exactly one live pod, the one
          its status names;
        - every session in `ended` has no live pod;
        - no live pod of this controller belongs to no live session (once the
          orphan grace has passed);
        - the monitor never saw a session marked gone while its pod ran.
        """
        pods = self.simulator.pods(POD_PREFIX)
        for name in live:
            with self.subTest(session=name):
                status = self.statuses.status(name) or {}
                self.assertEqual(status.get("phase"), "Running", self.diagnostics())
                mine = [pod for pod in pods if pod["name"].startswith(session_prefix(name))]
                self.assertEqual(len(mine), 1, self.diagnostics())
                self.assertEqual(mine[0]["id"], status.get("podId"), self.diagnostics())
                self.assertNotIn("terminatedAt", status)
        for name in ended:
            with self.subTest(session=name):
                self.assertEqual(self.live_pods_of(name), [], self.diagnostics())
        if grace_passed:
            owned = tuple(session_prefix(name) for name in live)
            strays = [pod["id"] for pod in pods if not pod["name"].startswith(owned)]
            self.assertEqual(strays, [], "pods without a live session\n" + self.diagnostics())
        self.assertGreater(self.monitor.samples, 0)
        self.assertEqual(self.monitor.violations, [], self.diagnostics())
