#!/usr/bin/env python3
"""Tests of the podsession-controller Helm chart with the real helm and yamllint.

Environment:
  PODSESSION_SOURCE_DIR  repository root (default: two folders up)
  PODSESSION_HELM        helm binary (default: <root>/.tools/helm/helm)
  PODSESSION_YAMLLINT    yamllint binary (default: yamllint on PATH)

Run one class with `chart_test.py ChartRenderDefault`, or all without arguments.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

SOURCE_DIR = os.environ.get("PODSESSION_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
CHART_DIR = os.path.join(SOURCE_DIR, "helm", "podsession-controller")
HELM = os.environ.get("PODSESSION_HELM") or os.path.join(SOURCE_DIR, ".tools", "helm", "helm")
YAMLLINT = os.environ.get("PODSESSION_YAMLLINT") or shutil.which("yamllint") or "yamllint"
CUSTOM_VALUES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "values-custom.yaml")
CRD_MANIFEST = os.path.join(SOURCE_DIR, "manifests", "crd.yaml")
RELEASE = "psn"
NAMESPACE = "gpu-system"
FULLNAME = "psn-podsession-controller"


def run_helm(*args, check=True):
    if not os.access(HELM, os.X_OK):
        raise AssertionError(f"helm not found at {HELM}: run scripts/install-deps.sh --test")
    # Helm reads and writes its caches under HOME, so each run gets its own.
    home = tempfile.mkdtemp(prefix="podsession-helm-home-")
    try:
        env = dict(os.environ, HOME=home, HELM_CACHE_HOME=os.path.join(home, "cache"),
                   HELM_CONFIG_HOME=os.path.join(home, "config"),
                   HELM_DATA_HOME=os.path.join(home, "data"))
        result = subprocess.run([HELM, *args], capture_output=True, text=True, env=env,
                                timeout=120)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}{result.stderr}")
    return result


def render(*extra_args, include_crds=False):
    args = ["template", RELEASE, CHART_DIR, "--namespace", NAMESPACE, *extra_args]
    if include_crds:
        args.append("--include-crds")
    return run_helm(*args).stdout


def documents(text):
    return [document for document in yaml.safe_load_all(text) if document]


def find(objects, kind, name=None):
    found = [o for o in objects
             if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def container(objects):
    deployment = find(objects, "Deployment")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, containers
    return containers[0]


def env_var(spec, name):
    for variable in spec.get("env", []):
        if variable["name"] == name:
            return variable
    return None


class ChartArgsAccepted(unittest.TestCase):
    """The real binary accepts every flag the chart and the manifests pass.

    `podsession run ARGS --help` parses all of ARGS before printing the help,
    so an unknown or misspelt flag makes it exit non-zero.
    """

    def assert_accepted(self, args):
        binary = os.environ.get("PODSESSION_BINARY")
        self.assertTrue(binary and os.access(binary, os.X_OK), "set PODSESSION_BINARY to the podsession binary")
        self.assertEqual(args[0], "run")
        result = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, f"{args}: {result.stderr}")

    def test_default_values(self):
        self.assert_accepted(container(documents(render()))["args"])

    def test_custom_values(self):
        self.assert_accepted(container(documents(render("-f", CUSTOM_VALUES)))["args"])

    def test_simulated_provider(self):
        self.assert_accepted(
            container(documents(render("--set", "controller.provider=simulated")))["args"])

    def test_plain_manifests(self):
        with open(os.path.join(SOURCE_DIR, "manifests", "deployment.yaml"), encoding="utf-8") as manifest:
            objects = documents(manifest.read())
        self.assert_accepted(container(objects)["args"])


class ChartLint(unittest.TestCase):
    def test_default_values(self):
        result = run_helm("lint", "--strict", CHART_DIR)
        self.assertIn("0 chart(s) failed", result.stdout)

    def test_custom_values(self):
        result = run_helm("lint", "--strict", CHART_DIR, "-f", CUSTOM_VALUES)
        self.assertIn("0 chart(s) failed", result.stdout)


class ChartRenderDefault(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects = documents(render())

    def test_renders_expected_objects(self):
        kinds = sorted(o["kind"] for o in self.objects)
        self.assertEqual(kinds, sorted(["ServiceAccount", "ConfigMap", "ClusterRole",
                                        "ClusterRoleBinding", "Role", "RoleBinding", "Service",
                                        "Deployment"]))

    def test_args_without_leader_election(self):
        self.assertEqual(container(self.objects)["args"],
                         ["run", "--provider", "runpod", "--listen", ":8080",
                          "--controller-id", "default"])

    def test_recreate_strategy_without_leader_election(self):
        deployment = find(self.objects, "Deployment")
        self.assertEqual(deployment["spec"]["replicas"], 1)
        self.assertEqual(deployment["spec"]["strategy"], {"type": "Recreate"})

    def test_image_is_app_version(self):
        self.assertEqual(container(self.objects)["image"],
                         "ghcr.io/podsession/podsession-controller:0.1.0")

    def test_no_api_key_without_values(self):
        self.assertIsNone(env_var(container(self.objects), "RUNPOD_API_KEY"))

    def test_lease_namespace_from_downward_api(self):
        variable = env_var(container(self.objects), "POD_NAMESPACE")
        self.assertEqual(variable["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace")

    def test_security_context_is_restricted(self):
        pod_spec = find(self.objects, "Deployment")["spec"]["template"]["spec"]
        self.assertTrue(pod_spec["securityContext"]["runAsNonRoot"])
        self.assertEqual(pod_spec["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"})
        context = container(self.objects)["securityContext"]
        self.assertTrue(context["runAsNonRoot"])
        self.assertTrue(context["readOnlyRootFilesystem"])
        self.assertFalse(context["allowPrivilegeEscalation"])
        self.assertEqual(context["capabilities"], {"drop": ["ALL"]})
        self.assertEqual(context["seccompProfile"], {"type": "RuntimeDefault"})

    def test_probes(self):
        spec = container(self.objects)
        self.assertEqual(spec["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "http"})
        self.assertEqual(spec["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "http"})
        self.assertEqual(spec["ports"], [{"name": "http", "containerPort": 8080,
                                          "protocol": "TCP"}])

    def test_resources(self):
        resources = container(self.objects)["resources"]
        self.assertIn("cpu", resources["requests"])
        self.assertIn("memory", resources["requests"])
        self.assertIn("memory", resources["limits"])

    def test_cluster_role_is_least_privilege(self):
        rules = find(self.objects, "ClusterRole")["rules"]
        granted = {}
        for rule in rules:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    granted.setdefault((group, resource), set()).update(rule["verbs"])
        self.assertEqual(granted, {
            ("podsession.io", "podsessions"): {"get", "list", "watch", "patch"},
            ("podsession.io", "podsessions/status"): {"patch"},
            ("podsession.io", "podsessions/finalizers"): {"update"},
            ("", "secrets"): {"get", "create", "delete"},
            ("", "events"): {"create", "patch"},
        })

    def test_leases_only_in_release_namespace(self):
        role = find(self.objects, "Role")
        self.assertEqual(role["metadata"]["namespace"], NAMESPACE)
        self.assertEqual(role["rules"], [{"apiGroups": ["coordination.k8s.io"],
                                          "resources": ["leases"],
                                          "verbs": ["get", "create", "update"]}])
        binding = find(self.objects, "RoleBinding")
        self.assertEqual(binding["roleRef"]["name"], role["metadata"]["name"])
        self.assertEqual(binding["subjects"][0]["name"], FULLNAME)

    def test_bindings_name_service_account(self):
        account = find(self.objects, "ServiceAccount")
        binding = find(self.objects, "ClusterRoleBinding")
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount",
                                                "name": account["metadata"]["name"],
                                                "namespace": NAMESPACE}])
        pod_spec = find(self.objects, "Deployment")["spec"]["template"]["spec"]
        self.assertEqual(pod_spec["serviceAccountName"], account["metadata"]["name"])

    def test_service_selects_controller_pods(self):
        service = find(self.objects, "Service")
        pod_labels = find(self.objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
        for key, value in service["spec"]["selector"].items():
            self.assertEqual(pod_labels.get(key), value)
        self.assertEqual(service["spec"]["ports"][0]["targetPort"], "http")

    def test_dashboard_config_map(self):
        config_map = find(self.objects, "ConfigMap")
        self.assertEqual(config_map["metadata"]["labels"]["grafana_dashboard"], "1")
        with open(os.path.join(CHART_DIR, "dashboards", "podsession.json")) as source:
            expected = json.load(source)
        self.assertEqual(json.loads(config_map["data"]["podsession.json"]), expected)


class ChartRenderCustom(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects = documents(render("-f", CUSTOM_VALUES))

    def test_leader_election_with_two_replicas(self):
        deployment = find(self.objects, "Deployment")
        self.assertEqual(deployment["spec"]["replicas"], 2)
        self.assertEqual(deployment["spec"]["strategy"]["type"], "RollingUpdate")
        self.assertIn("--leader-elect", container(self.objects)["args"])

    def test_flags_from_values(self):
        self.assertEqual(container(self.objects)["args"],
                         ["run", "--provider", "runpod", "--listen", ":8080",
                          "--controller-id", "prod1", "--leader-elect",
                          "--namespace", "apps", "--default-idle-ttl", "20m",
                          "--orphan-grace", "10m", "--max-pods", "50",
                          "--max-cost-per-hour", "120.50", "--dry-run",
                          "--log-level", "debug"])

    def test_api_key_from_existing_secret(self):
        variable = env_var(container(self.objects), "RUNPOD_API_KEY")
        self.assertEqual(variable["valueFrom"]["secretKeyRef"],
                         {"name": "runpod-credentials", "key": "RUNPOD_API_KEY"})
        self.assertEqual([o for o in self.objects if o["kind"] == "Secret"], [])

    def test_service_monitor(self):
        monitor = find(self.objects, "ServiceMonitor")
        self.assertEqual(monitor["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(monitor["metadata"]["namespace"], "monitoring")
        self.assertEqual(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack")
        self.assertEqual(monitor["spec"]["namespaceSelector"], {"matchNames": [NAMESPACE]})
        endpoint = monitor["spec"]["endpoints"][0]
        self.assertEqual(endpoint["path"], "/metrics")
        self.assertEqual(endpoint["interval"], "15s")
        service = find(self.objects, "Service")
        self.assertEqual(endpoint["port"], service["spec"]["ports"][0]["name"])
        self.assertEqual(monitor["spec"]["selector"]["matchLabels"], service["spec"]["selector"])

    def test_common_labels_on_every_object(self):
        for obj in self.objects:
            with self.subTest(kind=obj["kind"]):
                self.assertEqual(obj["metadata"]["labels"]["team"], "gpu-platform")
                self.assertEqual(obj["metadata"]["labels"]["cost-center"], "ml-42")

    def test_pod_labels_and_annotations(self):
        template = find(self.objects, "Deployment")["spec"]["template"]
        self.assertEqual(template["metadata"]["labels"]["sidecar.istio.io/inject"], "false")
        self.assertEqual(template["metadata"]["annotations"],
                         {"example.com/owner": "gpu-platform"})

    def test_dashboard_label_is_configurable(self):
        labels = find(self.objects, "ConfigMap")["metadata"]["labels"]
        self.assertEqual(labels["grafana_dashboard_podsession"], "yes")
        self.assertNotIn("grafana_dashboard", labels)
        self.assertEqual(labels["grafana-folder"], "gpu")
        annotations = find(self.objects, "ConfigMap")["metadata"]["annotations"]
        self.assertEqual(annotations, {"grafana_folder": "GPU"})


class ChartApiKey(unittest.TestCase):
    KEY = "rpa_TESTKEY0123456789"

    def test_chart_creates_secret_from_value(self):
        text = render("--set", f"runpod.apiKey={self.KEY}")
        objects = documents(text)
        secret = find(objects, "Secret", f"{FULLNAME}-runpod")
        self.assertEqual(base64.b64decode(secret["data"]["apiKey"]).decode(), self.KEY)
        variable = env_var(container(objects), "RUNPOD_API_KEY")
        self.assertEqual(variable["valueFrom"]["secretKeyRef"],
                         {"name": f"{FULLNAME}-runpod", "key": "apiKey"})
        # The key appears nowhere in plain text: not in the Deployment, not in
        # an annotation.
        self.assertNotIn(self.KEY, text)
        annotations = find(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
        self.assertRegex(annotations["checksum/runpod-secret"], r"^[0-9a-f]{64}$")

    def test_both_sources_rejected(self):
        result = run_helm("template", RELEASE, CHART_DIR, "--set", f"runpod.apiKey={self.KEY}",
                          "--set", "runpod.existingSecret.name=other", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("keep only one source for the API key", result.stderr)
        self.assertNotIn(self.KEY, result.stderr)

    def test_simulated_provider_needs_no_key(self):
        objects = documents(render("--set", "controller.provider=simulated"))
        args = container(objects)["args"]
        self.assertEqual(args[args.index("--provider") + 1], "simulated")
        self.assertIsNone(env_var(container(objects), "RUNPOD_API_KEY"))
        # The simulated pods live in the writable /tmp volume, so that they
        # outlive a container restart.
        state_file = args[args.index("--simulated-state-file") + 1]
        self.assertEqual(state_file, "/tmp/simulated-runpod.json")
        mounts = [mount["mountPath"] for mount in container(objects)["volumeMounts"]]
        self.assertIn(os.path.dirname(state_file), mounts)

    def test_runpod_provider_has_no_state_file(self):
        self.assertNotIn("--simulated-state-file", container(documents(render()))["args"])


class ChartValidation(unittest.TestCase):
    def assert_rejected(self, message, *set_args):
        args = ["template", RELEASE, CHART_DIR]
        for value in set_args:
            args += ["--set", value]
        result = run_helm(*args, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(message, result.stderr)

    def test_controller_id_with_dash_rejected(self):
        self.assert_rejected("controller.id", "controller.id=prod-1")

    def test_controller_id_too_long_rejected(self):
        self.assert_rejected("controller.id", "controller.id=abcdefghijklmnopq")

    def test_controller_id_rejected_without_schema(self):
        result = run_helm("template", RELEASE, CHART_DIR, "--skip-schema-validation",
                          "--set", "controller.id=Prod", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('controller.id "Prod" is invalid', result.stderr)

    def test_unknown_provider_rejected(self):
        self.assert_rejected("controller.provider", "controller.provider=aws")

    def test_misspelled_key_rejected(self):
        self.assert_rejected("maxPod", "controller.maxPod=3")

    def test_one_replica_with_leader_election(self):
        objects = documents(render("--set", "leaderElection.enabled=true"))
        self.assertIn("--leader-elect", container(objects)["args"])
        self.assertEqual(find(objects, "Deployment")["spec"]["strategy"]["type"],
                         "RollingUpdate")


class ChartYamllint(unittest.TestCase):
    def lint(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as rendered:
            rendered.write(text)
            rendered.flush()
            result = subprocess.run(
                [YAMLLINT, "--strict", "-c", os.path.join(SOURCE_DIR, ".yamllint"),
                 rendered.name], capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_default_values(self):
        self.lint(render(include_crds=True))

    def test_custom_values(self):
        self.lint(render("-f", CUSTOM_VALUES, include_crds=True))

    def test_line_length_disabled_only_for_dashboard(self):
        # Only the dashboard's PromQL lines are exempt from the line limit.
        text = render(include_crds=True)
        disabled = text.count("# yamllint disable rule:line-length")
        enabled = text.count("# yamllint enable rule:line-length")
        self.assertEqual((disabled, enabled), (1, 1))
        start = text.index("# yamllint disable rule:line-length")
        end = text.index("# yamllint enable rule:line-length")
        self.assertIn("podsession.json: |-", text[start:end])
        self.assertNotIn("\n---", text[start:end])


class ChartCrd(unittest.TestCase):
    def read(self, path):
        with open(path, "rb") as source:
            return source.read()

    def test_chart_crd_matches_manifest(self):
        crds = sorted(os.listdir(os.path.join(CHART_DIR, "crds")))
        self.assertEqual(crds, ["podsessions.podsession.io.yaml"])
        self.assertEqual(self.read(os.path.join(CHART_DIR, "crds", crds[0])),
                         self.read(CRD_MANIFEST))

    def test_rendered_crd_matches_manifest(self):
        text = render(include_crds=True)
        header = "---\n# Source: podsession-controller/crds/podsessions.podsession.io.yaml\n"
        self.assertTrue(text.startswith(header), text[:200])
        # helm writes one newline of its own after each document.
        rendered = text[len(header):text.index("\n---\n", len(header)) + 1]
        self.assertTrue(rendered.endswith("\n\n"))
        self.assertEqual(rendered[:-1].encode(), self.read(CRD_MANIFEST))


def chart_keys(schema, path=""):
    """Yield the dotted path of every key the chart defines (not Kubernetes fields)."""
    for name, child in schema.get("properties", {}).items():
        dotted = f"{path}{name}"
        yield dotted
        if child.get("additionalProperties") is False:
            yield from chart_keys(child, dotted + ".")


class ChartValuesDocumentation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(CHART_DIR, "values.schema.json")) as source:
            cls.schema = json.load(source)
        cls.keys = [key for key in chart_keys(cls.schema) if key != "global"]
        with open(os.path.join(CHART_DIR, "values.yaml")) as source:
            cls.lines = source.read().splitlines()

    def test_every_key_has_a_comment(self):
        stack = []
        commented = set()
        for number, line in enumerate(self.lines):
            match = re.match(r"^( *)([A-Za-z][\w.-]*):", line)
            if not match:
                continue
            depth = len(match.group(1)) // 2
            stack[depth:] = [match.group(2)]
            if number > 0 and self.lines[number - 1].lstrip().startswith("#"):
                commented.add(".".join(stack))
        for key in self.keys:
            with self.subTest(key=key):
                self.assertIn(key, commented)

    def test_every_key_is_in_schema_and_values(self):
        with open(os.path.join(CHART_DIR, "values.yaml")) as source:
            values = yaml.safe_load(source)
        for key in self.keys:
            with self.subTest(key=key):
                node = values
                for part in key.split("."):
                    self.assertIn(part, node)
                    node = node[part]

    def test_readme_lists_every_leaf_key(self):
        with open(os.path.join(CHART_DIR, "README.md")) as source:
            readme = source.read()
        leaves = [key for key in self.keys
                  if not any(other.startswith(key + ".") for other in self.keys)]
        for key in leaves:
            with self.subTest(key=key):
                self.assertIn(f"`{key}`", readme)


if __name__ == "__main__":
    unittest.main()
