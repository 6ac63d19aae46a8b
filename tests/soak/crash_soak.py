#!/usr/bin/env python3
"""Crash soak of directory mode: random session changes, SIGKILL at random
moments, and the controller's invariants checked after every restart.

Each cycle applies one to three operations drawn from a seeded generator:
  create  a new session file, either kept (long TTL, touched by later cycles)
          or expiring (TTL of a few seconds, never touched);
  reuse   a new session file under the name of a deleted one, once the
          controller has released it (see --fast-reuse);
  touch   rewrite a kept session's last-touched annotation (atomically, or in
          place as an editor without atomic saves does);
  delete  remove a session file.
Then it waits a random moment (half the time under 50 ms) and, with
--kill-probability, kills the controller with SIGKILL and starts it again,
sometimes twice in a row, the second time during the restart's own
adoption. Then it waits until the state is stable and checks:
  - no duplicate: at most one pod was ever created per session UID, and at
    most one is live;
  - no orphan: every live pod of ours belongs to a session file that is
    Running on it, once --orphan-grace and a resync have passed;
  - no lost token: every live pod's session has its token file, equal to the
    pod's env token (read through /_sim/state and never printed);
  - nothing marked gone early: no status file with terminatedAt, and no
    removed status file, while the session's pod still runs. This is also
    checked at every poll while waiting, with the simulator read before and
    after the files;
  - no cull: a session touched since its creation at intervals well inside
    its TTL, and less than its TTL ago, is not Expired;
  - no token or API key in any controller or simulator log.

The operations and kill delays come from --seed (printed at start); the
interleaving with the controller's own timers does not, so a rerun with the
same seed replays the same script, not always the same race.

Usage:
  PODSESSION_BINARY=build/podsession /usr/bin/python3 tests/soak/crash_soak.py \\
      [--seed N] [--cycles 200] [--max-seconds S]
scripts/soak.sh runs the long version; CTest runs a short one (label soak).

Exit status: 0 when every invariant held, 1 on a violation (the seed and the
state are printed), 2 on a usage error.
"""

import argparse
import os
import random
import sys
import time

import soaklib
from soaklib import Violation, harness

KEPT_TTL = 60
EXPIRING_TTLS = (2, 3, 4)
# Bounds of the waits, in seconds. Stability needs at most the orphan grace,
# the create settle, a few resyncs and a boot; the bound only catches a hang.
STABLE_TIMEOUT = 45
# The simulator allows 600 requests a minute. Polling at 200 ms used them up
# within a minute. At 500 ms a minute with many restarts, each of which lists
# and fetches pods, still does now and then. A terminate that meets 429 then
# stalls its cycle for up to about 15 s of backoff.
CONTROLLER_ARGUMENTS = ["--resync-interval", "1s", "--poll-interval", "500ms",
                        "--rescan-interval", "1s", "--orphan-grace", "3s",
                        "--create-settle", "3s", "--log-level", "debug"]
TOKEN_ENV = ("ATLAS_PRESHARED_KEY", "ATLAS_SIGNING_SECRET")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, help="seed of the operations (default: random)")
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=0,
                        help="stop after the cycle that passes this many seconds (0: no limit)")
    parser.add_argument("--kill-probability", type=float, default=0.6,
                        help="chance that a cycle kills the controller")
    parser.add_argument("--max-sessions", type=int, default=12,
                        help="session files present at once, at most")
    parser.add_argument("--boot-seconds", type=float, default=0.5)
    parser.add_argument("--faults", metavar="FILE",
                        help="fault plan for simulate-runpod, applied besides the kills")
    parser.add_argument("--fast-reuse", action="store_true",
                        help="reuse a deleted session's name before the controller released "
                             "it; when the controller misses the deletion, the new session "
                             "keeps the old UID and phase and the checks fail")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--binary", default=os.environ.get("PODSESSION_BINARY", ""),
                        help="the podsession binary (default: $PODSESSION_BINARY)")
    return parser.parse_args(argv)


class Session:
    """The driver's record of one session file it wrote."""

    def __init__(self, name, kind, ttl):
        self.name = name
        self.kind = kind  # "kept" or "expiring"
        self.ttl = ttl
        self.present = True
        self.last_touch = None  # wall-clock seconds of the last touch written
        # Whether every gap between touches, from the creation on, stayed well
        # inside the TTL, so that the session must never have expired.
        self.touched_in_time = True

    def document(self):
        return soaklib.session_document(self.name, self.ttl, self.last_touch)


class Soak:
    def __init__(self, arguments, workdir):
        self.arguments = arguments
        self.random = random.Random(arguments.seed)
        self.workdir = workdir
        self.sessions_dir = harness.SessionsDir(os.path.join(workdir, "sessions"))
        extra = ["--faults", arguments.faults] if arguments.faults else []
        self.simulator = harness.Simulator(workdir, arguments.boot_seconds, extra)
        self.controller = None
        self.sessions = {}  # name -> Session, the latest file written under that name
        self.deleted_names = []
        self.counter = 0
        self.kills = 0
        self.operations = {"create": 0, "touch": 0, "delete": 0, "reuse": 0}
        self.tokens_seen = set()
        self.slowest_cycle = 0.0

    # Operations -----------------------------------------------------------

    def create(self, reuse=False):
        # An app that reuses a name waits until the controller released the
        # old session (its status and token files are gone). A file deleted and
        # created again before that, or while the controller is down, is the
        # same file to the controller: the old UID and its terminal phase stay.
        released = [name for name in self.deleted_names
                    if self.arguments.fast_reuse
                    or not (os.path.exists(self.sessions_dir.status_path(name))
                            or os.path.exists(self.sessions_dir.token_path(name)))]
        if reuse and released:
            name = self.random.choice(released)
            self.deleted_names.remove(name)
            self.operations["reuse"] += 1
        else:
            self.counter += 1
            name = f"s{self.counter:04d}"
        if self.random.random() < 0.5:
            session = Session(name, "kept", KEPT_TTL)
            session.last_touch = time.time()
        else:
            session = Session(name, "expiring", self.random.choice(EXPIRING_TTLS))
        self.sessions[name] = session
        self.sessions_dir.write(name + ".yaml", session.document())
        self.operations["create"] += 1

    def touch(self):
        kept = [session for session in self.present_sessions() if session.kind == "kept"]
        if not kept:
            return
        session = self.random.choice(kept)
        now = time.time()
        if now - session.last_touch > session.ttl - 5:
            # It may have expired since: a late touch does not revive it.
            session.touched_in_time = False
        session.last_touch = now
        if self.random.random() < 0.8:
            self.sessions_dir.write(session.name + ".yaml", session.document())
        else:
            self.sessions_dir.write_in_place(session.name + ".yaml", session.document())
        self.operations["touch"] += 1

    def delete(self):
        present = self.present_sessions()
        if not present:
            return
        session = self.random.choice(present)
        session.present = False
        self.sessions_dir.remove(session.name + ".yaml")
        self.deleted_names.append(session.name)
        self.operations["delete"] += 1

    def present_sessions(self):
        return [session for session in self.sessions.values() if session.present]

    def apply_random_operations(self):
        for _ in range(self.random.randint(1, 3)):
            present = len(self.present_sessions())
            weights = {"create": 3 if present < self.arguments.max_sessions else 0,
                       "reuse": 1 if present < self.arguments.max_sessions
                       and self.deleted_names else 0,
                       "touch": 3, "delete": 2 if present > 0 else 0}
            choice = self.random.choices(list(weights), weights=list(weights.values()))[0]
            if choice == "create":
                self.create()
            elif choice == "reuse":
                self.create(reuse=True)
            elif choice == "touch":
                self.touch()
            else:
                self.delete()

    # Observation ----------------------------------------------------------

    def our_pods(self):
        return [pod for pod in self.simulator.state()["pods"]
                if pod["name"].startswith("psn-default-")]

    def snapshot(self):
        """Reads the simulator's pods, every status and token file, and the pods
        again. Returns the files, the ids of the pods of the first read, and
        the pods of the second.

        A pod in both reads and live in the second was live while the files
        were read, because a deleted pod never comes back: so its session's
        status file must have been there, without terminatedAt. A pod only in
        the second read may have been created after the files were read.
        """
        earlier = {pod["id"] for pod in self.our_pods()}
        files = {}
        status_root = os.path.join(self.sessions_dir.path, ".status", "default")
        names = set()
        if os.path.isdir(status_root):
            names = {filename.rsplit(".", 1)[0] for filename in os.listdir(status_root)
                     if not filename.startswith(".")}
        for name in names:
            document = self.sessions_dir.document(name)
            token = None
            try:
                token = self.sessions_dir.read_token(name)
            except FileNotFoundError:
                pass
            if token:
                self.tokens_seen.add(token)
            if document is not None or token is not None:
                files[name] = (document, token)
        return files, earlier, self.our_pods()

    def check_always(self, files, earlier, pods):
        """Checks what must hold at every moment, not only once stable."""
        created = {}
        for pod in pods:
            uid = pod["env"].get("PODSESSION_UID", "")
            created.setdefault(uid, []).append(pod["id"])
        for uid, pod_ids in created.items():
            if len(pod_ids) > 1:
                raise Violation(f"duplicate: {len(pod_ids)} pods were created for session UID"
                                f" {uid}: {sorted(pod_ids)}")

        for pod in pods:
            if pod["deleted"] or pod["id"] not in earlier:
                continue
            name = pod["env"].get("PODSESSION_NAME", "")
            uid = pod["env"].get("PODSESSION_UID", "")
            document, _ = files.get(name, (None, None))
            document_uid = ((document or {}).get("metadata") or {}).get("uid")
            if document_uid != uid:
                raise Violation(
                    f"status gone early: pod {pod['id']} of session {name} (UID {uid}) runs, "
                    f"but the session's status file is "
                    f"{'absent' if document is None else 'of UID ' + str(document_uid)}")
            status = document.get("status") or {}
            if status.get("terminatedAt"):
                raise Violation(f"terminatedAt early: session {name} has terminatedAt "
                                f"{status['terminatedAt']} while pod {pod['id']} runs")

    def stable(self, files, pods):
        """Returns None when stable, else what is still moving."""
        live = {}
        for pod in pods:
            if not pod["deleted"]:
                live.setdefault(pod["env"].get("PODSESSION_UID", ""), []).append(pod)
        claimed = set()
        for session in self.sessions.values():
            document, token = files.get(session.name, (None, None))
            if not session.present:
                if document is not None or token is not None:
                    return f"{session.name}: deleted, status or token file still present"
                continue
            status = (document or {}).get("status") or {}
            phase = status.get("phase")
            uid = ((document or {}).get("metadata") or {}).get("uid")
            if phase == "Failed":
                raise Violation(f"session {session.name} failed: reason={status.get('reason')}"
                                f" message={status.get('message')}")
            if phase not in ("Running", "Expired"):
                return f"{session.name}: phase {phase}"
            pods_of_session = live.get(uid, [])
            if phase == "Running":
                if len(pods_of_session) != 1 or pods_of_session[0]["id"] != status.get("podId"):
                    return f"{session.name}: Running with live pods " + \
                        str([pod["id"] for pod in pods_of_session])
                if pods_of_session[0]["status"] != "RUNNING":
                    return f"{session.name}: pod {pods_of_session[0]['status']}"
                claimed.add(uid)
            elif pods_of_session:
                return f"{session.name}: Expired with live pods"
        for uid, pods_of_uid in live.items():
            if uid not in claimed:
                return f"pods {[pod['id'] for pod in pods_of_uid]} of UID {uid} have no session"
        return None

    def check_stable(self, files, pods):
        """Checks what must hold once the state is stable."""
        now = time.time()
        for pod in pods:
            if pod["deleted"]:
                continue
            name = pod["env"].get("PODSESSION_NAME", "")
            _, token = files.get(name, (None, None))
            pod_token = next((pod["env"][key] for key in TOKEN_ENV if key in pod["env"]), None)
            if token is None:
                raise Violation(f"lost token: session {name} has a live pod {pod['id']} "
                                f"but no token file")
            # Compared without printing either value.
            if pod_token != token:
                raise Violation(f"lost token: the token file of session {name} differs from "
                                f"the env token of its pod {pod['id']}")
        for session in self.present_sessions():
            if session.kind != "kept" or not session.touched_in_time:
                continue
            document, _ = files.get(session.name, (None, None))
            status = (document or {}).get("status") or {}
            # One second of margin: touch values are written in whole seconds.
            if status.get("phase") == "Expired" and now < session.last_touch + session.ttl - 1:
                raise Violation(f"cull: session {session.name} was touched "
                                f"{now - session.last_touch:.1f} s ago with a TTL of "
                                f"{session.ttl} s, but is Expired")

    def wait_stable(self):
        deadline = time.monotonic() + STABLE_TIMEOUT
        while True:
            files, earlier, pods = self.snapshot()
            self.check_always(files, earlier, pods)
            moving = self.stable(files, pods)
            if moving is None:
                self.check_stable(files, pods)
                return
            if time.monotonic() >= deadline:
                raise Violation(f"not stable after {STABLE_TIMEOUT} s: {moving}")
            time.sleep(0.05)

    # Controller -----------------------------------------------------------

    def start_controller(self):
        if self.controller is None:
            self.controller = harness.Controller(
                self.workdir, self.sessions_dir.path,
                ["--provider", "runpod", "--runpod-base-url", self.simulator.base_url,
                 "--runpod-api-key-file", self.simulator.key_file, *CONTROLLER_ARGUMENTS])
        self.controller.start()

    def kill_and_restart(self):
        self.controller.kill()
        self.kills += 1
        self.start_controller()
        if self.random.random() < 0.2:
            # A second crash while the restart adopts and lists.
            time.sleep(self.random.uniform(0, 0.5))
            self.controller.kill()
            self.kills += 1
            self.start_controller()

    def check_logs(self):
        soaklib.check_logs(self.controller, self.simulator, self.tokens_seen)

    def describe(self):
        parts = [self.simulator.describe(), self.sessions_dir.describe()]
        if self.controller is not None:
            parts.append(self.controller.log_tail(60))
        return "\n".join(parts)

    def run(self):
        started = time.monotonic()
        self.simulator.start()
        self.start_controller()
        cycle = 0
        for cycle in range(1, self.arguments.cycles + 1):
            cycle_started = time.monotonic()
            self.apply_random_operations()
            # Half the kills land within 50 ms of the change, where the controller
            # writes status and token files and calls the simulator.
            pause = 0.05 if self.random.random() < 0.5 else 0.8
            time.sleep(self.random.uniform(0, pause))
            if self.random.random() < self.arguments.kill_probability:
                self.kill_and_restart()
            self.wait_stable()
            self.slowest_cycle = max(self.slowest_cycle, time.monotonic() - cycle_started)
            if self.arguments.max_seconds and time.monotonic() - started > self.arguments.max_seconds:
                break
        self.check_logs()
        return cycle, time.monotonic() - started


def report(soak, cycles, elapsed):
    return (f"crash_soak: {cycles} cycles in {elapsed:.0f} s (slowest {soak.slowest_cycle:.1f} s),"
            f" {soak.kills} kills, operations {soak.operations}")


def main(argv):
    arguments = parse_arguments(argv)
    settings = f"cycles={arguments.cycles} kill_probability={arguments.kill_probability}"
    return soaklib.run("crash_soak", arguments, Soak, settings, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
