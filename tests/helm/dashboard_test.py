#!/usr/bin/env python3
"""Structure tests of the Grafana dashboard shipped in the chart.

Grafana itself is not installed, so these check the shape Grafana 10 expects
by reading the JSON, and check every metric name against the exposition of
the real metrics registry (PODSESSION_EXPOSITION_DUMP, the
metrics_exposition_dump test program). promql_check.py runs the queries.

Environment:
  PODSESSION_SOURCE_DIR       repository root (default: two folders up)
  PODSESSION_EXPOSITION_DUMP  program that prints a populated exposition
"""

import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from promql_check import collect_queries, iter_panels  # noqa: E402

SOURCE_DIR = os.environ.get("PODSESSION_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
DASHBOARD = os.path.join(SOURCE_DIR, "helm", "podsession-controller", "dashboards",
                         "podsession.json")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_WIDTH = 24
PANEL_TYPES = {"row", "timeseries", "stat"}
# The metric families of the controller, as its /metrics names them.
FAMILIES = {
    "podsession_sessions", "podsession_pods", "podsession_spend_usd_per_hour",
    "podsession_spend_usd_total", "podsession_pods_created_total",
    "podsession_pods_terminated_total", "podsession_terminate_failures_total",
    "podsession_provider_requests_total", "podsession_provider_request_duration_seconds",
    "podsession_reconcile_total", "podsession_reconcile_duration_seconds",
    "podsession_time_to_ready_seconds", "podsession_leader", "podsession_build_info",
}


def load_dashboard():
    with open(DASHBOARD) as source:
        return json.load(source)


def family_of(sample_name):
    for suffix in ("_bucket", "_sum", "_count"):
        if sample_name.endswith(suffix) and sample_name[: -len(suffix)] in FAMILIES:
            return sample_name[: -len(suffix)]
    return sample_name


class DashboardShape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dashboard = load_dashboard()
        cls.panels = list(iter_panels(cls.dashboard["panels"]))

    def test_top_level_fields(self):
        dashboard = self.dashboard
        self.assertIsNone(dashboard["id"])
        self.assertIsInstance(dashboard["schemaVersion"], int)
        self.assertGreaterEqual(dashboard["schemaVersion"], 36)
        self.assertRegex(dashboard["uid"], r"^[a-zA-Z0-9_-]{1,40}$")
        self.assertTrue(dashboard["title"])
        self.assertIn("from", dashboard["time"])
        self.assertIn("to", dashboard["time"])
        self.assertIsInstance(dashboard["annotations"]["list"], list)
        self.assertIsInstance(dashboard["tags"], list)

    def test_datasource_is_a_variable(self):
        variables = {v["name"]: v for v in self.dashboard["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        self.assertEqual(variables["job"]["datasource"], DATASOURCE)
        self.assertNotIn("__inputs", self.dashboard)

    def test_every_panel_and_target_uses_datasource_variable(self):
        for panel in self.panels:
            if panel["type"] == "row":
                continue
            with self.subTest(panel=panel["title"]):
                self.assertEqual(panel["datasource"], DATASOURCE)
                self.assertTrue(panel["targets"])
                for target in panel["targets"]:
                    self.assertEqual(target["datasource"], DATASOURCE)

    def test_panel_fields(self):
        ids = [panel["id"] for panel in self.panels]
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")
        for panel in self.panels:
            with self.subTest(panel=panel.get("title")):
                self.assertIn(panel["type"], PANEL_TYPES)
                self.assertTrue(panel["title"])
                self.assertIsInstance(panel["id"], int)
                if panel["type"] != "row":
                    self.assertTrue(panel.get("description"))
                    self.assertIn("defaults", panel["fieldConfig"])
                    self.assertIsInstance(panel["fieldConfig"]["overrides"], list)
                    self.assertIsInstance(panel["options"], dict)
                ref_ids = [target["refId"] for target in panel.get("targets", [])]
                self.assertEqual(len(ref_ids), len(set(ref_ids)))

    def test_panels_fit_the_grid_without_overlap(self):
        occupied = set()
        for panel in self.panels:
            grid = panel["gridPos"]
            with self.subTest(panel=panel["title"]):
                self.assertGreaterEqual(grid["x"], 0)
                self.assertGreater(grid["w"], 0)
                self.assertGreater(grid["h"], 0)
                self.assertLessEqual(grid["x"] + grid["w"], GRID_WIDTH)
                cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                         for y in range(grid["y"], grid["y"] + grid["h"])}
                self.assertFalse(cells & occupied, "overlaps another panel")
                occupied |= cells

    def test_required_panels_present(self):
        titles = {panel["title"] for panel in self.panels}
        for title in ["Sessions by phase", "Pods by status and GPU type", "Spend rate",
                      "Cumulative spend by GPU type", "Spend per day", "Pods created",
                      "Pods terminated by reason", "Orphans reaped", "Terminate failures",
                      "Provider requests", "Provider errors by operation", "Provider latency",
                      "Reconcile duration", "Time to ready"]:
            with self.subTest(title=title):
                self.assertIn(title, titles)

    def test_latency_panels_show_p50_p95_p99(self):
        for title in ["Provider latency", "Reconcile duration", "Time to ready"]:
            panel = next(p for p in self.panels if p["title"] == title)
            quantiles = sorted(re.search(r"histogram_quantile\((0\.\d+),", t["expr"]).group(1)
                               for t in panel["targets"])
            with self.subTest(title=title):
                self.assertEqual(quantiles, ["0.5", "0.95", "0.99"])

    def test_spend_per_day_uses_one_day_increase(self):
        panel = next(p for p in self.panels if p["title"] == "Spend per day")
        self.assertIn("increase(podsession_spend_usd_total", panel["targets"][0]["expr"])
        self.assertIn("[1d]", panel["targets"][0]["expr"])
        self.assertEqual(panel["interval"], "1d")


class DashboardMetrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.queries = collect_queries(load_dashboard())
        cls.used = set()
        for _, expr in cls.queries:
            cls.used |= set(re.findall(r"\bpodsession_\w+", expr))

    def test_every_family_is_on_the_dashboard(self):
        families = {family_of(name) for name in self.used}
        self.assertEqual(FAMILIES - families, set())

    def test_every_name_exists_in_the_exposition(self):
        program = os.environ.get("PODSESSION_EXPOSITION_DUMP")
        self.assertTrue(program, "set PODSESSION_EXPOSITION_DUMP to metrics_exposition_dump")
        exposition = subprocess.run([program], capture_output=True, text=True, check=True,
                                    timeout=60).stdout
        exposed = {line.split("{")[0].split(" ")[0]
                   for line in exposition.splitlines() if line and not line.startswith("#")}
        for name in sorted(self.used):
            with self.subTest(name=name):
                self.assertIn(name, exposed)

    def test_every_selector_is_filtered_by_job(self):
        # The leader join needs no filter: its left side is filtered already.
        leader_join = "and on (instance) podsession_leader == 1"
        for where, expr in self.queries:
            if where.startswith("variable"):
                continue
            for match in re.finditer(r"\bpodsession_\w+(\{[^}]*\})?", expr):
                with self.subTest(where=where, selector=match.group(0)):
                    if match.group(1) is None:
                        self.assertEqual(expr[match.start() - 18:match.end() + 5], leader_join)
                    else:
                        self.assertIn('job=~"$job"', match.group(1))


if __name__ == "__main__":
    unittest.main()
