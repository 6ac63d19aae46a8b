"""The controller in Kubernetes mode under API faults: a restart in the middle of a create,
a dropped watch, a watch that lags behind a touch, a 410 Gone, and a 409 Conflict, 429 or
503 on a status write.

Each case ends with the same two checks: the simulator saw exactly one pod per
session (no duplicate), and a session with a short idle TTL still expires and
loses its pod (no missed expiry). The faults are the fake API server's switches
(tests/fakes/kube_apiserver.py).
"""

import unittest

from controller_harness import ControllerEnvironment, now_rfc3339, session_body
from fakekube import FakeApiServer, podsessions, secrets, wait_until

TTL_SECONDS = 3


class FaultTestBase(unittest.TestCase):
    def setUp(self):
        self.server = FakeApiServer()
        self.addCleanup(self.server.stop)
        self.env = ControllerEnvironment(self, self.server)

    def create(self, name, ttl=TTL_SECONDS):
        response = self.server.create(podsessions(), session_body(name, idleTTLSeconds=ttl))
        self.assertEqual(response.status, 201, response)
        return response.json

    def api_requests(self, user_agent="podsession/"):
        return [e for e in self.server.requests() if user_agent in e["userAgent"]]

    def lists(self):
        """The controller's PodSession lists (not watches)."""
        return [e for e in self.api_requests()
                if e["method"] == "GET" and e["path"].endswith("/podsessions") and not e["watch"]]

    def watches(self):
        return [e for e in self.api_requests() if e["watch"]]


class RestartMidCreateTest(FaultTestBase):
    def status_write_in_flight(self, status_path):
        """Return whether a status PATCH has reached the fake and has no response yet."""
        return any(entry["method"] == "PATCH" and entry["path"] == status_path and "code" not in entry
                   for entry in self.server.requests())

    def test_restart_between_create_and_status_adopts_pod(self):
        status_path = podsessions(name="s1", subresource="status")
        # Status writes of s1 take 1.5 s, so the controller can be killed after
        # RunPod created the pod and before the status naming it is stored.
        self.server.faults(delayMs=1500, delayPathPrefix=status_path)
        first = self.env.start_controller("ctl-a")
        self.create("s1")

        pod = wait_until(lambda: self.env.simulator.pods_of("s1"), timeout=20, interval=0.02,
                         message="RunPod to create the pod")[0]
        # The simulator can list the pod before the controller reads the create
        # response and sends the status naming it: wait until that write arrives.
        wait_until(lambda: self.status_write_in_flight(status_path), timeout=10, interval=0.02,
                   message="the status write naming the pod to arrive")
        # The status write in flight fails when its delay ends; then the process dies.
        self.server.faults(failWrites={"path": status_path, "method": "PATCH", "code": 500,
                                       "count": 1})
        first.kill()
        wait_until(lambda: not self.server.request("GET", "/_fake/faults").json["failWrites"],
                   timeout=10, message="the status write in flight to fail")
        self.assertEqual(self.server.request("DELETE", "/_fake/faults").status, 200)

        # The stored status records a create request but names no pod, so the
        # restart is in the middle of the create.
        status = self.env.session("s1")["status"]
        self.assertIn("createRequestedAt", status)
        self.assertNotIn("podId", status)

        second = self.env.start_controller("ctl-b")
        running = self.env.wait_for_phase("s1", "Running")
        self.assertEqual(running["status"]["podId"], pod["id"])
        self.env.assert_one_pod_ever("s1")
        self.assertNotIn("created pod", second.output())
        self.env.wait_for_expiry("s1")
        self.env.assert_one_pod_ever("s1")


class DroppedWatchTest(FaultTestBase):
    def test_dropped_watch_resumes_from_last_version(self):
        self.env.start_controller()
        self.create("s1")
        self.env.wait_for_phase("s1", "Running")
        self.server.wait_for_watches("podsessions")
        lists_before = len(self.lists())
        watches_before = len(self.watches())

        self.server.faults(dropWatches="podsessions")
        self.create("s2")
        self.env.wait_for_phase("s2", "Running")

        # It watched again from a resourceVersion, without listing again.
        self.assertEqual(len(self.lists()), lists_before)
        rewatch = self.watches()[watches_before]
        self.assertTrue(rewatch["params"].get("resourceVersion"), rewatch)
        self.assertEqual(rewatch["params"].get("allowWatchBookmarks"), "true")
        for name in ("s1", "s2"):
            self.env.wait_for_expiry(name)
            self.env.assert_one_pod_ever(name)


class LaggingWatchTest(FaultTestBase):
    def test_undelivered_touch_prevents_cull(self):
        self.env.start_controller()
        self.create("s1", ttl=4)
        running = self.env.wait_for_phase("s1", "Running")
        self.server.wait_for_watches("podsessions")
        first_deadline = running["status"]["expiresAt"]

        # The app touches the session, but the watch delays the event: only
        # the read the controller makes before an idle expiry can see the touch.
        self.server.faults(holdWatchEvents=True)
        patched = self.server.merge_patch(
            podsessions(name="s1"),
            {"metadata": {"annotations": {"podsession.io/last-touched": now_rfc3339()}}})
        self.assertEqual(patched.status, 200, patched)
        seen_before = max((e["seq"] for e in self.server.requests()), default=0)
        moved = wait_until(
            lambda: (obj := self.env.session("s1"))["status"].get("expiresAt", "") > first_deadline and obj,
            timeout=15, interval=0.05, message="expiresAt to move past the first deadline")
        self.assertEqual(moved["status"]["phase"], "Running")
        self.assertTrue(self.env.simulator.live_pods_of("s1"))
        reads = [e for e in self.server.requests(since=seen_before)
                 if "podsession/" in e["userAgent"] and e["method"] == "GET"
                 and e["path"] == podsessions(name="s1") and not e["watch"]]
        self.assertTrue(reads, "the controller did not read the PodSession before the expiry")

        self.server.faults(holdWatchEvents=False)
        self.env.wait_for_expiry("s1")
        self.env.assert_one_pod_ever("s1")


class GoneTest(FaultTestBase):
    def test_410_relists_and_misses_nothing(self):
        controller = self.env.start_controller()
        self.create("s1", ttl=60)
        running = self.env.wait_for_phase("s1", "Running")
        self.server.wait_for_watches("podsessions")
        lists_before = len(self.lists())

        # The next watch gets 410 Expired; meanwhile s1 is deleted and s2 created.
        self.server.faults(goneNext={"verb": "watch", "resource": "podsessions", "count": 1})
        self.server.faults(dropWatches="podsessions")
        self.assertEqual(self.server.request("DELETE", podsessions(name="s1")).status, 200)
        self.create("s2")

        self.env.wait_for_gone("s1")
        self.assertTrue(all(p["deleted"] for p in self.env.simulator.pods_of("s1")))
        self.assertEqual(self.env.simulator.pods_of("s1")[0]["id"], running["status"]["podId"])
        self.env.wait_for_phase("s2", "Running")
        self.assertGreater(len(self.lists()), lists_before)
        self.assertIn("watch resourceVersion expired, listing again", controller.output())
        self.env.assert_one_pod_ever("s1")
        self.env.wait_for_expiry("s2")
        self.env.assert_one_pod_ever("s2")


class StatusConflictTest(FaultTestBase):
    def test_status_conflict_rereads_and_retries(self):
        status_path = podsessions(name="s1", subresource="status")
        self.server.faults(failWrites={"path": status_path, "method": "PATCH", "code": 409,
                                       "count": 2})
        self.env.start_controller()
        created = self.create("s1")
        self.env.wait_for_phase("s1", "Running")

        # Two conflicts, each followed by a read of the object, then success. A
        # request still in flight has no code yet, so it reads as None.
        session_path = podsessions(name="s1")
        trail = [(e["method"], e.get("code")) for e in self.api_requests()
                 if e["path"] in (status_path, session_path) and not e["watch"]]
        self.assertEqual(trail[:5], [("PATCH", 409), ("GET", 200), ("PATCH", 409), ("GET", 200),
                                     ("PATCH", 200)])
        self.assertEqual(self.env.session("s1")["metadata"]["uid"], created["metadata"]["uid"])
        self.env.wait_for_expiry("s1")
        self.env.assert_one_pod_ever("s1")


    def test_status_write_retries_429_and_503(self):
        status_path = podsessions(name="s1", subresource="status")
        self.server.faults(failWrites={"path": status_path, "method": "PATCH", "code": 429,
                                       "count": 1})
        self.server.faults(failWrites={"path": status_path, "method": "PATCH", "code": 503,
                                       "count": 1})
        self.env.start_controller()
        self.create("s1")
        self.env.wait_for_phase("s1", "Running")
        codes = [e.get("code") for e in self.api_requests()
                 if e["path"] == status_path and e["method"] == "PATCH"]
        self.assertEqual(codes[:3], [429, 503, 200])
        self.env.assert_one_pod_ever("s1")


class ForeignSecretTest(FaultTestBase):
    """A Secret with the session's token Secret name, owned by another live PodSession."""

    def test_other_sessions_secret_is_kept(self):
        controller = self.env.start_controller()
        other = self.create("other", ttl=600)
        self.env.wait_for_phase("other", "Running")
        planted = {"metadata": {"name": "victim-podsession", "ownerReferences": [{
            "apiVersion": "podsession.io/v1alpha1", "kind": "PodSession", "name": "other",
            "uid": other["metadata"]["uid"], "controller": True}]},
            "stringData": {"token": "planted-not-a-token"}}
        self.assertEqual(self.server.create(secrets(), planted).status, 201)

        self.create("victim", ttl=600)
        controller.wait_for_log("owned by another PodSession", timeout=20)
        # The other session's Secret stays, and no pod starts with a token
        # nobody could read.
        self.assertEqual(self.server.get(secrets("default", "victim-podsession")).status, 200)
        self.assertEqual(self.env.simulator.pods_of("victim"), [])


if __name__ == "__main__":
    unittest.main()
