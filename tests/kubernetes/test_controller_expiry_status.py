"""An idle expiry whose status write fails must still end as Expired, not as a pod
that vanished.

The controller terminates the pod even when the API server refuses the
`Expired` status, so nothing bills. On the next list it must remember that it
ended the pod itself. Reporting "terminated outside the controller" and phase
Failed would show the application a crashed pod where the session only idled out.
"""

import time
import unittest

from controller_harness import ControllerEnvironment, session_body
from fakekube import FakeApiServer, podsessions, wait_until

TTL_SECONDS = 3


class ExpiryStatusFailureTest(unittest.TestCase):
    def setUp(self):
        self.server = FakeApiServer()
        self.addCleanup(self.server.stop)
        self.env = ControllerEnvironment(self, self.server)

    def test_expiry_failed_status_ends_expired(self):
        controller = self.env.start_controller()
        response = self.server.create(podsessions(), session_body("s1", idleTTLSeconds=TTL_SECONDS))
        self.assertEqual(response.status, 201, response)
        self.env.wait_for_phase("s1", "Running")
        # Every status write of s1 fails with 500 until the pod is gone, and for 2 s after.
        self.server.faults(failWrites={"path": podsessions(name="s1", subresource="status"),
                                       "method": "PATCH", "code": 500, "count": 30})
        wait_until(lambda: not self.env.simulator.live_pods_of("s1"), timeout=20, interval=0.05,
                   message="the idle pod to be terminated")
        time.sleep(2)
        self.assertEqual(self.server.request("DELETE", "/_fake/faults").status, 200)

        obj = self.env.wait_for_phase("s1", "Expired", timeout=15)
        self.assertEqual(obj["status"]["reason"], "IdleTimeout")
        self.assertNotIn("terminated outside the controller", controller.output())
        self.env.assert_one_pod_ever("s1")


if __name__ == "__main__":
    unittest.main()
