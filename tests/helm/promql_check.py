#!/usr/bin/env python3
"""Run every PromQL expression of a Grafana dashboard against a real Prometheus.

The script starts `prometheus` on a free loopback port with its own temporary
storage, sends each panel query (and each query variable's metric selector) to
/api/v1/query, and fails on any response other than status "success", so a
parse error in any panel fails the test.

Without --scrape-target, Prometheus scrapes nothing: this checks only that the
queries parse and evaluate. With --scrape-target 127.0.0.1:PORT it scrapes a
running controller every second, waits for two scrapes, and with --require-data
also fails every query that returns no series. Queries that drop zero series
(`> 0`) need a controller that has created and listed at least one pod.

Grafana variables are replaced before a query is sent: $job by `.+`,
$__rate_interval by 1m, $__interval by 15s, $__range by 1h.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

GRAFANA_VARIABLES = {
    "job": ".+",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
}
LOOPBACK_HOSTS = {"127.0.0.1", "[::1]"}
SCRAPE_JOB = "podsession"
# Timeout of one loopback request.
REQUEST_TIMEOUT_SECONDS = 10
POLL_INTERVAL_SECONDS = 0.05

# Never route a loopback request through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def substitute_variables(expr):
    """Return expr with Grafana's $name and ${name} replaced, or raise on an unknown name."""

    def replace(match):
        name = match.group(1) or match.group(2)
        if name not in GRAFANA_VARIABLES:
            raise ValueError(f"unknown Grafana variable ${name} in {expr!r}")
        return GRAFANA_VARIABLES[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, expr)


def iter_panels(panels):
    """Yield every panel, including those nested in collapsed rows."""
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []))


def collect_queries(dashboard):
    """Return (where, expr) for every panel target and every query variable."""
    queries = []
    for panel in iter_panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            where = f'panel "{panel.get("title")}" target {target.get("refId")}'
            queries.append((where, target.get("expr", "")))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else query or ""
        # label_values(selector, label) is Grafana syntax; its selector is PromQL.
        match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", text)
        selector = match.group(1) if match else text
        queries.append((f'variable "{variable.get("name")}"', selector))
    return queries


def free_loopback_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url):
    with _opener.open(url, timeout=REQUEST_TIMEOUT_SECONDS) as response:
        return response.status, response.read()


def query(base_url, expr):
    """POST expr to /api/v1/query and return the decoded JSON response, errors included."""
    body = urllib.parse.urlencode({"query": expr}).encode()
    request = urllib.request.Request(f"{base_url}/api/v1/query", data=body, method="POST")
    try:
        with _opener.open(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        # Prometheus rejects a parse error with status 400 and a JSON body.
        return json.loads(error.read() or b"{}")


class PrometheusServer:
    """A Prometheus process on a free loopback port, stopped by close()."""

    def __init__(self, binary, scrape_target, startup_timeout):
        self.workdir = tempfile.mkdtemp(prefix="podsession-promql-")
        self.process = None
        self.base_url = None
        config_path = os.path.join(self.workdir, "prometheus.yml")
        with open(config_path, "w") as config:
            config.write(self._config(scrape_target))
        self.log_path = os.path.join(self.workdir, "prometheus.log")

        # The port is free when picked but may be taken before Prometheus binds
        # it, so a start that exits early is retried on another port.
        for _ in range(3):
            port = free_loopback_port()
            if self._start(binary, config_path, port, startup_timeout):
                self.base_url = f"http://127.0.0.1:{port}"
                return
        self.close()
        raise RuntimeError(f"prometheus did not become ready. Its log:\n{self.log()}")

    @staticmethod
    def _config(scrape_target):
        if scrape_target is None:
            return "global:\n  scrape_interval: 15s\nscrape_configs: []\n"
        return (
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            f"  - job_name: {SCRAPE_JOB}\n"
            "    metrics_path: /metrics\n"
            f"    static_configs:\n      - targets: ['{scrape_target}']\n"
        )

    def _start(self, binary, config_path, port, startup_timeout):
        data_path = os.path.join(self.workdir, f"data-{port}")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [binary, f"--config.file={config_path}", f"--storage.tsdb.path={data_path}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                status, _ = http_get(f"http://127.0.0.1:{port}/-/ready")
                if status == 200:
                    return True
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(POLL_INTERVAL_SECONDS)
        self._stop()
        return False

    def _stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()[-4000:]
        except OSError:
            return ""

    def wait_for_scrapes(self, count, timeout):
        """Wait until the target was scraped `count` times and is up, or raise on timeout."""
        up = f'up{{job="{SCRAPE_JOB}"}}'
        expr = f"count_over_time({up}[10m]) >= {count} and {up} == 1"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = query(self.base_url, expr)
            if response.get("status") == "success" and response["data"]["result"]:
                return
            time.sleep(POLL_INTERVAL_SECONDS)
        _, targets = http_get(f"{self.base_url}/api/v1/targets")
        raise RuntimeError(f"the scrape target was not up after {timeout} s: {targets.decode()}")

    def close(self):
        self._stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def check_queries(base_url, queries, require_data):
    """Return one message per failed query."""
    failures = []
    for where, raw in queries:
        try:
            expr = substitute_variables(raw)
        except ValueError as error:
            failures.append(f"{where}: {error}")
            continue
        if not expr.strip():
            failures.append(f"{where}: empty expression")
            continue
        response = query(base_url, expr)
        if response.get("status") != "success":
            failures.append(f"{where}: {response.get('errorType')}: {response.get('error')}\n"
                            f"    {expr}")
        elif require_data and not response["data"]["result"]:
            failures.append(f"{where}: no data\n    {expr}")
    return failures


def validate_target(target):
    host, _, port = target.rpartition(":")
    if host not in LOOPBACK_HOSTS or not port.isdigit():
        raise argparse.ArgumentTypeError(
            f"invalid scrape target {target!r}: use 127.0.0.1:PORT or [::1]:PORT")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dashboard", help="Grafana dashboard JSON file")
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus",
                        help="Prometheus server binary (default: prometheus on PATH)")
    parser.add_argument("--scrape-target", type=validate_target,
                        help="loopback HOST:PORT of a controller to scrape every second")
    parser.add_argument("--require-data", action="store_true",
                        help="fail queries that return no series (needs --scrape-target)")
    parser.add_argument("--timeout", type=float, default=30,
                        help="seconds to wait for Prometheus and for the first scrapes")
    args = parser.parse_args(argv)
    if args.require_data and not args.scrape_target:
        parser.error("--require-data needs --scrape-target")
    if not shutil.which(args.prometheus):
        print(f"promql_check: prometheus not found at {args.prometheus!r}: "
              "run scripts/install-deps.sh --test", file=sys.stderr)
        return 2

    with open(args.dashboard) as source:
        queries = collect_queries(json.load(source))
    if not queries:
        print(f"promql_check: no queries found in {args.dashboard}", file=sys.stderr)
        return 1

    try:
        server = PrometheusServer(args.prometheus, args.scrape_target, args.timeout)
    except RuntimeError as error:
        print(f"promql_check: {error}", file=sys.stderr)
        return 1
    try:
        if args.scrape_target:
            server.wait_for_scrapes(2, args.timeout)
        failures = check_queries(server.base_url, queries, args.require_data)
    except RuntimeError as error:
        print(f"promql_check: {error}", file=sys.stderr)
        return 1
    finally:
        server.close()

    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print(f"promql_check: {len(queries) - len(failures)} of {len(queries)} queries passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
