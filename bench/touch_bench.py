#!/usr/bin/env python3
"""Touch throughput in directory mode: an app rewrites the last-touched
annotation in the session files at a fixed rate while some sessions stop
being touched and must expire on time.

Each session has its own file. The driver rewrites files atomically (temporary
file and rename), round robin over the sessions still touched, paced to
--rate touches per second; touch values carry milliseconds, so every touch is
a change. Touching starts before the sessions are created and goes on
throughout, so no session expires while the fleet converges.

For each rate in --rates, after convergence, a window of --window seconds:
  - halfway through, --quitters sessions stop being touched. Each one's
    expiresAt is its last touch plus --ttl, rounded up to a whole second as
    the controller publishes it. The controller's log line that moves it to
    Expired (millisecond timestamps, same system clock) gives how late it
    expired, against expiresAt and against the exact last touch plus TTL;
  - any session still touched that expires is a cull of an active user;
  - the controller's CPU over the window, the reconciles it ran
    (podsession_reconcile_total), and at the end the lag between the last
    touch written for each session and its status.lastTouched.

Example:
  /usr/bin/python3 bench/touch_bench.py --podsession build-bench/podsession \\
      --sessions 1000 --rates 1000 --output /tmp/touch-bench.json
"""

import argparse
import datetime
import os
import re
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

EXPIRED_LINE = re.compile(
    r"^(\S+) .*session phase changed session=default/(\S+) from=\S+ to=Expired reason=IdleTimeout")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--podsession", required=True, help="the podsession binary to measure")
    parser.add_argument("--simulator-binary",
                        help="podsession binary that serves the simulator (default: --podsession)")
    parser.add_argument("--simulator-arg", action="append", default=[],
                        help="extra argument for simulate-runpod (repeatable)")
    parser.add_argument("--controller-arg", action="append", default=[],
                        help="extra argument for podsession run (repeatable)")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--rates", default="1000",
                        help="comma-separated touch rates to measure, in touches per second")
    parser.add_argument("--window", type=float, default=40.0,
                        help="seconds of touching at each rate")
    parser.add_argument("--quitters", type=int, default=50,
                        help="sessions that stop being touched in each window")
    parser.add_argument("--ttl", type=int, default=10, help="idleTTLSeconds of every session")
    parser.add_argument("--boot-seconds", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds to wait for convergence before giving up")
    parser.add_argument("--workdir", help="keep the sessions and logs here")
    parser.add_argument("--output", help="also write the JSON result to this file")
    return parser.parse_args()


def format_touch(seconds):
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_log_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def parse_status_time(text):
    return datetime.datetime.strptime(text.strip().strip('"'), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Toucher(threading.Thread):
    """Rewrites session files at `rate` touches per second, round robin over
    the sessions in `active`, and records the last touch of each."""

    def __init__(self, sessions_dir, names, ttl, rate):
        super().__init__(daemon=True)
        self.sessions_dir = sessions_dir
        self.ttl = ttl
        self.active = list(names)
        self.rate = rate
        self.last_touch = {}
        self.lock = threading.Lock()
        self.written = 0
        self.stopping = threading.Event()

    def touch(self, name):
        now = time.time()
        benchlib.write_atomically(os.path.join(self.sessions_dir, name + ".yaml"),
                                  benchlib.session_document(name, self.ttl, format_touch(now)))
        # The written value has millisecond precision, which is what the controller reads.
        self.last_touch[name] = int(now * 1000) / 1000

    def run(self):
        position = 0
        started = time.monotonic()
        paced = 0
        while not self.stopping.is_set():
            with self.lock:
                if not self.active:
                    break
                position %= len(self.active)
                name = self.active[position]
                position += 1
                self.touch(name)
                self.written += 1
            paced += 1
            due = started + paced / self.rate
            ahead = due - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            elif ahead < -1:
                # Far behind: the machine cannot write this fast. Restart the pacing
                # rather than bursting to catch up.
                started, paced = time.monotonic(), 0

    def set_rate(self, rate):
        with self.lock:
            self.rate = rate

    def drop(self, names):
        """Stops touching `names` and returns the last touch of each."""
        with self.lock:
            self.active = [name for name in self.active if name not in names]
            return {name: self.last_touch[name] for name in names if name in self.last_touch}


def read_status_fields(sessions_dir, name):
    fields = {}
    try:
        with open(os.path.join(sessions_dir, ".status", "default", name + ".yaml"),
                  encoding="utf-8") as file:
            for line in file:
                key, _, value = line.strip().partition(": ")
                if key in ("phase", "lastTouched"):
                    fields[key] = value.strip().strip('"')
    except FileNotFoundError:
        pass
    return fields


def expired_times(log_path):
    times = {}
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            match = EXPIRED_LINE.match(line)
            if match:
                times[match.group(2)] = parse_log_time(match.group(1))
    return times


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summarize(values):
    if not values:
        return None
    return {"min": round(min(values), 3), "p50": round(percentile(values, 0.5), 3),
            "p99": round(percentile(values, 0.99), 3), "max": round(max(values), 3)}


def measure_rate(rate, arguments, toucher, controller, sessions_dir, quitters):
    toucher.set_rate(rate)
    time.sleep(2)  # let the pacing settle at the new rate
    load_before = benchlib.load_average()
    written_before = toucher.written
    reconciles_before = controller.metrics().get('podsession_reconcile_total{result="success"}', 0)
    cpu_before = benchlib.cpu_seconds_of(controller.pid)
    started = time.monotonic()
    started_at = time.time()

    time.sleep(arguments.window / 2)
    deadlines = {name: touched + arguments.ttl
                 for name, touched in toucher.drop(set(quitters)).items()}
    time.sleep(arguments.window / 2)

    elapsed = time.monotonic() - started
    cpu_after = benchlib.cpu_seconds_of(controller.pid)
    written = toucher.written - written_before
    reconciles = controller.metrics().get('podsession_reconcile_total{result="success"}', 0) \
        - reconciles_before
    with toucher.lock:
        last_touch = dict(toucher.last_touch)
        active = list(toucher.active)
    lags = []
    for name in active:
        fields = read_status_fields(sessions_dir, name)
        if "lastTouched" in fields:
            # lastTouched is written in whole seconds, so a lag below 1 s is rounding.
            lags.append(last_touch[name] - parse_status_time(fields["lastTouched"]))

    # Every quitter should be Expired by now: its deadline was window/2 ago.
    expired = expired_times(controller.log_path)
    lateness = []
    lateness_exact = []
    not_expired = []
    for name, deadline in deadlines.items():
        if name not in expired:
            not_expired.append(name)
            continue
        # Milliseconds as integers, so that the rounding up is exact.
        expires_at = -(-round(deadline * 1000) // 1000)
        lateness.append(expired[name] - expires_at)
        lateness_exact.append(expired[name] - deadline)
    culled = sorted(name for name in active if name in expired and expired[name] >= started_at)
    return {
        "rate_requested": rate,
        "touches_written_per_second": round(written / elapsed, 1),
        "reconciles_per_second": round(reconciles / elapsed, 1),
        "window_seconds": round(elapsed, 2),
        "controller_cpu_percent_of_one_core": round(100 * (cpu_after - cpu_before) / elapsed, 1),
        "status_last_touched_lag_seconds": summarize(lags),
        "quitters": len(deadlines),
        "quitters_not_expired": not_expired,
        "expiry_after_expires_at_seconds": summarize(lateness),
        "expiry_after_touch_plus_ttl_seconds": summarize(lateness_exact),
        "quitters_late_by_more_than_1s": sum(1 for value in lateness if value > 1.0),
        "touched_sessions_expired": culled,
        "load_average_before": load_before,
        "load_average_after": benchlib.load_average(),
        "memory_kib": benchlib.memory_of(controller.pid),
    }


def main():
    arguments = parse_arguments()
    rates = [int(value) for value in arguments.rates.split(",")]
    if arguments.quitters * len(rates) >= arguments.sessions:
        sys.exit("touch_bench: --quitters times the number of rates must be below --sessions")
    workdir = arguments.workdir or tempfile.mkdtemp(prefix="podsession-touch-bench-")
    os.makedirs(workdir, exist_ok=True)
    sessions_dir = os.path.join(workdir, "sessions")
    os.makedirs(sessions_dir)
    names = [f"user-{i:05d}" for i in range(arguments.sessions)]
    result = {"sessions": arguments.sessions, "ttl_seconds": arguments.ttl,
              "machine": benchlib.machine_description(),
              "file_system": benchlib.file_system_of(workdir),
              "controller_arguments": arguments.controller_arg,
              "simulator_arguments": arguments.simulator_arg, "rates": []}

    simulator = benchlib.Simulator(arguments.simulator_binary or arguments.podsession, workdir,
                                   arguments.boot_seconds, arguments.simulator_arg)
    controller = None
    toucher = Toucher(sessions_dir, names, arguments.ttl, rates[0])
    try:
        for name in names:
            toucher.touch(name)
        simulator.start()
        controller = benchlib.Controller(arguments.podsession, workdir, sessions_dir, simulator,
                                         arguments.controller_arg)
        controller.start()
        toucher.start()
        # Converged once no session waits for its pod. A session that expired on
        # the way was touched all along: it counts as culled, and is touched no more.
        def settled():
            metrics = controller.metrics()
            return sum(metrics.get(f'podsession_sessions{{phase="{phase}"}}', 0)
                       for phase in ("Running", "Expired", "Failed")) >= arguments.sessions

        benchlib.wait_until(settled, arguments.timeout, "every session Running or Expired",
                            interval=1.0)
        result["converge_seconds"] = round(time.monotonic() - controller.started_at, 2)
        culled = set(expired_times(controller.log_path))
        result["touched_sessions_expired_while_converging"] = len(culled)
        toucher.drop(culled)
        live_names = [name for name in names if name not in culled]

        for index, rate in enumerate(rates):
            quitters = live_names[index * arguments.quitters:(index + 1) * arguments.quitters]
            measured = measure_rate(rate, arguments, toucher, controller, sessions_dir, quitters)
            result["rates"].append(measured)
            print(f"touch_bench: rate {rate}/s: {measured['touches_written_per_second']} written/s,"
                  f" CPU {measured['controller_cpu_percent_of_one_core']}%, expiry lateness"
                  f" {measured['expiry_after_expires_at_seconds']}", file=sys.stderr)
    finally:
        toucher.stopping.set()
        if controller is not None:
            controller.stop()
        simulator.stop()
        if not arguments.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    benchlib.print_json(result, arguments.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
