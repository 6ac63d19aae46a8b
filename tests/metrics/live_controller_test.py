#!/usr/bin/env python3
"""Metrics of a running controller, checked with the real promtool and Prometheus.

Runs `podsession run` in directory mode against its in-process RunPod simulator
with the example sessions, then:
  - lints a live scrape of /metrics with `promtool check metrics`;
  - has a real Prometheus scrape the controller and requires data for every
    query of the Grafana dashboard (tests/helm/promql_check.py);
  - compares podsession_spend_usd_total with the dollars the pods' prices and
    ages add up to.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

ARGS = None
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url, timeout=5):
    with _opener.open(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def wait_for(predicate, timeout, what, log_path=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    tail = ""
    if log_path and os.path.exists(log_path):
        with open(log_path, encoding="utf-8", errors="replace") as log:
            tail = "".join(log.readlines()[-30:])
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\ncontroller log tail:\n{tail}")


def parse_samples(exposition):
    """Return {(name, frozenset(labels)): value} of a text exposition."""
    samples = {}
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
        if not match:
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        samples[(match.group(1), labels)] = float(match.group(4))
    return samples


class LiveController(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="podsession-metrics-")
        cls.sessions = os.path.join(cls.workdir, "sessions")
        # A demo run leaves its .status folder in the examples; the test starts clean.
        shutil.copytree(os.path.join(ARGS.source, "manifests", "examples"), cls.sessions,
                        ignore=shutil.ignore_patterns(".status"))
        cls.log_path = os.path.join(cls.workdir, "controller.log")
        cls.log = open(cls.log_path, "w", encoding="utf-8")
        cls.process = subprocess.Popen(
            [ARGS.podsession, "run", "--sessions-dir", cls.sessions, "--provider", "simulated",
             "--listen", "127.0.0.1:0", "--simulated-boot", "1s", "--poll-interval", "100ms",
             "--resync-interval", "100ms"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        # A class cleanup runs even when the rest of setUpClass fails, unlike
        # tearDownClass, so no controller outlives a failed start.
        cls.addClassCleanup(cls.stop_controller)

        def address():
            with open(cls.log_path, encoding="utf-8") as log:
                found = re.search(r"serving metrics and health address=(\S+)", log.read())
            return found.group(1) if found else None

        cls.address = wait_for(address, 20, "the controller's listen address", cls.log_path)
        cls.base = f"http://{cls.address}"

        def all_running():
            phases = []
            for root, _, files in os.walk(os.path.join(cls.sessions, ".status")):
                for name in files:
                    if name.endswith(".yaml"):
                        with open(os.path.join(root, name), encoding="utf-8") as status:
                            found = re.search(r"^  phase: (\w+)", status.read(), re.M)
                            phases.append(found.group(1) if found else "")
            return len(phases) == 3 and all(phase == "Running" for phase in phases)

        wait_for(all_running, 30, "three Running sessions", cls.log_path)

    @classmethod
    def stop_controller(cls):
        cls.process.send_signal(signal.SIGTERM)
        try:
            cls.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.process.kill()
            cls.process.wait()
        cls.log.close()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def test_health_endpoints_answer(self):
        self.assertEqual(http_get(self.base + "/healthz")[0], 200)
        self.assertEqual(http_get(self.base + "/readyz")[0], 200)

    def test_live_scrape_passes_promtool(self):
        _, exposition = http_get(self.base + "/metrics")
        result = subprocess.run([ARGS.promtool, "check", "metrics"], input=exposition, text=True,
                                capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def running_sessions_counted(self):
        """Return the samples of a scrape whose session gauge counts 3 Running, else None."""
        _, exposition = http_get(self.base + "/metrics")
        samples = parse_samples(exposition)
        if samples.get(("podsession_sessions", frozenset({("phase", "Running")}))) != 3:
            return None
        return samples

    def test_gauges_describe_the_sessions(self):
        # The session gauge is counted after each pod list, and the status files
        # turn Running in the plans after a list, so the gauge lags them by a list.
        samples = wait_for(self.running_sessions_counted, 10,
                           'podsession_sessions{phase="Running"} to reach 3', self.log_path)
        self.assertEqual(samples[("podsession_sessions", frozenset({("phase", "Pending")}))], 0)
        running = sum(value for (name, labels), value in samples.items()
                      if name == "podsession_pods" and ("status", "RUNNING") in labels)
        self.assertEqual(running, 3)
        created = sum(value for (name, _), value in samples.items() if name == "podsession_pods_created_total")
        self.assertEqual(created, 3)
        self.assertEqual(samples[("podsession_leader", frozenset())], 1)

    def test_spend_matches_prices_over_time(self):
        # Between two scrapes the pods bill their summed price per hour for the
        # time between the two lists the scrapes reflect. Each list lags its
        # scrape by at most one list interval (100 ms), so over 25 s the
        # difference stays under 1%.
        def totals():
            _, text = http_get(self.base + "/metrics")
            samples = parse_samples(text)
            spent = sum(value for (name, _), value in samples.items() if name == "podsession_spend_usd_total")
            rate = sum(value for (name, _), value in samples.items() if name == "podsession_spend_usd_per_hour")
            return time.monotonic(), spent, rate

        first_time, first_spent, rate = totals()
        self.assertGreater(rate, 0)
        wait_for(lambda: time.monotonic() - first_time >= 25, 40, "25 seconds of billing")
        second_time, second_spent, second_rate = totals()
        self.assertEqual(second_rate, rate)

        expected = rate * (second_time - first_time) / 3600
        self.assertAlmostEqual(second_spent - first_spent, expected, delta=expected * 0.01)

    def test_every_dashboard_query_returns_data(self):
        result = subprocess.run(
            [sys.executable, ARGS.promql_check, ARGS.dashboard, "--prometheus", ARGS.prometheus,
             "--scrape-target", self.address, "--require-data", "--timeout", "60"],
            capture_output=True, text=True, timeout=180)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_no_token_in_logs_or_metrics(self):
        tokens = []
        for root, _, files in os.walk(os.path.join(self.sessions, ".status")):
            for name in files:
                if name.endswith(".token"):
                    with open(os.path.join(root, name), encoding="utf-8") as token:
                        tokens.append(token.read().strip())
        self.assertEqual(len(tokens), 3)
        _, exposition = http_get(self.base + "/metrics")
        with open(self.log_path, encoding="utf-8") as log:
            logged = log.read()
        for token in tokens:
            self.assertEqual(len(token), 43)
            self.assertNotIn(token, exposition)
            self.assertNotIn(token, logged)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--podsession", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--promtool", required=True)
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--promql-check", required=True)
    parser.add_argument("--dashboard", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
