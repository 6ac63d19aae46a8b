"""The real kubectl against the fake API server, as a user of PodSessions would run it.

The kubectl at /usr/bin/kubectl picks a bundled client matching the server's
reported minor version, so each test class runs one client version. Run one
version with `python3 test_kubectl.py Kubectl133Test`.
"""

import json
import os
import re
import select
import time
import unittest

from fakekube import EXAMPLES, FakeApiServer, podsession, podsessions, stop_process, wait_until

READY_STATUS = {"status": {"conditions": [{
    "type": "Ready", "status": "True", "reason": "PodRunning", "message": "",
    "lastTransitionTime": "2026-12-04T19:37:02Z"}]}}

INVALID_PORT = """
apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata: {name: bad-port}
spec:
  image: ghcr.io/example/app:1
  gpu: {types: [h100]}
  ports: [{port: 70000}]
"""

MISSING_IMAGE = """
apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata: {name: no-image}
spec:
  gpu: {types: [h100]}
"""

UNKNOWN_FIELD = """
apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata: {name: extra-field}
spec:
  image: ghcr.io/example/app:1
  gpu: {types: [h100]}
  sparkles: true
"""


def read_lines_until(stream, text, timeout):
    """Read lines from a pipe until one contains `text`; fail after `timeout` seconds."""
    lines, buffer = [], b""
    deadline = time.monotonic() + timeout
    descriptor = stream.fileno()
    while time.monotonic() < deadline:
        readable, _, _ = select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            break
        chunk = os.read(descriptor, 4096)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            lines.append(line.decode())
            if text in lines[-1]:
                return lines
    raise AssertionError(f"no line with {text!r} within {timeout} s; read {lines} {buffer!r}")


class KubectlTestBase:
    """Tests shared by every client version; subclasses set VERSION."""

    VERSION = None
    # kubectl 1.27 checks server-side field validation through /openapi/v2,
    # which the fake does not serve; later clients use /openapi/v3.
    NEEDS_VALIDATE_FALSE = False

    def setUp(self):
        self.server = FakeApiServer(version=self.VERSION)
        self.addCleanup(self.server.stop)

    def kubectl(self, *arguments, stdin=None, expect_success=True):
        result = self.server.kubectl(*arguments, stdin=stdin)
        if expect_success:
            self.assertEqual(result.returncode, 0, f"kubectl {' '.join(arguments)}: {result.stderr}")
        return result

    def apply_arguments(self):
        return ["apply"] + (["--validate=false"] if self.NEEDS_VALIDATE_FALSE else [])

    def apply_examples(self):
        self.kubectl("create", "namespace", "apps")
        return self.kubectl(*self.apply_arguments(), "-f", EXAMPLES)

    def test_client_version_matches_server(self):
        # The client's own version, not the server's that the same output
        # carries: the tests mean to drive this kubectl version.
        result = self.kubectl("version", "-o", "json")
        client = json.loads(result.stdout)["clientVersion"]
        self.assertEqual(client["minor"], self.VERSION.split(".")[1])
        self.assertRegex(client["gitVersion"], rf"^v{re.escape(self.VERSION)}\.")

    def test_apply_examples(self):
        result = self.apply_examples()
        self.assertIn("podsession.podsession.io/chat-user-42 created", result.stdout)
        self.assertIn("podsession.podsession.io/notebook-user-1001 created", result.stdout)
        self.assertIn("podsession.podsession.io/studio-user-7 created", result.stdout)
        again = self.kubectl(*self.apply_arguments(), "-f", EXAMPLES)
        self.assertIn("podsession.podsession.io/chat-user-42 unchanged", again.stdout)

    def test_get_prints_printer_columns(self):
        self.apply_examples()
        self.server.merge_patch(podsessions("apps", "chat-user-42", "status"), {"status": {
            "phase": "Running", "gpuType": "NVIDIA H100 80GB HBM3",
            "endpoints": [{"port": 8000, "protocol": "http", "url": "https://p1-8000.proxy.runpod.net"}]}})
        result = self.kubectl("get", "psess", "-n", "apps")
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "PHASE", "GPU", "URL", "IDLE-TTL", "AGE"])
        row = next(line for line in lines if line.startswith("chat-user-42"))
        self.assertIn("Running", row)
        self.assertIn("NVIDIA H100 80GB HBM3", row)
        self.assertIn("https://p1-8000.proxy.runpod.net", row)
        self.assertRegex(row, r"\s900\s+\d+s$")

    def test_annotate_does_not_bump_generation(self):
        self.apply_examples()
        before = self.server.get(podsessions("apps", "chat-user-42")).json["metadata"]
        self.kubectl("annotate", "--overwrite", "-n", "apps", "psess", "chat-user-42",
                     "podsession.io/last-touched=2026-12-04T20:00:00Z")
        after = self.server.get(podsessions("apps", "chat-user-42")).json["metadata"]
        self.assertEqual(after["annotations"]["podsession.io/last-touched"], "2026-12-04T20:00:00Z")
        self.assertEqual(after["generation"], before["generation"])
        self.assertNotEqual(after["resourceVersion"], before["resourceVersion"])

    def test_patch_status_subresource(self):
        self.apply_examples()
        self.kubectl("patch", "-n", "apps", "psess", "chat-user-42", "--subresource=status",
                     "--type=merge", "-p", '{"status":{"phase":"Running"},"spec":{"idleTTLSeconds":1}}')
        obj = self.server.get(podsessions("apps", "chat-user-42")).json
        self.assertEqual(obj["status"]["phase"], "Running")
        self.assertEqual(obj["spec"]["idleTTLSeconds"], 900)
        self.assertEqual(obj["metadata"]["generation"], 1)

    def test_delete_waits_for_finalizer(self):
        self.apply_examples()
        self.kubectl("patch", "-n", "apps", "psess", "chat-user-42", "--type=merge",
                     "-p", '{"metadata":{"finalizers":["podsession.io/pod-cleanup"]}}')
        self.kubectl("delete", "-n", "apps", "psess", "chat-user-42", "--wait=false")
        obj = self.server.get(podsessions("apps", "chat-user-42")).json
        self.assertIn("deletionTimestamp", obj["metadata"])

        waiting = self.server.kubectl_background("delete", "-n", "apps", "psess", "chat-user-42",
                                                 "--timeout=30s")
        self.addCleanup(stop_process, waiting)
        self.server.wait_for_watches("podsessions")
        self.assertIsNone(waiting.poll())
        self.kubectl("patch", "-n", "apps", "psess", "chat-user-42", "--type=json",
                     "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
        _, stderr = waiting.communicate(timeout=30)
        self.assertEqual(waiting.returncode, 0, stderr)
        self.assertEqual(self.server.get(podsessions("apps", "chat-user-42")).status, 404)

    def test_wait_for_ready_condition(self):
        self.apply_examples()
        waiting = self.server.kubectl_background("wait", "-n", "apps", "--for=condition=Ready",
                                                 "psess/studio-user-7", "--timeout=30s")
        self.addCleanup(stop_process, waiting)
        self.server.wait_for_watches("podsessions")
        self.assertIsNone(waiting.poll())
        response = self.server.merge_patch(podsessions("apps", "studio-user-7", "status"), READY_STATUS)
        self.assertEqual(response.status, 200, response)
        stdout, stderr = waiting.communicate(timeout=30)
        self.assertEqual(waiting.returncode, 0, stderr)
        self.assertIn("condition met", stdout)

    def test_invalid_port_rejected(self):
        result = self.kubectl(*self.apply_arguments(), "-f", "-", stdin=INVALID_PORT, expect_success=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('The PodSession "bad-port" is invalid', result.stderr)
        self.assertIn("spec.ports[0].port: Invalid value: 70000: spec.ports[0].port in body should be "
                      "less than or equal to 65535", result.stderr)

    def test_missing_image_rejected(self):
        result = self.kubectl(*self.apply_arguments(), "-f", "-", stdin=MISSING_IMAGE, expect_success=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("spec.image: Required value", result.stderr)

    def test_unknown_field_pruned_without_validation(self):
        self.kubectl("apply", "--validate=false", "-f", "-", stdin=UNKNOWN_FIELD)
        obj = self.server.get(podsessions("default", "extra-field")).json
        self.assertNotIn("sparkles", obj["spec"])

    def test_get_yaml_and_delete(self):
        self.server.create(podsessions(), podsession("s1"))
        result = self.kubectl("get", "psess", "s1", "-o", "yaml")
        self.assertIn("kind: PodSession", result.stdout)
        self.assertIn("generation: 1", result.stdout)
        self.kubectl("delete", "psess", "s1")
        self.assertEqual(self.server.get(podsessions(name="s1")).status, 404)

    def test_create_secret_and_namespace(self):
        self.kubectl("create", "namespace", "apps")
        self.kubectl("create", "secret", "generic", "s1-podsession", "-n", "apps", "--from-literal=token=abc")
        result = self.kubectl("get", "secrets", "-n", "apps")
        self.assertEqual(result.stdout.splitlines()[0].split(), ["NAME", "TYPE", "DATA", "AGE"])
        self.assertIn("s1-podsession", result.stdout)

    def test_describe_shows_events(self):
        created = self.server.create(podsessions(), podsession("s1")).json
        event = {"metadata": {"name": "s1.1"}, "eventTime": "2026-12-04T19:37:02.000000Z",
                 "reportingController": "podsession.io/controller", "reportingInstance": "pod-a",
                 "action": "CreatePod", "reason": "PodCreated", "type": "Normal", "note": "created pod p1",
                 "regarding": {"apiVersion": "podsession.io/v1alpha1", "kind": "PodSession",
                               "namespace": "default", "name": "s1", "uid": created["metadata"]["uid"]}}
        response = self.server.create("/apis/events.k8s.io/v1/namespaces/default/events", event)
        self.assertEqual(response.status, 201, response)
        described = self.kubectl("describe", "psess", "s1")
        self.assertRegex(described.stdout, r"Normal\s+PodCreated\s+\S+\s+podsession.io/controller\s+created pod p1")
        for resource in ("events", "events.v1.events.k8s.io"):
            with self.subTest(resource=resource):
                listed = self.kubectl("get", resource)
                self.assertRegex(listed.stdout, r"Normal\s+PodCreated\s+podsession/s1\s+created pod p1")

    def test_get_watch_prints_changes(self):
        self.server.create(podsessions(), podsession("s1"))
        watching = self.server.kubectl_background("get", "psess", "--watch", "--request-timeout=30s")
        self.addCleanup(stop_process, watching)
        self.server.wait_for_watches("podsessions")
        self.server.merge_patch(podsessions(name="s1", subresource="status"), {"status": {"phase": "Running"}})
        lines = read_lines_until(watching.stdout, "Running", timeout=20)
        self.assertTrue(lines[0].split()[:2] == ["NAME", "PHASE"], lines)
        self.assertRegex(lines[-1], r"^s1\s+Running\s")


class Kubectl127Test(KubectlTestBase, unittest.TestCase):
    VERSION = "1.27"
    NEEDS_VALIDATE_FALSE = True


class Kubectl133Test(KubectlTestBase, unittest.TestCase):
    VERSION = "1.33"

    def test_streaming_list_wait(self):
        self.apply_examples()
        waiting = self.server.kubectl_background(
            "wait", "-n", "apps", "--for=condition=Ready", "psess/studio-user-7", "--timeout=30s",
            environment={"KUBE_FEATURE_WatchListClient": "true"})
        self.addCleanup(stop_process, waiting)
        self.server.wait_for_watches("podsessions")
        self.server.merge_patch(podsessions("apps", "studio-user-7", "status"), READY_STATUS)
        _, stderr = waiting.communicate(timeout=30)
        self.assertEqual(waiting.returncode, 0, stderr)
        watches = [e for e in self.server.requests() if e["watch"]]
        self.assertEqual(watches[0]["params"].get("sendInitialEvents"), "true")

    def test_streaming_list_fallback_when_rejected(self):
        self.apply_examples()
        self.server.faults(watchList=False)
        waiting = self.server.kubectl_background(
            "wait", "-n", "apps", "--for=condition=Ready", "psess/studio-user-7", "--timeout=30s",
            environment={"KUBE_FEATURE_WatchListClient": "true"})
        self.addCleanup(stop_process, waiting)
        wait_until(lambda: any(e["watch"] and "sendInitialEvents" not in e["params"]
                               for e in self.server.requests()),
                   timeout=20, message="kubectl to fall back to list and watch")
        self.server.wait_for_watches("podsessions")
        self.server.merge_patch(podsessions("apps", "studio-user-7", "status"), READY_STATUS)
        _, stderr = waiting.communicate(timeout=30)
        self.assertEqual(waiting.returncode, 0, stderr)
        self.assertTrue(any(e["code"] == 422 for e in self.server.requests()))

    def test_apply_validates_on_server(self):
        self.kubectl("apply", "-f", "-", stdin=UNKNOWN_FIELD.replace("extra-field", "strict"),
                     expect_success=False)
        posts = [e for e in self.server.requests() if e["method"] == "POST"]
        self.assertEqual(posts[-1]["params"].get("fieldValidation"), "Strict")
        self.assertEqual(posts[-1]["code"], 400)


if __name__ == "__main__":
    unittest.main()
