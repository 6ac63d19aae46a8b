#!/usr/bin/env python3
"""Directory mode at scale: N sessions, one file each, against the simulator.

Measures
  - time to converge: from the controller's start until every session is
    Running (podsession_sessions{phase="Running"} == N, then checked in the
    status files);
  - provider calls by operation, from the simulator's counts and from the
    controller's podsession_provider_requests_total (which has the codes);
  - the controller's peak resident set (VmHWM);
  - its CPU use while idle after convergence, from /proc/PID/stat over
    --idle-seconds, with the number of pod lists in that window;
  - the size of one pod list response.

Example (the Release build of docs/benchmarks.md):
  /usr/bin/python3 bench/directory_bench.py --podsession build-bench/podsession \\
      --sessions 10000 --output /tmp/directory-bench.json
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--podsession", required=True, help="the podsession binary to measure")
    parser.add_argument("--simulator-binary",
                        help="podsession binary that serves the simulator (default: --podsession)")
    parser.add_argument("--simulator-arg", action="append", default=[],
                        help="extra argument for simulate-runpod (repeatable)")
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--boot-seconds", type=float, default=5.0,
                        help="simulated time from create to RUNNING")
    parser.add_argument("--controller-arg", action="append", default=[],
                        help="extra argument for podsession run (repeatable), e.g. --workers=32")
    parser.add_argument("--idle-seconds", type=float, default=60.0,
                        help="length of the idle CPU measurement after convergence")
    parser.add_argument("--profile", metavar="FILE",
                        help="after the idle window, record a perf profile of the idle "
                             "controller for --idle-seconds into FILE (needs perf)")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds to wait for convergence before giving up")
    parser.add_argument("--workdir", help="keep the sessions and logs here (default: a temporary "
                                          "folder, removed at the end)")
    parser.add_argument("--output", help="also write the JSON result to this file")
    return parser.parse_args()


def write_sessions(directory, count):
    # A TTL of a day, so that no session expires while the benchmark runs.
    for i in range(count):
        name = f"user-{i:05d}"
        with open(os.path.join(directory, name + ".yaml"), "w", encoding="utf-8") as file:
            file.write(benchlib.session_document(name, idle_ttl=86400))


def count_running_status_files(sessions_dir):
    """Counts status files whose phase is Running and token files beside them."""
    status_dir = os.path.join(sessions_dir, ".status", "default")
    running = tokens = 0
    phase_pattern = re.compile(r"^\s*phase: Running\s*$", re.MULTILINE)
    for filename in os.listdir(status_dir):
        path = os.path.join(status_dir, filename)
        if filename.endswith(".yaml"):
            with open(path, encoding="utf-8") as file:
                if phase_pattern.search(file.read()):
                    running += 1
        elif filename.endswith(".token"):
            tokens += 1
    return running, tokens


def main():
    arguments = parse_arguments()
    count = arguments.sessions
    workdir = arguments.workdir or tempfile.mkdtemp(prefix="podsession-directory-bench-")
    os.makedirs(workdir, exist_ok=True)
    sessions_dir = os.path.join(workdir, "sessions")
    os.makedirs(sessions_dir)
    result = {"sessions": count, "boot_seconds": arguments.boot_seconds,
              "machine": benchlib.machine_description(),
              "file_system": benchlib.file_system_of(workdir),
              "controller_arguments": arguments.controller_arg,
              "simulator_arguments": arguments.simulator_arg}

    simulator = benchlib.Simulator(arguments.simulator_binary or arguments.podsession, workdir,
                                   arguments.boot_seconds, arguments.simulator_arg)
    controller = None
    try:
        write_sessions(sessions_dir, count)
        simulator.start()
        controller = benchlib.Controller(arguments.podsession, workdir, sessions_dir, simulator,
                                         arguments.controller_arg)
        result["load_average_at_start"] = benchlib.load_average()
        controller.start()

        # Converge: poll the gauge, and sample the load while the controller works.
        load_samples = []
        first_all_created = None

        def converged():
            nonlocal first_all_created
            load_samples.append(benchlib.load_average()[0])
            if first_all_created is None:
                created = controller.metrics().get(
                    'podsession_pods_created_total{gpu_type="NVIDIA GeForce RTX 4090"}', 0)
                if created >= count:
                    first_all_created = time.monotonic() - controller.started_at
            running = controller.metrics().get('podsession_sessions{phase="Running"}', 0)
            return running >= count

        benchlib.wait_until(converged, arguments.timeout, f"{count} Running sessions", interval=1.0)
        result["converge_seconds"] = round(time.monotonic() - controller.started_at, 2)
        result["all_created_seconds"] = (round(first_all_created, 2)
                                         if first_all_created is not None else None)
        result["load_average_while_converging_max"] = max(load_samples)
        result["load_average_at_convergence"] = benchlib.load_average()
        result["calls_at_convergence"] = simulator.calls()
        result["requests_at_convergence"] = {
            f"{operation} {code}": value
            for (operation, code), value in sorted(controller.provider_requests().items())}
        result["memory_kib_at_convergence"] = benchlib.memory_of(controller.pid)
        running, tokens = count_running_status_files(sessions_dir)
        result["status_files_running"] = running
        result["token_files"] = tokens

        # Idle: no request from the driver to the controller during the window.
        calls_before = simulator.calls()
        load_before = benchlib.load_average()
        cpu_before = benchlib.cpu_seconds_of(controller.pid)
        started = time.monotonic()
        time.sleep(arguments.idle_seconds)
        cpu_after = benchlib.cpu_seconds_of(controller.pid)
        elapsed = time.monotonic() - started
        calls_after = simulator.calls()
        result["idle"] = {
            "seconds": round(elapsed, 2),
            "cpu_seconds": round(cpu_after - cpu_before, 3),
            "cpu_percent_of_one_core": round(100 * (cpu_after - cpu_before) / elapsed, 3),
            "calls": {operation: calls_after[operation] - calls_before[operation]
                      for operation in calls_after},
            "load_average_before": load_before,
            "load_average_after": benchlib.load_average(),
        }
        result["memory_kib_at_end"] = benchlib.memory_of(controller.pid)
        if arguments.profile:
            # Separate from the idle window, so perf's own cost is not in that number.
            subprocess.run(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-p",
                            str(controller.pid), "-o", arguments.profile, "--", "sleep",
                            str(arguments.idle_seconds)],
                           check=True, capture_output=True, timeout=arguments.idle_seconds + 120)

        # One list as the controller reads it; its size bounds the client's body limit.
        listed = simulator.get("/v2/pods")
        result["pod_list_bytes"] = len(listed)
        pods = simulator.state()["pods"]
        result["simulator_pods"] = len(pods)
        result["simulator_live_pods"] = sum(1 for pod in pods if not pod["deleted"])
        with open(controller.log_path, encoding="utf-8", errors="replace") as log:
            levels = {}
            for line in log:
                fields = line.split(maxsplit=2)
                if len(fields) >= 2:
                    levels[fields[1]] = levels.get(fields[1], 0) + 1
        result["controller_log_lines_by_level"] = levels
    finally:
        if controller is not None:
            controller.stop()
        simulator.stop()
        if not arguments.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    benchlib.print_json(result, arguments.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
