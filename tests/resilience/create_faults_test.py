"""Creates that go wrong the way RunPod's do: a 500 or a lost response after
the pod was made, a list that lags new pods, capacity errors per GPU type.

Each ends with exactly one pod per session: the controller lists by name
before it creates again, and falls back across GPU types.
"""

import time
import unittest

from harness import GPU_4090, ResilienceTest, pod_name_of, session_prefix


def minutes_ago(minutes):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60 * minutes))


class CreateErrorAfterPodMade(ResilienceTest):
    """A create returns 500 after it made the pod, which is billing."""

    def test_pod_is_adopted_not_duplicated(self):
        self.simulator.set_faults([
            {"operation": "createPod", "fault": "errorAfterEffect", "status": 500, "times": 1}])
        controller = self.start_controller()

        self.write_session("user-a")
        self.wait_for_running("user-a")

        self.assertEqual(self.simulator.fault_counters()[0]["applied"], 1)
        self.assertEqual(self.simulator.calls("createPod"), 1)
        self.assertIn("create outcome unknown", controller.log())
        self.assert_invariants(live=["user-a"])


class CreateResponseLost(ResilienceTest):
    """A create's response is lost after the pod was made: the connection
    resets, or the response comes after the client gave up."""

    def test_reset_connection(self):
        self.simulator.set_faults([
            {"operation": "createPod", "fault": "dropResponse", "times": 1}])
        self.start_controller()

        self.write_session("user-a")
        self.wait_for_running("user-a")

        self.assertEqual(self.simulator.calls("createPod"), 1)
        self.assert_invariants(live=["user-a"])

    def test_response_after_timeout(self):
        # The simulator waits past the controller's 3 s request timeout, then
        # makes the pod anyway.
        self.simulator.set_faults([
            {"operation": "createPod", "fault": "delay", "delayMs": 4000, "times": 1}])
        self.start_controller()

        self.write_session("user-a")
        self.wait_for_running("user-a")

        self.assertEqual(self.simulator.calls("createPod"), 1)
        self.assert_invariants(live=["user-a"])


class ListingLag(ResilienceTest):
    """New pods are missing from the list for 3 s after their create."""

    def test_lagging_list_makes_no_second_pod(self):
        self.simulator.set_faults([
            {"operation": "listPods", "fault": "listLag", "lagMs": 3000},
            # Without its create's response, only the list can show this pod.
            {"operation": "createPod", "fault": "dropResponse",
             "namePrefix": session_prefix("user-b"), "times": 1}])
        controller = self.start_controller()

        self.write_session("user-a")
        self.write_session("user-b")
        self.wait_for_running("user-a", "user-b")

        self.assertEqual(self.simulator.calls("createPod"), 2)
        self.assertNotIn("DuplicatePod", controller.log())
        self.assert_invariants(live=["user-a", "user-b"])


class LostStatusAdoption(ResilienceTest):
    """Sessions whose status was lost (restored from a backup without it)
    while their pods run: at start, the controller must list before it plans,
    or it creates a second pod next to each."""

    uids = {"user-a": "a1a1a1a1-1111-4111-8111-000000000001",
            "user-b": "b2b2b2b2-2222-4222-8222-000000000002"}

    def test_running_pods_are_adopted_at_start(self):
        # A slow list makes a create planned before it certain to go first.
        self.simulator.set_faults([{"operation": "listPods", "fault": "delay", "delayMs": 500,
                                    "times": 1}])
        planted = {}
        for name, uid in self.uids.items():
            pod = self.simulator.add_pod(pod_name_of(name, uid), minutes_ago(2),
                                         env={"PODSESSION_UID": uid})
            planted[name] = pod["id"]
            self.write_session(name, uid=uid)

        controller = self.start_controller()

        for name in self.uids:
            status = self.wait_for_phase(name, "Running")
            self.assertEqual(status["podId"], planted[name])
        self.assertEqual(self.simulator.calls("createPod"), 0)
        self.assertNotIn("DuplicatePod", controller.log())
        self.assert_invariants(live=list(self.uids))


class CapacityFallback(ResilienceTest):
    """One GPU type has no capacity while others do; the wording varies."""

    h100 = "NVIDIA H100 80GB HBM3"
    a100 = "NVIDIA A100 80GB PCIe"

    def test_falls_back_and_waits_for_capacity(self):
        self.simulator.set_faults([
            {"operation": "createPod", "gpuId": self.h100, "fault": "error", "status": 400,
             "detail": ["There are no longer any instances available with the requested "
                        "specifications. Please refresh and try again.",
                        "No GPU found matching your criteria"]}])
        self.simulator.admin("PUT", "/_sim/capacity", {"gpuId": self.a100, "available": False})
        self.start_controller()

        # One session finds capacity on its third type.
        self.write_session("user-a", gpu_types=["h100", "a100-80g", "rtx-4090"])
        status = self.wait_for_phase("user-a", "Running")
        self.assertEqual(status["gpuType"], GPU_4090)

        # Another has no type with capacity: it waits with a condition.
        self.write_session("user-b", gpu_types=["h100", "a100-80g"])
        condition = self.wait_for(
            lambda: self.statuses.condition("user-b", "ProviderError"),
            "user-b to report that no GPU type has capacity")
        self.assertEqual(condition["reason"], "NoCapacity")
        self.assertIn(self.h100, condition["message"])
        self.assertIn(self.a100, condition["message"])
        self.assertEqual(self.statuses.status("user-b")["phase"], "Pending")
        self.assertEqual(self.live_pods_of("user-b"), [])

        # Capacity returns, and the next try after the backoff gets a pod.
        self.simulator.admin("PUT", "/_sim/capacity", {"gpuId": self.a100, "available": True})
        status = self.wait_for_phase("user-b", "Running")
        self.assertEqual(status["gpuType"], self.a100)
        self.assertIsNone(self.statuses.condition("user-b", "ProviderError"))
        self.assert_invariants(live=["user-a", "user-b"])


if __name__ == "__main__":
    unittest.main()
