"""Process harness for the directory-mode integration tests.

Starts `podsession simulate-runpod` and `podsession run` as real processes on
loopback ports chosen by the OS, reads the status and token files the
controller writes, queries the simulator's admin API, and waits for conditions
with bounded deadlines. A wait that times out fails with the controller's log
tail, the simulator's pods (without their env, which contains tokens) and the
phase of every status file.

The binary comes from the environment variable PODSESSION_BINARY, the source
tree (for manifests/examples) from PODSESSION_SOURCE_DIR.
"""

import ctypes
import datetime
import json
import os
import re
import secrets
import selectors
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import yaml

PODSESSION = os.environ.get("PODSESSION_BINARY", "")
SOURCE_DIR = os.environ.get("PODSESSION_SOURCE_DIR", "")

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
GPU_4090 = "NVIDIA GeForce RTX 4090"
# Phases a session never leaves.
TERMINAL_PHASES = ("Expired", "Failed")

# Bounds of every wait, in seconds. Generous, because CTest runs the test
# classes in parallel on a small machine.
START_TIMEOUT = 15
CONVERGE_TIMEOUT = 20
STOP_TIMEOUT = 10

# urllib honours http_proxy and related variables, but the tests talk to
# 127.0.0.1 only, so every request goes through an opener without proxies.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """Makes the child get SIGKILL when the test process dies (a CTest timeout
    kills only the test process), so no controller or simulator outlives it."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def wait_until(predicate, timeout, description, diagnostics=None, interval=0.05):
    """Calls `predicate` until it returns a true value and returns that value.

    Raises AssertionError naming `description` and the output of
    `diagnostics()` once `timeout` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            details = diagnostics() if diagnostics else ""
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {description}\n{details}"
            )
        time.sleep(interval)


def parse_time(value):
    """Returns an RFC 3339 time of a status file as POSIX seconds.

    PyYAML turns unquoted timestamps into datetime objects, so both forms occur.
    """
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def format_time(seconds):
    """Formats POSIX seconds as RFC 3339 UTC with whole seconds."""
    moment = datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def session_yaml(name, namespace=None, idle_ttl=None, gpu="rtx-4090", port=8000,
                 auth=None, annotations=None, extra_spec=""):
    """Returns one PodSession document in the block style an app would write."""
    lines = [
        "apiVersion: podsession.io/v1alpha1",
        "kind: PodSession",
        "metadata:",
        f"  name: {name}",
    ]
    if namespace:
        lines.append(f"  namespace: {namespace}")
    if annotations:
        lines.append("  annotations:")
        lines.extend(f'    {key}: "{value}"' for key, value in annotations.items())
    lines += [
        "spec:",
        f'  userId: "{name}"',
        "  image: ghcr.io/example/inference:1.0",
        "  gpu:",
        f"    types: [{gpu}]",
        "  ports:",
        f"    - {{port: {port}, protocol: http}}",
    ]
    if auth:
        lines.append(f"  auth: {auth}")
    if idle_ttl is not None:
        lines.append(f"  idleTTLSeconds: {idle_ttl}")
    text = "\n".join(lines) + "\n"
    return text + extra_spec


def pod_name_prefix(name, namespace="default", controller_id="default"):
    """Returns the pod name of a session without its UID part."""
    return f"psn-{controller_id}-{namespace}-{name}-"


class Simulator:
    """`podsession simulate-runpod` as a child process with its own API key."""

    def __init__(self, workdir, boot_seconds=1.0, extra_arguments=()):
        """`extra_arguments` go to simulate-runpod, such as --faults FILE."""
        self.workdir = workdir
        self.boot_seconds = boot_seconds
        self.extra_arguments = list(extra_arguments)
        self.api_key = secrets.token_urlsafe(32)
        self.key_file = os.path.join(workdir, "runpod-api-key")
        with open(os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                  "w", encoding="utf-8") as file:
            file.write(self.api_key + "\n")
        self.log_path = os.path.join(workdir, "simulator.log")
        self.process = None
        self.base_url = ""

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [PODSESSION, "simulate-runpod", "--listen", "127.0.0.1:0",
                 "--api-key-file", self.key_file, "--boot-seconds", str(self.boot_seconds),
                 *self.extra_arguments],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                preexec_fn=_die_with_parent,
            )
        # The bound ADDR:PORT is the first line of standard output.
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(START_TIMEOUT):
                self.stop()
                raise AssertionError(
                    f"simulate-runpod printed no address within {START_TIMEOUT} s\n"
                    + self.log_tail())
        address = self.process.stdout.readline().decode().strip()
        if not re.fullmatch(r"127\.0\.0\.1:\d+", address):
            self.stop()
            raise AssertionError(f"simulate-runpod printed {address!r}, not 127.0.0.1:PORT\n"
                                 + self.log_tail())
        self.base_url = "http://" + address
        return self

    def stop(self):
        _stop_process(self.process)

    def log_tail(self, count=20):
        return _tail(self.log_path, count)

    def request(self, method, path, body=None):
        """Sends one admin or API request and returns (status, parsed JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.api_key)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with _opener.open(request, timeout=5) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read()
            return error.code, json.loads(text) if text else None

    def state(self):
        status, body = self.request("GET", "/_sim/state")
        if status != 200:
            raise AssertionError(f"GET /_sim/state returned {status}: {body}")
        return body

    def pods(self, prefix="", live_only=False):
        """Returns the simulator's pods (deleted ones too unless `live_only`)
        whose name starts with `prefix`."""
        return [pod for pod in self.state()["pods"]
                if pod["name"].startswith(prefix) and not (live_only and pod["deleted"])]

    def calls(self):
        return self.state()["calls"]

    def plant(self, name, created_at=None, status="RUNNING", env=None):
        """Adds a pod as another client would have created it and returns its id."""
        body = {"name": name, "image": "ghcr.io/example/other:1",
                "gpu": {"id": GPU_4090, "count": 1}, "ports": ["8000/http"],
                "env": env or {}, "status": status}
        if created_at is not None:
            body["createdAt"] = format_time(created_at)
        code, created = self.request("POST", "/_sim/pods", body)
        if code != 201:
            raise AssertionError(f"POST /_sim/pods returned {code}: {created}")
        return created["id"]

    @property
    def port(self):
        return int(self.base_url.rsplit(":", 1)[1])

    def unread_request_bytes(self):
        """Returns the bytes clients have sent that the simulator has not read
        yet, from the receive queues in /proc/net/tcp. While the simulator is
        stopped with SIGSTOP, a request in flight shows there."""
        total = 0
        with open("/proc/net/tcp", encoding="ascii") as table:
            next(table)
            for line in table:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                receive_queue = int(fields[4].split(":")[1], 16)
                if local_port == self.port:
                    total += receive_queue
        return total

    def describe(self):
        """Lists the pods and call counts, without env values."""
        try:
            state = self.state()
        except (OSError, AssertionError) as error:
            return f"simulator state unavailable: {error}"
        lines = [f"simulator calls: {state['calls']}"]
        for pod in state["pods"]:
            lines.append(f"  pod {pod['id']} name={pod['name']} status={pod['status']}"
                         f" deleted={pod['deleted']} createdAt={pod['createdAt']}")
        return "\n".join(lines)


class Controller:
    """One `podsession run` process in directory mode. Each start writes its
    own log file; `log_text` reads the current one."""

    def __init__(self, workdir, sessions_dir, arguments, label="controller"):
        self.workdir = workdir
        self.label = label
        self.sessions_dir = sessions_dir
        self.arguments = list(arguments)
        self.process = None
        self.starts = 0
        self.log_path = ""
        self.metrics_address = ""

    def start(self):
        self.starts += 1
        self.log_path = self._log_path(self.starts)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [PODSESSION, "run", "--sessions-dir", self.sessions_dir, "--listen",
                 "127.0.0.1:0", *self.arguments],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        match = wait_until(
            lambda: self.process.poll() is not None
            or re.search(r"serving metrics and health address=(\S+)", self.log_text()),
            START_TIMEOUT, "the controller's listen address in its log", self.log_tail)
        if self.process.poll() is not None:
            raise AssertionError(f"the controller exited with status {self.process.returncode}"
                                 f" at start\n{self.log_tail()}")
        self.metrics_address = match.group(1)
        return self

    def _log_path(self, start):
        return os.path.join(self.workdir, f"{self.label}-{start}.log")

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def log_text(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()

    def all_logs(self):
        texts = []
        for start in range(1, self.starts + 1):
            with open(self._log_path(start), encoding="utf-8", errors="replace") as log:
                texts.append(log.read())
        return "\n".join(texts)

    def log_tail(self, count=40):
        return f"controller log tail ({self.log_path}):\n" + _tail(self.log_path, count)

    def http_get(self, path):
        """Returns (status, body) of a GET on the metrics and health port."""
        try:
            with _opener.open(f"http://{self.metrics_address}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def metric(self, series):
        """Returns the value of one series of /metrics, such as
        `podsession_sessions{phase="Running"}`, or None when it is missing."""
        for line in self.http_get("/metrics")[1].splitlines():
            name, _, value = line.rpartition(" ")
            if name == series:
                return float(value)
        return None

    def wait_ready(self):
        wait_until(lambda: self.http_get("/readyz")[0] == 200, START_TIMEOUT,
                   "/readyz to return 200", self.log_tail)

    def kill(self):
        """Sends SIGKILL, as a crash or an OOM kill would end the process."""
        self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)

    def terminate(self):
        """Sends SIGTERM and returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self):
        _stop_process(self.process)


class SessionsDir:
    """The folder the controller reads, and the status and token files it writes."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)

    def file(self, filename):
        return os.path.join(self.path, filename)

    def write(self, filename, text):
        """Replaces a session file atomically, as a careful app does."""
        temporary = os.path.join(self.path, f".{filename}.tmp")
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, self.file(filename))

    def write_in_place(self, filename, text):
        """Rewrites a session file in place, as an editor without atomic saves does."""
        with open(self.file(filename), "w", encoding="utf-8") as file:
            file.write(text)

    def read(self, filename):
        with open(self.file(filename), encoding="utf-8") as file:
            return file.read()

    def remove(self, filename):
        os.remove(self.file(filename))

    def status_path(self, name, namespace="default"):
        return os.path.join(self.path, ".status", namespace, name + ".yaml")

    def token_path(self, name, namespace="default"):
        return os.path.join(self.path, ".status", namespace, name + ".token")

    def document(self, name, namespace="default"):
        """Returns the whole status file as a mapping, or None while there is none."""
        try:
            with open(self.status_path(name, namespace), encoding="utf-8") as file:
                return yaml.safe_load(file)
        except FileNotFoundError:
            return None

    def status(self, name, namespace="default"):
        document = self.document(name, namespace)
        return document.get("status") if document else None

    def read_token(self, name, namespace="default"):
        with open(self.token_path(name, namespace), encoding="utf-8") as file:
            return file.read()

    def describe(self):
        """Lists every status file with its phase, reason and pod."""
        root = os.path.join(self.path, ".status")
        lines = []
        for directory, _, files in sorted(os.walk(root)):
            for filename in sorted(files):
                if not filename.endswith(".yaml"):
                    continue
                namespace = os.path.basename(directory)
                status = self.status(filename[:-5], namespace) or {}
                lines.append(f"  status {namespace}/{filename[:-5]}: phase={status.get('phase')}"
                             f" reason={status.get('reason')} podId={status.get('podId')}")
        return "status files:\n" + ("\n".join(lines) if lines else "  none")


def condition(status, kind):
    """Returns the condition of type `kind` in a status, or None."""
    for entry in (status or {}).get("conditions") or []:
        if entry.get("type") == kind:
            return entry
    return None


class IntegrationTest(unittest.TestCase):
    """A temporary folder per test, with the processes it starts stopped at the
    end and every process log checked for each secret the test has read."""

    boot_seconds = 1.0
    # Intervals short enough that each test converges in seconds. An argument
    # of `make_controller` with the same flag replaces the default.
    controller_defaults = {"--resync-interval": "1s", "--poll-interval": "200ms",
                           "--rescan-interval": "1s"}

    def setUp(self):
        if not PODSESSION:
            self.fail("PODSESSION_BINARY is not set; run the tests through CTest")
        self._workdir = tempfile.TemporaryDirectory(prefix="podsession-integration-")
        self.addCleanup(self._workdir.cleanup)
        self.workdir = self._workdir.name
        self.sessions = SessionsDir(os.path.join(self.workdir, "sessions"))
        self.simulator = None
        self.controllers = []
        self.known_secrets = []
        # Runs after every process is stopped, because cleanups run last in, first out.
        self.addCleanup(self._check_logs_contain_no_secret)

    def start_simulator(self, boot_seconds=None):
        self.simulator = Simulator(self.workdir, boot_seconds or self.boot_seconds)
        self.addCleanup(self.simulator.stop)
        self.simulator.start()
        self.known_secrets.append(self.simulator.api_key)
        return self.simulator

    def make_controller(self, *arguments):
        """Returns a controller on the simulator, not yet started."""
        defaults = [item for flag, value in self.controller_defaults.items()
                    if flag not in arguments for item in (flag, value)]
        controller = Controller(
            self.workdir, self.sessions.path,
            ["--provider", "runpod", "--runpod-base-url", self.simulator.base_url,
             "--runpod-api-key-file", self.simulator.key_file, *defaults, *arguments],
            label=f"controller{len(self.controllers) + 1}")
        self.controllers.append(controller)
        self.addCleanup(controller.stop)
        return controller

    def start_controller(self, *arguments):
        return self.make_controller(*arguments).start()

    def diagnostics(self):
        parts = []
        for controller in self.controllers:
            if controller.process is not None:
                state = "running" if controller.running else \
                    f"exited with status {controller.process.returncode}"
                parts.append(f"controller {state}; {controller.log_tail()}")
        if self.simulator is not None:
            parts.append(self.simulator.describe())
        parts.append(self.sessions.describe())
        return "\n".join(parts)

    def wait_for(self, predicate, description, timeout=CONVERGE_TIMEOUT):
        return wait_until(predicate, timeout, description, self.diagnostics)

    def wait_for_phase(self, name, phase, namespace="default", timeout=CONVERGE_TIMEOUT):
        """Waits until the session's status file shows `phase` and returns the
        status. Fails at once when the session reaches another terminal phase."""
        def reached():
            status = self.sessions.status(name, namespace) or {}
            current = status.get("phase")
            if current in TERMINAL_PHASES and current != phase:
                raise AssertionError(f"{namespace}/{name} reached phase {current}, not {phase}"
                                     f"\n{self.diagnostics()}")
            return status if current == phase else None
        return self.wait_for(reached, f"{namespace}/{name} to reach phase {phase}", timeout)

    def wait_for_log(self, controller, pattern, timeout=CONVERGE_TIMEOUT):
        """Waits for a line matching `pattern` in the controller's current log."""
        compiled = re.compile(pattern)
        return self.wait_for(lambda: compiled.search(controller.log_text()),
                             f"a log line matching {pattern!r}", timeout)

    def wait_for_resyncs(self, count):
        """Waits until the controller has listed the simulator's pods `count` more
        times, so that whatever it plans after a list has been planned."""
        start = self.simulator.calls()["listPods"]
        self.wait_for(lambda: self.simulator.calls()["listPods"] >= start + count,
                      f"{count} more pod lists")

    def read_token(self, name, namespace="default"):
        token = self.sessions.read_token(name, namespace)
        self.known_secrets.append(token)
        return token

    def _check_logs_contain_no_secret(self):
        for directory, _, files in os.walk(os.path.join(self.sessions.path, ".status")):
            for filename in files:
                if filename.endswith(".token"):
                    with open(os.path.join(directory, filename), encoding="utf-8") as file:
                        self.known_secrets.append(file.read())
        logs = [controller.all_logs() for controller in self.controllers
                if controller.starts > 0]
        if self.simulator is not None and os.path.exists(self.simulator.log_path):
            with open(self.simulator.log_path, encoding="utf-8", errors="replace") as file:
                logs.append(file.read())
        for secret in self.known_secrets:
            if not secret:
                continue
            for text in logs:
                # Compared without assertNotIn, whose message would print the secret.
                self.assertFalse(secret in text, "a token or API key appears in a process log")


def _stop_process(process):
    """Stops a child with SIGTERM, or SIGKILL when it does not exit in time."""
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    if process.stdout is not None:
        process.stdout.close()


def _tail(path, count):
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = file.readlines()
    except FileNotFoundError:
        return "(no log)\n"
    return "".join(lines[-count:])
