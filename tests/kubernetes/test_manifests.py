"""Checks of manifests/: yamllint, the CRD's structure, RBAC least privilege, Deployment settings."""

import os
import subprocess
import unittest

import yaml

from fakekube import EXAMPLES, REPO_ROOT, FakeApiServer

MANIFESTS = os.path.join(REPO_ROOT, "manifests")
NAMESPACE = "podsession-system"
ACCOUNT = "podsession-controller"


def load(name):
    with open(os.path.join(MANIFESTS, name), encoding="utf-8") as stream:
        return [d for d in yaml.safe_load_all(stream) if d]


def by_kind(documents, kind):
    found = [d for d in documents if d["kind"] == kind]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind}, found {len(found)}")
    return found[0]


class YamllintTest(unittest.TestCase):
    def test_manifests_pass_yamllint(self):
        result = subprocess.run(["yamllint", "-f", "parsable", "-c", os.path.join(REPO_ROOT, ".yamllint"),
                                 MANIFESTS], capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


class CrdTest(unittest.TestCase):
    def setUp(self):
        self.crd = load("crd.yaml")[0]
        self.version = self.crd["spec"]["versions"][0]
        self.schema = self.version["schema"]["openAPIV3Schema"]

    def walk(self, node, path):
        yield path, node
        for name, child in (node.get("properties") or {}).items():
            yield from self.walk(child, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            yield from self.walk(node["items"], f"{path}[]")

    def test_schema_is_structural(self):
        for path, node in self.walk(self.schema, ""):
            with self.subTest(path=path):
                self.assertIn("type", node, "a structural schema gives every node a type")

    def test_spec_and_status_fields_have_descriptions(self):
        for path, node in self.walk(self.schema["properties"]["spec"], ".spec"):
            with self.subTest(path=path):
                if not path.endswith("[]"):
                    self.assertTrue(node.get("description"), "missing description")

    def test_printer_columns_point_into_schema(self):
        for column in self.version["additionalPrinterColumns"]:
            path = column["jsonPath"]
            if path.startswith(".metadata."):
                continue
            node = self.schema
            for part in path.strip(".").split("."):
                name = part.split("[")[0]
                node = node["properties"][name]
                if "[" in part:
                    node = node["items"]
            with self.subTest(column=column["name"]):
                self.assertEqual(node["type"], column["type"])

    def test_list_map_keys_are_required_or_defaulted(self):
        for path, node in self.walk(self.schema, ""):
            if node.get("x-kubernetes-list-type") != "map":
                continue
            item = node["items"]
            for key in node["x-kubernetes-list-map-keys"]:
                with self.subTest(path=path, key=key):
                    self.assertTrue(key in item.get("required", []) or "default" in item["properties"][key])

    def test_fake_serves_crd_and_examples_validate(self):
        server = FakeApiServer()
        self.addCleanup(server.stop)
        self.assertEqual(server.kubectl("create", "namespace", "apps").returncode, 0)
        result = server.kubectl("apply", "--dry-run=server", "-f", EXAMPLES)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.count("created (server dry run)"), 3, result.stdout)


class RbacTest(unittest.TestCase):
    def setUp(self):
        self.documents = load("rbac.yaml")

    def rules(self, kind):
        return {(tuple(r["apiGroups"]), tuple(r["resources"])): sorted(r["verbs"])
                for r in by_kind(self.documents, kind)["rules"]}

    def test_service_account(self):
        account = by_kind(self.documents, "ServiceAccount")
        self.assertEqual(account["metadata"], {"name": ACCOUNT, "namespace": NAMESPACE,
                                               "labels": {"app.kubernetes.io/name": ACCOUNT}})

    def test_cluster_role_is_least_privilege(self):
        self.assertEqual(self.rules("ClusterRole"), {
            (("podsession.io",), ("podsessions",)): ["get", "list", "patch", "watch"],
            (("podsession.io",), ("podsessions/status",)): ["patch"],
            (("podsession.io",), ("podsessions/finalizers",)): ["update"],
            (("",), ("secrets",)): ["create", "delete", "get"],
            (("",), ("events",)): ["create", "patch"],
        })

    def test_lease_role_is_namespaced(self):
        role = by_kind(self.documents, "Role")
        self.assertEqual(role["metadata"]["namespace"], NAMESPACE)
        self.assertEqual(self.rules("Role"), {
            (("coordination.k8s.io",), ("leases",)): ["create", "get", "update"]})

    def test_bindings_grant_the_service_account(self):
        for kind, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
            with self.subTest(kind=kind):
                binding = by_kind(self.documents, kind)
                role = by_kind(self.documents, role_kind)
                self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io",
                                                      "kind": role_kind, "name": role["metadata"]["name"]})
                self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": ACCOUNT,
                                                        "namespace": NAMESPACE}])


class DeploymentTest(unittest.TestCase):
    def setUp(self):
        self.documents = load("deployment.yaml")
        self.deployment = by_kind(self.documents, "Deployment")
        self.pod = self.deployment["spec"]["template"]["spec"]
        self.container = self.pod["containers"][0]

    def test_namespace_first(self):
        self.assertEqual(self.documents[0]["kind"], "Namespace")
        self.assertEqual(self.documents[0]["metadata"]["name"], NAMESPACE)
        self.assertEqual(self.deployment["metadata"]["namespace"], NAMESPACE)

    def test_selector_matches_template(self):
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for key, value in self.deployment["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(labels.get(key), value)

    def test_image_and_arguments(self):
        self.assertEqual(self.container["image"], "ghcr.io/podsession/podsession-controller:0.1.0")
        self.assertEqual(self.container["args"][:4], ["run", "--provider", "runpod", "--leader-elect"])
        self.assertEqual(self.pod["serviceAccountName"], ACCOUNT)

    def test_api_key_from_secret(self):
        env = {e["name"]: e for e in self.container["env"]}
        self.assertEqual(env["RUNPOD_API_KEY"]["valueFrom"]["secretKeyRef"],
                         {"name": "podsession-runpod", "key": "RUNPOD_API_KEY"})
        self.assertNotIn("value", env["RUNPOD_API_KEY"])
        self.assertFalse(any(d["kind"] == "Secret" for d in self.documents))

    def test_probes(self):
        port = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        self.assertEqual(port["http"], 8080)
        self.assertEqual(self.container["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "http"})
        self.assertEqual(self.container["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "http"})

    def test_runs_restricted(self):
        pod_context = self.pod["securityContext"]
        self.assertTrue(pod_context["runAsNonRoot"])
        self.assertNotEqual(pod_context["runAsUser"], 0)
        self.assertEqual(pod_context["seccompProfile"], {"type": "RuntimeDefault"})
        context = self.container["securityContext"]
        self.assertFalse(context["allowPrivilegeEscalation"])
        self.assertTrue(context["readOnlyRootFilesystem"])
        self.assertEqual(context["capabilities"], {"drop": ["ALL"]})

    def test_resources_set(self):
        resources = self.container["resources"]
        self.assertIn("cpu", resources["requests"])
        self.assertIn("memory", resources["requests"])
        self.assertIn("memory", resources["limits"])

    def test_namespace_applies_to_fake(self):
        server = FakeApiServer()
        self.addCleanup(server.stop)
        result = server.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(self.documents[0]))
        self.assertEqual(result.returncode, 0, result.stderr)
        namespace = server.get(f"/api/v1/namespaces/{NAMESPACE}").json
        self.assertEqual(namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted")


if __name__ == "__main__":
    unittest.main()
