"""A restarted controller must not reap its sessions' pods as orphans before it has
listed the PodSessions.

The first RunPod pod list of a new process can come back before the first
PodSession list, above all when the API server responds slowly. At that moment
the controller has no session yet, so every pod of its controller id looks
unclaimed; a pod older than --orphan-grace (10 min by default, so any session
in use) must still wait until the sessions are known.
"""

import time
import unittest
from unittest import mock

import controller_harness
from controller_harness import ControllerEnvironment, session_body
from fakekube import FakeApiServer, podsessions

ORPHAN_GRACE_SECONDS = 2
TIMING = ["--poll-interval", "200ms", "--resync-interval", "1s", "--create-settle", "10s",
          "--orphan-grace", f"{ORPHAN_GRACE_SECONDS}s"]
SESSIONS = ("u1", "u2", "u3")


class RestartOrphanTest(unittest.TestCase):
    def setUp(self):
        patcher = mock.patch.object(controller_harness, "CONTROLLER_TIMING", TIMING)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.server = FakeApiServer()
        self.addCleanup(self.server.stop)
        self.env = ControllerEnvironment(self, self.server)

    def test_restart_slow_list_keeps_pods(self):
        first = self.env.start_controller("ctl-a")
        for name in SESSIONS:
            response = self.server.create(podsessions(), session_body(name, idleTTLSeconds=600))
            self.assertEqual(response.status, 201, response)
        for name in SESSIONS:
            self.env.wait_for_phase(name, "Running")
        # Every pod is older than the orphan grace, as any pod in use is in production.
        time.sleep(ORPHAN_GRACE_SECONDS + 1)
        self.assertEqual(first.stop(), 0)

        # The API server delays PodSession responses by 1 s, as a busy one does
        # during a rollout. RunPod responds at once.
        self.server.faults(delayMs=1000, delayPathPrefix="/apis/podsession.io/")
        second = self.env.start_controller("ctl-b")
        self.assertTrue(second.wait_for_log("listed PodSessions"))
        self.assertEqual(self.server.request("DELETE", "/_fake/faults").status, 200)
        time.sleep(2)

        self.assertNotIn("OrphanPod", second.output())
        for name in SESSIONS:
            self.assertEqual(len(self.env.simulator.live_pods_of(name)), 1, name)
            self.assertEqual(self.env.session(name)["status"]["phase"], "Running", name)


if __name__ == "__main__":
    unittest.main()
