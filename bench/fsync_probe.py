#!/usr/bin/env python3
"""Times atomic file writes as the controller writes status files: a
temporary file written and fsync'ed, renamed over the target, then the
folder fsync'ed. The touch benchmark's results depend on this time.

Usage: /usr/bin/python3 bench/fsync_probe.py [FOLDER] [--writes N]
Prints the p50, p90, p99 and max of N writes (default 300) of 600 bytes.
"""

import argparse
import os
import tempfile
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", help="where to write (default: a temporary folder)")
    parser.add_argument("--writes", type=int, default=300)
    arguments = parser.parse_args()

    folder = arguments.folder or tempfile.mkdtemp(prefix="podsession-fsync-probe-")
    temporary = os.path.join(folder, ".probe.yaml.tmp")
    target = os.path.join(folder, "probe.yaml")
    directory = os.open(folder, os.O_RDONLY)
    durations = []
    try:
        for _ in range(arguments.writes):
            started = time.perf_counter()
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(descriptor, b"x" * 600)
            os.fsync(descriptor)
            os.close(descriptor)
            os.rename(temporary, target)
            os.fsync(directory)
            durations.append(time.perf_counter() - started)
    finally:
        os.close(directory)
        os.remove(target)
        if not arguments.folder:
            os.rmdir(folder)

    durations.sort()

    def at(fraction):
        return durations[min(len(durations) - 1, int(fraction * len(durations)))] * 1000

    print(f"atomic write with two fsyncs, {len(durations)} writes: p50 {at(0.5):.2f} ms,"
          f" p90 {at(0.9):.2f} ms, p99 {at(0.99):.2f} ms, max {durations[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
