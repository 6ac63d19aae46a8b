"""Process helpers shared by the benchmark drivers in this folder.

Starts `podsession simulate-runpod` and `podsession run` as child processes on
loopback ports chosen by the OS, reads their /proc counters, and describes the
machine. Standard library only, so the drivers run with Debian's python3.
"""

import ctypes
import json
import os
import platform
import re
import secrets
import selectors
import signal
import subprocess
import time
import urllib.error
import urllib.request

# Every request goes to 127.0.0.1, so none may go through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _die_with_parent():
    """Sends the child SIGKILL when the driver dies, so no process outlives it."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def wait_until(predicate, timeout, description, interval=0.1):
    """Calls `predicate` until it returns a true value and returns that value;
    raises TimeoutError naming `description` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {description}")
        time.sleep(interval)


def load_average():
    """Returns the 1, 5 and 15 minute load averages."""
    with open("/proc/loadavg", encoding="ascii") as file:
        return tuple(float(field) for field in file.read().split()[:3])


def memory_of(pid):
    """Returns VmHWM (peak resident set) and VmRSS of a process, in KiB."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as file:
        for line in file:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0])
    return values


def cpu_seconds_of(pid):
    """Returns the user plus system CPU time of a process, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as file:
        # The command name may contain spaces; the fields after it are fixed.
        fields = file.read().rsplit(")", 1)[1].split()
    user_ticks, system_ticks = int(fields[11]), int(fields[12])
    return (user_ticks + system_ticks) / CLOCK_TICKS


def machine_description():
    """Returns the facts a benchmark result needs beside it: CPU, memory,
    kernel, compiler and Python version."""
    def run(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
        except OSError:
            return ""

    cpu = {}
    for line in run(["lscpu"]).splitlines():
        key, _, value = line.partition(":")
        if key in ("Model name", "CPU(s)", "Thread(s) per core", "CPU MHz", "Hypervisor vendor"):
            cpu[key] = value.strip()
    with open("/proc/meminfo", encoding="ascii") as file:
        memory_kib = int(file.readline().split()[1])
    compiler = run(["g++", "--version"]).splitlines()
    return {
        "cpu": cpu,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "compiler": compiler[0] if compiler else "unknown",
        "python": platform.python_version(),
    }


def file_system_of(path):
    """Returns the file system type of `path`, as `df` prints it."""
    output = subprocess.run(["df", "--output=fstype", path], capture_output=True, text=True,
                            timeout=10).stdout.split()
    return output[-1] if output else "unknown"


def write_private_file(path, text):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w",
              encoding="utf-8") as file:
        file.write(text)


def stop_process(process, timeout=30):
    """Stops a child with SIGTERM, or SIGKILL when it does not exit in time."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class Simulator:
    """`podsession simulate-runpod` on a loopback port, with its own API key."""

    def __init__(self, binary, workdir, boot_seconds, extra_arguments=()):
        self.binary = binary
        self.boot_seconds = boot_seconds
        self.extra_arguments = list(extra_arguments)
        self.key_file = os.path.join(workdir, "runpod-api-key")
        self._api_key = secrets.token_urlsafe(32)
        write_private_file(self.key_file, self._api_key + "\n")
        self.log_path = os.path.join(workdir, "simulator.log")
        self.process = None
        self.base_url = ""

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "simulate-runpod", "--listen", "127.0.0.1:0", "--api-key-file",
                 self.key_file, "--boot-seconds", str(self.boot_seconds), "--log-level", "warn",
                 *self.extra_arguments],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                preexec_fn=_die_with_parent)
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(15):
                self.stop()
                raise RuntimeError("simulate-runpod printed no address within 15 s")
        address = self.process.stdout.readline().decode().strip()
        if not re.fullmatch(r"127\.0\.0\.1:\d+", address):
            self.stop()
            raise RuntimeError(f"simulate-runpod printed {address!r}, not 127.0.0.1:PORT")
        self.base_url = "http://" + address
        return self

    def stop(self):
        stop_process(self.process)

    def get(self, path, timeout=60):
        """Returns the body of an authenticated GET as bytes."""
        request = urllib.request.Request(self.base_url + path)
        request.add_header("Authorization", "Bearer " + self._api_key)
        with _opener.open(request, timeout=timeout) as response:
            return response.read()

    def state(self):
        """Returns the admin state: every pod (with env) and call counts. The
        env contains tokens: callers must never print it."""
        return json.loads(self.get("/_sim/state"))

    def calls(self):
        return self.state()["calls"]


class Controller:
    """One `podsession run --provider runpod` process in directory mode."""

    def __init__(self, binary, workdir, sessions_dir, simulator, arguments=(), label="controller"):
        self.binary = binary
        self.sessions_dir = sessions_dir
        self.arguments = ["--provider", "runpod", "--runpod-base-url", simulator.base_url,
                          "--runpod-api-key-file", simulator.key_file, *arguments]
        self.log_path = os.path.join(workdir, label + ".log")
        self.process = None
        self.metrics_address = ""
        self.started_at = 0.0

    def start(self):
        self.started_at = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [self.binary, "run", "--sessions-dir", self.sessions_dir, "--listen",
                 "127.0.0.1:0", *self.arguments],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)
        match = wait_until(
            lambda: self.process.poll() is not None
            or re.search(r"serving metrics and health address=(\S+)", self._log_head()),
            60, "the controller's listen address in its log")
        if self.process.poll() is not None:
            raise RuntimeError(f"the controller exited with status {self.process.returncode}")
        self.metrics_address = match.group(1)
        return self

    def _log_head(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read(65536)

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        stop_process(self.process)

    def metrics(self):
        """Returns every series of /metrics as {series: value}."""
        with _opener.open(f"http://{self.metrics_address}/metrics", timeout=30) as response:
            text = response.read().decode()
        series = {}
        for line in text.splitlines():
            if line.startswith("#") or not line:
                continue
            name, _, value = line.rpartition(" ")
            series[name] = float(value)
        return series

    def provider_requests(self):
        """Returns podsession_provider_requests_total as {(operation, code): count}."""
        pattern = re.compile(
            r'podsession_provider_requests_total\{(?=.*operation="([^"]+)")(?=.*code="([^"]+)").*\}')
        result = {}
        for name, value in self.metrics().items():
            match = pattern.fullmatch(name)
            if match and value:
                result[(match.group(1), match.group(2))] = int(value)
        return result


def session_document(name, idle_ttl, touched_at=None, namespace=None):
    """Returns one PodSession document in block style, as an app writes it."""
    lines = ["apiVersion: podsession.io/v1alpha1", "kind: PodSession", "metadata:",
             f"  name: {name}"]
    if namespace:
        lines.append(f"  namespace: {namespace}")
    if touched_at is not None:
        lines += ["  annotations:", f'    podsession.io/last-touched: "{touched_at}"']
    lines += ["spec:", f'  userId: "{name}"', "  image: ghcr.io/example/inference:1.0",
              "  gpu:", "    types: [rtx-4090]", "  ports:", "    - {port: 8000, protocol: http}",
              "  auth: bearer", f"  idleTTLSeconds: {idle_ttl}"]
    return "\n".join(lines) + "\n"


def write_atomically(path, text):
    """Replaces a file with a temporary file and a rename, as a careful app does.
    The temporary name is hidden, so the controller never reads it."""
    directory, filename = os.path.split(path)
    temporary = os.path.join(directory, f".{filename}.tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def print_json(result, path=None):
    text = json.dumps(result, indent=2, sort_keys=True)
    print(text)
    if path:
        with open(path, "w", encoding="utf-8") as file:
            file.write(text + "\n")
