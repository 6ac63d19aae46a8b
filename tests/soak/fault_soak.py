#!/usr/bin/env python3
"""Fault soak of directory mode: hundreds of sessions against a simulator
that fails every kind of request, then the controller's invariants once the
faults stop and the state has converged.

The simulator (`podsession simulate-runpod`, its own process) starts with a
fault plan on every operation. As shares of all API requests: 10% get 429
with `Retry-After: 1`, 15% get 503 without effect, 15% take effect and then
get 500, 5% take effect and lose their response (the connection closes
without a reply). Every list leaves out pods younger than 3 s, and a quarter
of the lists pods younger than 8 s. 5% of the requests wait 0.3 to 2 s before
they are handled, and 1% wait 4 to 6 s, longer than the controller's 3 s
request timeout, so the request takes effect after the client gave up. Its
rate limit is set far above what the soak sends.

While faulted, the driver writes --sessions session files at once, in three
groups:
  kept      TTL of an hour, never touched;
  touched   TTL of 30 s, touched every 5 to 10 s (atomically) from creation
            to the end;
  expiring  TTL of 5 to 12 s, never touched, so it expires during the soak.
Over the fault phase it deletes a tenth of the files and adds a tenth more,
at moments drawn from the seed, up to its last second. Names are never
reused (the crash soak covers reuse). Every few seconds it checks what must
hold at every moment:
  - no duplicate: at most one pod was ever created per session;
  - nothing marked gone early: a pod that runs in two reads of the simulator
    around a read of the files has its session's status file, of the same
    UID, without terminatedAt.
Then it clears the faults, waits a bounded time for convergence and checks:
  - every kept and touched session Running on exactly one RUNNING pod, every
    expiring one Expired with no live pod, every deleted one released (no
    status or token file) with no live pod;
  - no pod of ours without a Running session;
  - every live pod's session has its token file, mode 0600, equal to the
    pod's env token (compared, never printed);
  - no cull: no touched session Expired while its touches stayed in time;
  - no create storm: pods created at most one per session declared, and no
    create or terminate while three more lists pass once converged;
  - two pods of another controller id, planted at the start under the names
    of two of the soak's sessions, neither terminated nor adopted;
  - no token or API key, and no critical line, in any log.
The truth comes from the simulator's admin API (`/_sim/state`,
`/_sim/faults`, `/_sim/requests`), not from the controller.

The fault plan, the session groups, the moments of every change and the
names deleted come from --seed, printed at the start and at the end. The
interleaving of requests does not, so the simulator's draws land on other
requests in a rerun, and the touches follow the clock: the same seed replays
the same script, not the same race.

Usage:
  PODSESSION_BINARY=build/podsession /usr/bin/python3 tests/soak/fault_soak.py \\
      [--seed N] [--sessions 500] [--fault-seconds 240] [--converge-timeout 180]
scripts/soak.sh --fault-soak runs the long version; CTest runs a short one
(label soak).

Exit status: 0 when every invariant held, 1 on a violation (the seed and the
state are printed), 2 on a usage error.
"""

import argparse
import collections
import json
import os
import random
import stat
import sys
import time

import yaml

import soaklib
from soaklib import Violation, harness

# libyaml's loader parsed a PodSession file 8 times faster than the pure
# Python one on the machine of docs/benchmarks.md; that one is the fallback.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

POD_PREFIX = "psn-default-"
# Pods of another controller id, under names of the soak's own sessions: the
# controller must neither adopt nor terminate them.
OTHER_PODS = ("psn-other-default-f0001-0a0b0c0d", "psn-other-default-f0002-0a0b0c0d")
TOKEN_ENV = ("ATLAS_PRESHARED_KEY", "ATLAS_SIGNING_SECRET")

# Session groups, with their share of the sessions written.
GROUP_SHARES = {"kept": 0.6, "touched": 0.2, "expiring": 0.2}
KEPT_TTL = 3600
TOUCHED_TTL = 30
# Seconds between two touches of one touched session, well inside TOUCHED_TTL.
TOUCH_GAP = (5.0, 10.0)
EXPIRING_TTLS = (5, 8, 12)
# Files deleted, and files added, during the fault phase, each as a share of
# --sessions.
CHANGE_SHARE = 0.1

# Shares of all API requests that get each fault.
RATE_LIMITED_SHARE = 0.10
ERROR_SHARE = 0.15
ERROR_AFTER_EFFECT_SHARE = 0.15
DROPPED_RESPONSE_SHARE = 0.05

# The controller's timing. The create settle time must exceed the longest
# latency spike plus the longest listing lag, 6 + 8 s: a create whose response
# was lost is created again only once its pod could have been listed.
REQUEST_TIMEOUT_SECONDS = 3
CONTROLLER_FLAGS = {"--resync-interval": "2s", "--poll-interval": "1s",
                    "--rescan-interval": "5s", "--orphan-grace": "15s",
                    "--create-settle": "20s",
                    "--runpod-request-timeout": f"{REQUEST_TIMEOUT_SECONDS}s"}
BOOT_SECONDS = 2
# Far above what the soak sends, so that the fault plan's 429s are the only ones.
SIMULATOR_RATE_LIMIT = "minute=1000000/60"

# Seconds between the checks of the fault phase, and between polls while
# converging. Each check reads every status file and the simulator twice.
CHECK_INTERVAL = 3.0
CONVERGE_POLL_INTERVAL = 1.0
# Bound of the wait for three more lists once converged.
QUIET_TIMEOUT = 20


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int,
                        help="seed of the fault plan and the driver's changes (default: random)")
    parser.add_argument("--sessions", type=int, default=500,
                        help="session files written at the start of the fault phase")
    parser.add_argument("--fault-seconds", type=float, default=240,
                        help="length of the fault phase, in seconds")
    parser.add_argument("--converge-timeout", type=float, default=180,
                        help="seconds to wait for convergence once the faults are cleared")
    parser.add_argument("--controller-flag", action="append", default=[], metavar="FLAG=VALUE",
                        help="replace or add a flag of `podsession run`, for example "
                             "--controller-flag=--create-settle=2s; repeatable")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--binary", default=os.environ.get("PODSESSION_BINARY", ""),
                        help="the podsession binary (default: $PODSESSION_BINARY)")
    arguments = parser.parse_args(argv)

    # The simulator reads a plan's seed as a double, which is exact up to 2^53.
    if arguments.seed is not None and not 0 <= arguments.seed <= 2**53:
        parser.error(f"--seed {arguments.seed} is out of range 0..2^53")
    if arguments.sessions < 10:
        parser.error("--sessions must be at least 10")
    if arguments.fault_seconds <= 0 or arguments.converge_timeout <= 0:
        parser.error("--fault-seconds and --converge-timeout must be positive")

    arguments.controller_flags = dict(CONTROLLER_FLAGS)
    for item in arguments.controller_flag:
        flag, separator, value = item.partition("=")
        if not flag.startswith("--") or not separator:
            parser.error(f"--controller-flag {item!r} is not --FLAG=VALUE")
        arguments.controller_flags[flag] = value
    return arguments


def fault_plan(seed):
    """Returns the simulator's fault plan, with each rule's label for the summary.

    Rules that end a request (`error`) stop the simulator's check, so each
    probability is the target share divided by the share of requests still
    unanswered at that rule. `errorAfterEffect` does not stop the check: a
    request that both rules pick loses its response, so slightly fewer than
    15% of the requests get the 500.
    """
    unanswered = 1.0 - RATE_LIMITED_SHARE
    error_probability = ERROR_SHARE / unanswered
    unanswered -= ERROR_SHARE
    rules = [
        ("latency spike", {"fault": "delay", "delayMs": 300, "delayMaxMs": 2000,
                           "probability": 0.05}),
        ("latency past the request timeout",
         {"fault": "delay", "delayMs": 4000, "delayMaxMs": 6000, "probability": 0.01}),
        ("list lag 3 s", {"operation": "listPods", "fault": "listLag", "lagMs": 3000}),
        ("list lag 8 s", {"operation": "listPods", "fault": "listLag", "lagMs": 8000,
                          "probability": 0.25}),
        ("429", {"fault": "error", "status": 429, "retryAfterSeconds": 1,
                 "probability": RATE_LIMITED_SHARE}),
        ("503 without effect", {"fault": "error", "status": 503,
                                "probability": error_probability}),
        ("500 after effect", {"fault": "errorAfterEffect", "status": 500,
                              "probability": ERROR_AFTER_EFFECT_SHARE / unanswered}),
        ("response lost after effect", {"fault": "dropResponse",
                                        "probability": DROPPED_RESPONSE_SHARE / unanswered}),
    ]
    labels = [label for label, _ in rules]
    return labels, {"seed": seed, "rules": [rule for _, rule in rules]}


class FaultSimulator(harness.Simulator):
    """The soak's simulator: a fault plan, a rate limit far above the soak's
    requests, and helpers to plant another client's pods and read ours."""

    def __init__(self, workdir, plan_file):
        super().__init__(workdir, BOOT_SECONDS,
                         ["--faults", plan_file, "--rate-limit", SIMULATOR_RATE_LIMIT])

    def plant(self, name):
        """Adds a RUNNING pod, created an hour ago, as another client would,
        and returns its id."""
        body = {"name": name, "image": "ghcr.io/example/other:1",
                "gpu": {"id": harness.GPU_4090, "count": 1}, "ports": ["8000/http"],
                "env": {}, "status": "RUNNING",
                "createdAt": harness.format_time(time.time() - 3600)}
        status, created = self.request("POST", "/_sim/pods", body)
        if status != 201:
            raise AssertionError(f"POST /_sim/pods returned {status}: {created}")
        return created["id"]

    def admin(self, method, path):
        status, body = self.request(method, path)
        if status >= 300:
            raise AssertionError(f"{method} {path} returned {status}: {body}")
        return body

    def our_pods(self):
        return [pod for pod in self.state()["pods"] if pod["name"].startswith(POD_PREFIX)]


class Session:
    """The driver's record of one session file it wrote."""

    def __init__(self, name, group, ttl, now):
        self.name = name
        self.group = group
        self.ttl = ttl
        self.present = True
        self.last_touch = now if group == "touched" else None
        self.next_touch = None
        # Whether every gap between touches, from the creation on, stayed well
        # inside the TTL, so that the session must never have expired.
        self.touched_in_time = True

    def document(self):
        return soaklib.session_document(self.name, self.ttl, self.last_touch)


class Files:
    """One read of every status and token file, by session name."""

    def __init__(self, sessions_dir):
        self.documents = {}
        self.tokens = {}
        self.token_modes = {}
        root = os.path.join(sessions_dir.path, ".status", "default")
        try:
            filenames = os.listdir(root)
        except FileNotFoundError:
            filenames = []
        for filename in filenames:
            if filename.startswith("."):
                continue
            name, _, extension = filename.rpartition(".")
            path = os.path.join(root, filename)
            try:
                if extension == "yaml":
                    with open(path, encoding="utf-8") as file:
                        self.documents[name] = yaml.load(file, Loader=YAML_LOADER)
                elif extension == "token":
                    with open(path, encoding="utf-8") as file:
                        self.tokens[name] = file.read()
                    self.token_modes[name] = stat.S_IMODE(os.stat(path).st_mode)
            except FileNotFoundError:
                # Released between the listing and the read.
                continue

    def status(self, name):
        return (self.documents.get(name) or {}).get("status") or {}

    def uid(self, name):
        return ((self.documents.get(name) or {}).get("metadata") or {}).get("uid")


class Soak:
    def __init__(self, arguments, workdir):
        self.arguments = arguments
        # One generator per purpose: how many touches happen depends on timing,
        # so touches draw from their own, and the groups, the change moments and
        # the deleted names repeat exactly for a seed.
        self.session_random = random.Random(f"{arguments.seed}/sessions")
        self.change_random = random.Random(f"{arguments.seed}/changes")
        self.touch_random = random.Random(f"{arguments.seed}/touches")
        self.workdir = workdir
        self.sessions_dir = harness.SessionsDir(os.path.join(workdir, "sessions"))
        self.rule_labels, plan = fault_plan(arguments.seed)
        plan_file = os.path.join(workdir, "faults.json")
        with open(plan_file, "w", encoding="utf-8") as file:
            json.dump(plan, file, indent=2)
        self.simulator = FaultSimulator(workdir, plan_file)
        self.controller = None
        self.sessions = {}  # name -> Session
        self.counter = 0
        self.operations = collections.Counter()
        self.tokens_seen = set()
        self.other_pod_ids = []
        self.checks = 0
        self.faults_applied = []
        self.cleared_at_ms = None
        self.converge_seconds = None
        # When every session written at the start had reached Running or
        # Expired, in seconds into the fault phase.
        self.initial_settled_seconds = None
        self.quiet_calls = None

    # Changes ----------------------------------------------------------------

    def create(self):
        self.counter += 1
        name = f"f{self.counter:04d}"
        group = self.session_random.choices(list(GROUP_SHARES),
                                            weights=list(GROUP_SHARES.values()))[0]
        ttl = {"kept": KEPT_TTL, "touched": TOUCHED_TTL}.get(group)
        if ttl is None:
            ttl = self.session_random.choice(EXPIRING_TTLS)
        now = time.time()
        session = Session(name, group, ttl, now)
        if group == "touched":
            session.next_touch = now + self.touch_random.uniform(*TOUCH_GAP)
        self.sessions[name] = session
        self.sessions_dir.write(name + ".yaml", session.document())
        self.operations["create"] += 1

    def touch_due(self):
        now = time.time()
        for session in self.present_sessions():
            if session.next_touch is None or now < session.next_touch:
                continue
            if now - session.last_touch > session.ttl - 5:
                # The driver fell behind: the session may expire, and a late
                # touch does not revive it.
                session.touched_in_time = False
            session.last_touch = now
            session.next_touch = now + self.touch_random.uniform(*TOUCH_GAP)
            self.sessions_dir.write(session.name + ".yaml", session.document())
            self.operations["touch"] += 1

    def delete(self):
        present = self.present_sessions()
        if not present:
            return
        session = self.change_random.choice(present)
        session.present = False
        self.sessions_dir.remove(session.name + ".yaml")
        self.operations["delete"] += 1

    def present_sessions(self):
        return [session for session in self.sessions.values() if session.present]

    def change_schedule(self):
        """Returns the (seconds into the fault phase, change) list, sorted."""
        count = round(self.arguments.sessions * CHANGE_SHARE)
        length = self.arguments.fault_seconds
        # Up to the end of the phase, so that some changes are in flight when
        # the faults are cleared.
        moment = self.change_random.uniform
        changes = [(moment(0.05 * length, length), "delete") for _ in range(count)]
        changes += [(moment(0.05 * length, length), "add") for _ in range(count)]
        return sorted(changes)

    # Observation ------------------------------------------------------------

    def snapshot(self):
        """Reads the simulator's pods, every status and token file, and the pods
        again. Returns the ids of the pods of the first read, the files, and the
        pods of the second read.

        A pod in both reads and live in the second was live while the files
        were read, because a deleted pod never comes back.
        """
        earlier = {pod["id"] for pod in self.simulator.our_pods()}
        files = Files(self.sessions_dir)
        self.tokens_seen.update(token for token in files.tokens.values() if token)
        return earlier, files, self.simulator.our_pods()

    def check_always(self, earlier, files, pods):
        """Checks what must hold at every moment, faults or not."""
        self.checks += 1
        created = collections.defaultdict(list)
        for pod in pods:
            created[pod["env"].get("PODSESSION_NAME", "")].append(pod["id"])
        for name, pod_ids in created.items():
            if name not in self.sessions:
                raise Violation(f"foreign pod: pods {sorted(pod_ids)} carry session name "
                                f"{name!r}, which the driver never declared")
            if len(pod_ids) > 1:
                raise Violation(f"duplicate: {len(pod_ids)} pods were created for session "
                                f"{name}: {sorted(pod_ids)}")

        for pod in pods:
            if pod["deleted"] or pod["id"] not in earlier:
                continue
            name = pod["env"].get("PODSESSION_NAME", "")
            uid = pod["env"].get("PODSESSION_UID", "")
            if name not in files.documents:
                raise Violation(f"status gone early: pod {pod['id']} of session {name} runs, "
                                f"but the session's status file is absent")
            if files.uid(name) != uid:
                raise Violation(f"status gone early: pod {pod['id']} of session {name} "
                                f"(UID {uid}) runs, but the status file has UID "
                                f"{files.uid(name)}")
            terminated_at = files.status(name).get("terminatedAt")
            if terminated_at:
                raise Violation(f"terminatedAt early: session {name} has terminatedAt "
                                f"{terminated_at} while pod {pod['id']} runs")

    def moving(self, files, pods):
        """Returns None once converged, else what still moves."""
        live = collections.defaultdict(list)
        for pod in pods:
            if not pod["deleted"]:
                live[pod["env"].get("PODSESSION_NAME", "")].append(pod)
        for session in self.sessions.values():
            name = session.name
            if not session.present:
                if name in files.documents or name in files.tokens:
                    return f"{name}: deleted, status or token file still present"
                if live.get(name):
                    return f"{name}: deleted, pod still live"
                continue
            status = files.status(name)
            phase = status.get("phase")
            if phase == "Failed":
                raise Violation(f"session {name} failed: reason={status.get('reason')} "
                                f"message={status.get('message')}")
            pods_of_session = live.get(name, [])
            if phase == "Running":
                if session.group == "expiring":
                    return f"{name}: expiring, still Running"
                if len(pods_of_session) != 1 or pods_of_session[0]["id"] != status.get("podId"):
                    return (f"{name}: Running with live pods "
                            f"{[pod['id'] for pod in pods_of_session]}")
                if pods_of_session[0]["status"] != "RUNNING":
                    return f"{name}: pod {pods_of_session[0]['status']}"
            elif phase == "Expired":
                if pods_of_session:
                    return f"{name}: Expired with live pods"
                if session.group == "kept":
                    raise Violation(f"cull: session {name} with a TTL of {session.ttl} s is "
                                    f"Expired, reason={status.get('reason')}")
            else:
                return f"{name}: phase {phase}"
        for name, pods_of_name in live.items():
            session = self.sessions.get(name)
            if session is None or not session.present:
                return f"pods {[pod['id'] for pod in pods_of_name]} of {name} have no session"
        return None

    def check_converged(self, files, pods):
        """Checks what must hold once converged."""
        now = time.time()
        for pod in pods:
            if pod["deleted"]:
                continue
            name = pod["env"].get("PODSESSION_NAME", "")
            if name not in files.tokens:
                raise Violation(f"lost token: session {name} has a live pod {pod['id']} but no "
                                f"token file")
            if files.token_modes[name] != 0o600:
                raise Violation(f"token file mode: session {name}'s token file has mode "
                                f"{files.token_modes[name]:o}, not 600")
            pod_token = next((pod["env"][key] for key in TOKEN_ENV if key in pod["env"]), None)
            # Compared without printing either value.
            if pod_token != files.tokens[name]:
                raise Violation(f"lost token: the token file of session {name} differs from the "
                                f"env token of its pod {pod['id']}")
        for session in self.present_sessions():
            if session.group != "touched" or not session.touched_in_time:
                continue
            status = files.status(session.name)
            # One second of margin: touch values are written in whole seconds.
            if status.get("phase") == "Expired" and now < session.last_touch + session.ttl - 1:
                raise Violation(f"cull: session {session.name} was touched "
                                f"{now - session.last_touch:.1f} s ago with a TTL of "
                                f"{session.ttl} s, but is Expired")
        for session in self.present_sessions():
            reason = files.status(session.name).get("reason")
            if session.group == "expiring" and reason != "IdleTimeout":
                raise Violation(f"session {session.name} expired with reason {reason}, "
                                f"not IdleTimeout")

        pods_created = len(pods)
        if pods_created > len(self.sessions):
            raise Violation(f"create storm: {pods_created} pods for {len(self.sessions)} "
                            f"sessions declared")

        others = {pod["id"]: pod for pod in self.simulator.state()["pods"]
                  if pod["id"] in self.other_pod_ids}
        for pod_id in self.other_pod_ids:
            if others.get(pod_id, {}).get("deleted", True):
                raise Violation(f"another controller's pod {pod_id} was terminated")
        adopted = {status.get("podId") for status in
                   (files.status(name) for name in files.documents)} & set(self.other_pod_ids)
        if adopted:
            raise Violation(f"another controller's pods {sorted(adopted)} were adopted")

    def check_logs(self):
        soaklib.check_logs(self.controller, self.simulator, self.tokens_seen,
                           forbid_critical=True)

    # Phases -----------------------------------------------------------------

    def start(self):
        self.simulator.start()
        for name in OTHER_PODS:
            self.other_pod_ids.append(self.simulator.plant(name))
        flags = [item for flag_value in self.arguments.controller_flags.items()
                 for item in flag_value]
        self.controller = harness.Controller(
            self.workdir, self.sessions_dir.path,
            ["--provider", "runpod", "--runpod-base-url", self.simulator.base_url,
             "--runpod-api-key-file", self.simulator.key_file, *flags])
        self.controller.start()

    def fault_phase(self):
        """Creates every session, then touches, deletes and adds while faulted."""
        started = time.monotonic()
        for _ in range(self.arguments.sessions):
            self.create()
        changes = collections.deque(self.change_schedule())
        next_check = time.monotonic()
        end = started + self.arguments.fault_seconds
        while time.monotonic() < end:
            self.apply_changes(changes, time.monotonic() - started)
            self.touch_due()
            if time.monotonic() >= next_check:
                earlier, files, pods = self.snapshot()
                self.check_always(earlier, files, pods)
                if self.initial_settled_seconds is None and self.initial_settled(files):
                    self.initial_settled_seconds = time.monotonic() - started
                next_check = time.monotonic() + CHECK_INTERVAL
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))
        # Changes due after the last pass go out now, so that every run makes
        # all of them.
        self.apply_changes(changes, self.arguments.fault_seconds)

    def apply_changes(self, changes, elapsed):
        """Applies the scheduled changes due `elapsed` seconds into the phase."""
        while changes and changes[0][0] <= elapsed:
            _, change = changes.popleft()
            if change == "delete":
                self.delete()
            else:
                self.create()

    def initial_settled(self, files):
        """Returns whether every session written at the start is Running,
        Expired or deleted."""
        for index in range(1, self.arguments.sessions + 1):
            session = self.sessions[f"f{index:04d}"]
            if session.present and files.status(session.name).get("phase") not in (
                    "Running", "Expired"):
                return False
        return True

    def clear_faults(self):
        """Records each rule's counters, then removes every rule."""
        plan = self.simulator.admin("GET", "/_sim/faults")
        self.faults_applied = [(label, rule["applied"], rule["matched"])
                               for label, rule in zip(self.rule_labels, plan["rules"])]
        self.cleared_at_ms = int(time.time() * 1000)
        self.simulator.admin("DELETE", "/_sim/faults")

    def converge(self):
        """Waits until nothing moves, checking at every poll."""
        started = time.monotonic()
        deadline = started + self.arguments.converge_timeout
        while True:
            self.touch_due()
            earlier, files, pods = self.snapshot()
            self.check_always(earlier, files, pods)
            moving = self.moving(files, pods)
            if moving is None:
                self.converge_seconds = time.monotonic() - started
                return
            if time.monotonic() >= deadline:
                raise Violation(f"not converged {self.arguments.converge_timeout:g} s after the "
                                f"faults were cleared: {moving}")
            time.sleep(CONVERGE_POLL_INTERVAL)

    def quiet_window(self):
        """Checks that a converged controller creates and terminates nothing
        while three more lists pass."""
        before = self.simulator.calls()
        deadline = time.monotonic() + QUIET_TIMEOUT
        while True:
            self.touch_due()
            after = self.simulator.calls()
            if after["listPods"] >= before["listPods"] + 3:
                break
            if time.monotonic() >= deadline:
                raise Violation(f"fewer than 3 pod lists in {QUIET_TIMEOUT} s once converged: "
                                f"{before['listPods']} then {after['listPods']}")
            time.sleep(0.2)
        self.quiet_calls = {operation: after[operation] - before[operation] for operation in after}
        for operation in ("createPod", "deletePod", "podAction"):
            if self.quiet_calls[operation]:
                raise Violation(f"{self.quiet_calls[operation]} {operation} calls once converged "
                                f"while {self.quiet_calls['listPods']} lists passed")

    def run(self):
        started = time.monotonic()
        self.start()
        self.fault_phase()
        self.clear_faults()
        self.converge()
        self.quiet_window()
        # The state must still be converged after the quiet window.
        earlier, files, pods = self.snapshot()
        self.check_always(earlier, files, pods)
        moving = self.moving(files, pods)
        if moving is not None:
            raise Violation(f"moved again once converged: {moving}")
        self.check_converged(files, pods)
        self.check_logs()
        return time.monotonic() - started, files, pods

    # Report -----------------------------------------------------------------

    def requests_by_operation(self):
        """Returns {phase: {operation: Counter of replies}} from /_sim/requests,
        and whether that log held every request."""
        log = self.simulator.admin("GET", "/_sim/requests")["requests"]
        total = sum(self.simulator.calls().values())
        table = {"faulted": collections.defaultdict(collections.Counter),
                 "cleared": collections.defaultdict(collections.Counter)}
        for record in log:
            phase = "faulted" if record["receivedMs"] < self.cleared_at_ms else "cleared"
            reply = "dropped" if record["dropped"] else str(record["status"])
            table[phase][record["operation"]][reply] += 1
        return table, len(log) >= total

    def expiry_delays(self, files):
        """Returns two sorted lists of seconds after each expired session's
        idle deadline: until the controller marked it Expired (the Ready
        condition's transition), and until its pod was confirmed gone
        (`terminatedAt`)."""
        marked, confirmed = [], []
        for session in self.present_sessions():
            status = files.status(session.name)
            if session.group != "expiring" or not status.get("terminatedAt"):
                continue
            deadline = harness.parse_time(status["readyAt"]) + session.ttl
            ready = harness.condition(status, "Ready") or {}
            if ready.get("reason") == "IdleTimeout":
                marked.append(harness.parse_time(ready["lastTransitionTime"]) - deadline)
            confirmed.append(harness.parse_time(status["terminatedAt"]) - deadline)
        return sorted(marked), sorted(confirmed)

    def summary(self, elapsed, files, pods):
        """Returns the summary: the changes, the faults, the provider calls,
        what converged and when, and the load."""
        groups = collections.Counter(session.group for session in self.sessions.values())
        lines = [f"sessions declared {len(self.sessions)} ({dict(groups)}), "
                 f"operations {dict(self.operations)}"]
        lines.append("faults applied (rule: applied of matched):")
        for label, applied, matched in self.faults_applied:
            lines.append(f"  {label}: {applied} of {matched}")
        lines += self.call_lines()
        lines += self.outcome_lines(files, pods)
        lines.append(f"{self.checks} invariant checks; whole run {elapsed:.0f} s; controller CPU "
                     f"{self.controller_cpu_seconds():.1f} s; load average "
                     f"{' '.join(f'{value:.2f}' for value in os.getloadavg())}")
        return "\n".join("fault_soak: " + line for line in lines)

    def call_lines(self):
        """Returns the summary's lines about provider calls and their replies."""
        table, complete = self.requests_by_operation()
        state = self.simulator.state()
        lines = [f"provider calls by operation: {state['calls']}"]
        for phase, by_operation in table.items():
            lines.append(f"  replies while {phase}"
                         f"{'' if complete else ' (the simulator kept only the latest 10,000)'}:")
            for operation, replies in sorted(by_operation.items()):
                lines.append(f"    {operation}: {dict(sorted(replies.items()))}")
        rejected = {limit["name"]: limit["rejected"] for limit in state["rateLimits"]}
        lines.append(f"requests over the simulator's quota: {rejected}")
        return lines

    def outcome_lines(self, files, pods):
        """Returns the summary's lines about pods, expiry and convergence."""
        lines = []
        pods_created = len(pods)
        live = sum(1 for pod in pods if not pod["deleted"])
        lines.append(f"pods created {pods_created} for {len(self.sessions)} sessions declared, "
                     f"{live} live at the end, at most one per session; the other controller's "
                     f"{len(self.other_pod_ids)} pods untouched")
        if self.initial_settled_seconds is not None:
            lines.append(f"the {self.arguments.sessions} sessions written at the start were all "
                         f"Running, Expired or deleted {self.initial_settled_seconds:.0f} s into "
                         f"the fault phase")
        else:
            lines.append(f"the {self.arguments.sessions} sessions written at the start were not "
                         f"all Running, Expired or deleted before the faults were cleared")
        for delays, event in zip(self.expiry_delays(files),
                                 ("marked Expired", "pod confirmed gone")):
            if delays:
                lines.append(f"{len(delays)} expiring sessions, {event} after the idle deadline "
                             f"by: median {delays[len(delays) // 2]:.0f} s, max "
                             f"{delays[-1]:.0f} s (times in whole seconds)")
        lines.append(f"converged {self.converge_seconds:.1f} s after the faults were cleared; "
                     f"calls while 3 more lists passed: {self.quiet_calls}")
        return lines

    def controller_cpu_seconds(self):
        """Returns the controller's user plus system CPU time so far."""
        with open(f"/proc/{self.controller.process.pid}/stat", encoding="ascii") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def describe(self):
        parts = [self.sessions_dir.describe()]
        try:
            parts.insert(0, f"simulator calls: {self.simulator.calls()}")
        except (OSError, AssertionError) as error:
            parts.insert(0, f"simulator state unavailable: {error}")
        if self.controller is not None:
            parts.append(self.controller.log_tail(60))
        return "\n".join(parts)


def report(soak, elapsed, files, pods):
    return soak.summary(elapsed, files, pods)


def main(argv):
    arguments = parse_arguments(argv)
    settings = (f"sessions={arguments.sessions} fault_seconds={arguments.fault_seconds:g}"
                f" converge_timeout={arguments.converge_timeout:g}")
    return soaklib.run("fault_soak", arguments, Soak, settings, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
