"""What the crash soak and the fault soak share: the session document, the
scan of process logs for secrets, and the run of a soak with its seed, work
folder and exit status."""

import os
import random
import re
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402


class Violation(Exception):
    """An invariant that did not hold."""


def session_document(name, ttl, last_touch):
    """Returns the YAML of a bearer session, touched at `last_touch` (seconds
    since the epoch) or never when it is None."""
    annotations = None
    if last_touch is not None:
        annotations = {"podsession.io/last-touched": harness.format_time(last_touch)}
    return harness.session_yaml(name, idle_ttl=ttl, annotations=annotations, auth="bearer")


def check_logs(controller, simulator, tokens, forbid_critical=False):
    """Raises Violation when a token or the simulator's API key appears in a
    log of the controller or the simulator, and with `forbid_critical` when
    the controller logged a critical line (a worker that threw)."""
    secrets = set(tokens)
    secrets.add(simulator.api_key)
    controller_log = controller.all_logs() if controller else ""
    texts = [controller_log]
    if os.path.exists(simulator.log_path):
        with open(simulator.log_path, encoding="utf-8", errors="replace") as file:
            texts.append(file.read())
    for secret in secrets:
        if any(secret in text for text in texts):
            raise Violation("a token or API key appears in a process log")
    if forbid_critical and re.search(r"\bcritical\b", controller_log):
        raise Violation("the controller logged a critical line:\n"
                        + "\n".join(line for line in controller_log.splitlines()
                                    if "critical" in line)[:2000])


def stop_on_sigterm(signum, frame):
    """Turns SIGTERM into SystemExit, so that the `finally` stops the children."""
    raise SystemExit(128 + signum)


def run(name, arguments, make_soak, settings, report):
    """Runs one soak and returns the exit status: 0 when every invariant held,
    1 on a violation, 2 without a binary.

    `make_soak(arguments, workdir)` builds the soak, whose run() returns the
    values that `report(soak, *values)` turns into the summary printed on
    success. `settings` is printed after the seed on the first line, so that
    a failure can be rerun with the same arguments. The soak's controller and
    simulator are stopped in every case, and the work folder is kept on a
    violation or with --keep."""
    if not arguments.binary:
        print(f"{name}: pass --binary or set PODSESSION_BINARY", file=sys.stderr)
        return 2
    if arguments.seed is None:
        arguments.seed = random.SystemRandom().randrange(2**32)
    harness.PODSESSION = arguments.binary
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{name}: seed={arguments.seed} {settings} load={load}", flush=True)

    workdir = tempfile.mkdtemp(prefix=f"podsession-{name.replace('_', '-')}-")
    soak = make_soak(arguments, workdir)
    status = 0
    try:
        values = soak.run()
        print(report(soak, *values))
        print(f"{name}: every invariant held (seed={arguments.seed})", flush=True)
    except (Violation, AssertionError) as error:
        try:
            state = soak.describe()
        except (OSError, ValueError, AssertionError) as describe_error:
            # A simulator that never started has no address to read the state from.
            state = f"state unavailable: {describe_error}"
        print(f"{name}: FAILED: {error}\n{state}\n"
              f"{name}: rerun with --seed {arguments.seed}; work folder {workdir}",
              flush=True)
        arguments.keep = True
        status = 1
    finally:
        if soak.controller is not None:
            soak.controller.stop()
        soak.simulator.stop()
        if not arguments.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return status
