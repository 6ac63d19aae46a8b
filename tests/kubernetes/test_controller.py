"""The controller in Kubernetes mode as a kubectl user meets it, with two kubectl versions.

Each test starts the fake API server (reporting the class's Kubernetes version,
so /usr/bin/kubectl runs its bundled client of that version), a RunPod
simulator and `podsession run --kubeconfig`. Run one version with
`python3 -m unittest test_controller.Controller127Test`.
"""

import base64
import calendar
import json
import os
import subprocess
import time
import unittest

from controller_harness import PODSESSION, ControllerEnvironment, now_rfc3339, session_body
from fakekube import EXAMPLES, FakeApiServer, podsessions, secrets, wait_until

EVENTS = "/api/v1/namespaces/default/events"
UNKNOWN_GPU = """
apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata: {name: wrong-gpu, namespace: default}
spec:
  image: ghcr.io/example/app:1
  gpu: {types: [h900]}
"""


def short_lived(name, ttl_seconds):
    return json.dumps(session_body(name, idleTTLSeconds=ttl_seconds))


class ControllerKubectlBase:
    """Tests shared by every kubectl version; subclasses set VERSION."""

    VERSION = None
    # kubectl 1.27 checks fields through /openapi/v2, which the fake does not serve.
    NEEDS_VALIDATE_FALSE = False

    def setUp(self):
        self.server = FakeApiServer(version=self.VERSION)
        self.addCleanup(self.server.stop)
        self.env = ControllerEnvironment(self, self.server)
        self.controller = self.env.start_controller()

    def kubectl(self, *arguments, stdin=None, expect_success=True):
        result = self.server.kubectl(*arguments, stdin=stdin)
        if expect_success:
            self.assertEqual(result.returncode, 0, f"kubectl {' '.join(arguments)}: {result.stderr}")
        return result

    def apply(self, *arguments, stdin=None):
        validate = ["--validate=false"] if self.NEEDS_VALIDATE_FALSE else []
        return self.kubectl("apply", *validate, *arguments, stdin=stdin)

    def has_warning_event(self, reason):
        events = self.server.get(EVENTS).json["items"]
        return any(event.get("type") == "Warning" and event.get("reason") == reason for event in events)

    def test_apply_example_becomes_ready(self):
        self.kubectl("create", "namespace", "apps")
        self.apply("-f", os.path.join(EXAMPLES, "chat-bearer.yaml"))
        waited = self.kubectl("wait", "-n", "apps", "--for=condition=Ready",
                              "psess/chat-user-42", "--timeout=60s")
        self.assertIn("condition met", waited.stdout)

        obj = self.env.session("chat-user-42", "apps")
        pod = self.env.assert_one_pod_ever("chat-user-42", "apps")
        url = f"https://{pod['id']}-8000.proxy.runpod.net"
        listed = self.kubectl("get", "psess", "-n", "apps")
        row = next(line for line in listed.stdout.splitlines() if line.startswith("chat-user-42"))
        self.assertIn("Running", row)
        self.assertIn(url, row)
        self.assertEqual(obj["status"]["podId"], pod["id"])
        self.assertEqual(obj["status"]["observedGeneration"], obj["metadata"]["generation"])
        self.assertIn("podsession.io/pod-cleanup", obj["metadata"]["finalizers"])

        # The token Secret: owned by the session, holding a token of 43 characters.
        secret = self.server.get(secrets("apps", "chat-user-42-podsession")).json
        self.assertEqual(obj["status"]["tokenSecretName"], "chat-user-42-podsession")
        owner = secret["metadata"]["ownerReferences"][0]
        self.assertEqual((owner["kind"], owner["uid"], owner["controller"]),
                         ("PodSession", obj["metadata"]["uid"], True))
        self.assertEqual(len(base64.b64decode(secret["data"]["token"])), 43)
        token = base64.b64decode(secret["data"]["token"]).decode()
        self.assertNotIn(token, self.controller.output())

        # Every write named the controller's field manager.
        writes = [e for e in self.server.requests() if e["method"] in ("POST", "PATCH", "PUT")
                  and "podsession" in e["userAgent"]]
        self.assertTrue(writes)
        for entry in writes:
            self.assertEqual(entry["params"].get("fieldManager"), "podsession-controller", entry)

    def test_touch_keeps_session_past_ttl(self):
        ttl = 5
        self.apply("-f", "-", stdin=short_lived("touched", ttl))
        self.apply("-f", "-", stdin=short_lived("idle", ttl))
        touched = self.env.wait_for_phase("touched", "Running")
        self.env.wait_for_phase("idle", "Running")
        generation = touched["metadata"]["generation"]

        # Touch one session about every second until the other has expired
        # and one more TTL has passed.
        idle_expired_at = None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            self.kubectl("annotate", "--overwrite", "psess", "touched",
                         f"podsession.io/last-touched={now_rfc3339()}")
            idle = self.env.session("idle")
            if idle_expired_at is None and idle["status"].get("phase") == "Expired":
                idle_expired_at = time.monotonic()
            if idle_expired_at and time.monotonic() - idle_expired_at > ttl:
                break
            time.sleep(0.5)
        self.assertIsNotNone(idle_expired_at, "the untouched session never expired")

        touched_session = self.env.session("touched")
        self.assertEqual(touched_session["status"]["phase"], "Running", touched_session["status"])
        # It has run well past the TTL counted from when it became ready.
        ready_at = calendar.timegm(time.strptime(touched_session["status"]["readyAt"],
                                                 "%Y-%m-%dT%H:%M:%SZ"))
        self.assertGreater(time.time() - ready_at, 1.5 * ttl)
        self.assertEqual(touched_session["metadata"]["generation"], generation)
        self.assertEqual(len(self.env.simulator.live_pods_of("touched")), 1)
        self.env.wait_for_expiry("idle")

        # Without touches it expires as well.
        self.env.wait_for_expiry("touched")
        self.env.assert_one_pod_ever("touched")
        self.env.assert_one_pod_ever("idle")

    def test_delete_terminates_pod_before_object_goes(self):
        self.apply("-f", "-", stdin=json.dumps(session_body("doomed")))
        running = self.env.wait_for_phase("doomed", "Running")
        pod_id = running["status"]["podId"]

        deleted = self.kubectl("delete", "psess", "doomed", "--timeout=60s")
        self.assertIn("deleted", deleted.stdout)
        # kubectl returns once the object is gone; its pod was gone before.
        self.assertIsNone(self.env.session("doomed"))
        pods = self.env.simulator.pods_of("doomed")
        self.assertEqual([(p["id"], p["deleted"]) for p in pods], [(pod_id, True)])
        # The garbage collector takes the token Secret with its owner.
        wait_until(lambda: self.server.get(secrets("default", "doomed-podsession")).status == 404,
                   timeout=10, message="the token Secret to be collected")
        self.assertIn(f"terminated pod session=default/doomed pod={pod_id}", self.controller.output())

    def test_unknown_gpu_gets_condition_and_warning_event(self):
        self.apply("-f", "-", stdin=UNKNOWN_GPU)
        self.kubectl("wait", "--for=condition=SpecInvalid", "psess/wrong-gpu", "--timeout=30s")

        condition = self.env.condition("wrong-gpu", "SpecInvalid")
        self.assertIn('spec.gpu.types[0]: "h900" is not a known GPU type', condition["message"])
        self.assertIn("use an alias (h200, h100", condition["message"])
        # The controller sends the Event while it writes the status, not before,
        # so the condition can be stored before the Event is.
        wait_until(lambda: self.has_warning_event("InvalidSpec"), timeout=30,
                   message="the InvalidSpec Warning Event")
        events = self.kubectl("get", "events", "--field-selector", "type=Warning")
        self.assertRegex(events.stdout, r"Warning\s+InvalidSpec\s+podsession/wrong-gpu\s+spec.gpu.types")
        described = self.kubectl("describe", "psess", "wrong-gpu")
        self.assertIn("h900", described.stdout)
        self.assertRegex(described.stdout, r"Warning\s+InvalidSpec")

        # Nothing was created for it: no pod, no Secret, no finalizer.
        self.assertEqual(self.env.simulator.pods_of("wrong-gpu"), [])
        self.assertEqual(self.server.get(secrets("default", "wrong-gpu-podsession")).status, 404)
        self.assertNotIn("finalizers", self.env.session("wrong-gpu")["metadata"])

        # Fixing the spec creates the pod.
        self.kubectl("patch", "psess", "wrong-gpu", "--type=merge",
                     "-p", '{"spec":{"gpu":{"types":["h100"]}}}')
        self.kubectl("wait", "--for=condition=Ready", "psess/wrong-gpu", "--timeout=30s")
        self.assertIsNone(self.env.condition("wrong-gpu", "SpecInvalid"))
        self.env.assert_one_pod_ever("wrong-gpu")


class Controller127Test(ControllerKubectlBase, unittest.TestCase):
    VERSION = "1.27"
    NEEDS_VALIDATE_FALSE = True


class Controller133Test(ControllerKubectlBase, unittest.TestCase):
    VERSION = "1.33"


class NamespaceScopeTest(unittest.TestCase):
    """`--namespace apps` watches and acts on that namespace only."""

    def test_other_namespaces_untouched(self):
        server = FakeApiServer()
        self.addCleanup(server.stop)
        self.assertEqual(server.kubectl("create", "namespace", "apps").returncode, 0)
        env = ControllerEnvironment(self, server)
        env.start_controller(extra_args=["--namespace", "apps"])
        self.assertEqual(server.create(podsessions("default"), session_body("outside")).status, 201)
        self.assertEqual(server.create(podsessions("apps"), session_body("inside", "apps")).status, 201)

        env.wait_for_phase("inside", "Running", namespace="apps")
        self.assertNotIn("status", env.session("outside"))
        self.assertEqual(env.simulator.pods_of("outside"), [])
        paths = {e["path"] for e in server.requests() if "podsession/" in e["userAgent"]
                 and e["method"] == "GET" and e["path"].endswith("/podsessions")}
        self.assertEqual(paths, {podsessions("apps")})


class TouchCommandTest(unittest.TestCase):
    """`podsession touch --kubeconfig` against the fake API server."""

    def setUp(self):
        self.server = FakeApiServer()
        self.addCleanup(self.server.stop)
        self.assertEqual(self.server.kubectl("create", "namespace", "apps").returncode, 0)
        # Written after the kubectl run, which writes a kubeconfig of its own.
        self.kubeconfig = self.server.write_kubeconfig(namespace="apps")

    def touch(self, *arguments):
        return subprocess.run([PODSESSION, "touch", *arguments, "--kubeconfig", self.kubeconfig],
                              capture_output=True, text=True, timeout=30, check=False)

    def test_patches_annotation_in_context_namespace(self):
        created = self.server.create(podsessions("apps"), session_body("s1", "apps")).json
        result = self.touch("s1", "--time", "2026-12-04T20:00:00Z")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "touched PodSession apps/s1 at 2026-12-04T20:00:00Z")
        obj = self.server.get(podsessions("apps", "s1")).json
        self.assertEqual(obj["metadata"]["annotations"]["podsession.io/last-touched"],
                         "2026-12-04T20:00:00Z")
        self.assertEqual(obj["metadata"]["generation"], created["metadata"]["generation"])
        patch = [e for e in self.server.requests() if e["method"] == "PATCH"][-1]
        self.assertEqual(patch["contentType"], "application/merge-patch+json")
        self.assertEqual(patch["params"]["fieldManager"], "podsession-controller")

    def test_expired_session_warns(self):
        self.server.create(podsessions("apps"), session_body("s2", "apps"))
        self.server.merge_patch(podsessions("apps", "s2", "status"),
                                {"status": {"phase": "Expired", "reason": "IdleTimeout"}})
        result = self.touch("s2")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("warning: PodSession apps/s2 is Expired, and a touch does not bring it back",
                      result.stderr)
        self.assertEqual(self.touch("s1-absent").returncode, 1)

    def test_missing_session_fails(self):
        result = self.touch("absent", "-n", "default")
        self.assertEqual(result.returncode, 1)
        self.assertIn("PodSession default/absent not found", result.stderr)


if __name__ == "__main__":
    unittest.main()
