"""The transport to RunPod: TLS verification against a CA the test creates,
the client-side rate limit under a small quota, and 429 bursts with
Retry-After.
"""

import os
import unittest

from harness import (ResilienceTest, Simulator, make_certificate_authority,
                     make_server_certificate)


class Tls(ResilienceTest):
    """The simulator serves HTTPS with a certificate from a CA made here."""

    def make_simulator(self):
        certificates = os.path.join(self.workdir, "certificates")
        os.mkdir(certificates)
        self.authority = make_certificate_authority(certificates, "right")
        self.other_authority = make_certificate_authority(certificates, "other")
        identity = make_server_certificate(certificates, self.authority)
        return Simulator(self.workdir, boot_seconds=self.boot_seconds, tls=identity,
                         ca_file=self.authority[0])

    def sessions(self, name):
        directory = os.path.join(self.workdir, name)
        os.mkdir(directory)
        with open(os.path.join(directory, "user.yaml"), "w", encoding="utf-8") as file:
            file.write(f"""apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata:
  name: {name}
spec:
  userId: "{name}"
  image: ghcr.io/example/inference:1.0
  gpu:
    types: [rtx-4090]
""")
        return directory

    def test_verifies_certificate_against_given_ca(self):
        self.assertTrue(self.simulator.base_url.startswith("https://"))
        # The system's CA store does not know the test's CA, and neither does
        # another CA.
        untrusting = self.start_controller(sessions_dir=self.sessions("system-store"))
        wrong_ca = self.start_controller(sessions_dir=self.sessions("wrong-ca"),
                                         extra=["--runpod-ca-file", self.other_authority[0]])
        for controller in (untrusting, wrong_ca):
            self.wait_for(lambda controller=controller:
                          "listing pods failed" in controller.log()
                          and "TLS certificate failed verification" in controller.log(),
                          "a log line about the rejected certificate")
            self.assertIn("--runpod-ca-file", controller.log())

        # With the right CA file, the same simulator serves the controller.
        trusting = self.start_controller(sessions_dir=self.sessions("right-ca"),
                                         extra=["--runpod-ca-file", self.authority[0]])
        self.statuses.sessions_dir = os.path.join(self.workdir, "right-ca")
        self.wait_for_running("right-ca")
        # Only the trusting controller's requests reached HTTP.
        self.assertEqual(len(self.simulator.pods()), 1)
        self.assertEqual(self.simulator.calls("createPod"), 1)
        self.assertNotIn("certificate", trusting.log())
        self.assert_invariants(live=["right-ca"])


class RateLimitBurst(ResilienceTest):
    """RunPod returns a burst of 429s with Retry-After: 2."""

    def test_every_request_waits_as_told(self):
        self.simulator.set_faults([{"fault": "error", "status": 429, "retryAfterSeconds": 2,
                                    "after": 3, "times": 3}])
        controller = self.start_controller()

        self.write_session("user-a")
        self.write_session("user-b")
        self.wait_for_running("user-a", "user-b")

        self.assertEqual(self.simulator.fault_counters()[0]["applied"], 3)
        requests = self.simulator.requests()
        limited = [request for request in requests if request["status"] == 429]
        self.assertEqual(len(limited), 3)
        for burst in limited:
            # No request of any kind arrives before Retry-After has passed.
            # Requests already sent when the 429 went out may still arrive in
            # its first moments, so the check starts 200 ms after it; and times
            # are whole milliseconds, so it ends 10 ms early.
            too_early = [request for request in requests
                         if burst["answeredMs"] + 200 < request["receivedMs"]
                         < burst["answeredMs"] + 2000 - 10]
            self.assertEqual(too_early, [], f"requests inside the Retry-After of {burst}")
        self.assertIn("waiting for RunPod's rate limit", controller.log())
        self.assert_invariants(live=["user-a", "user-b"])


class RateLimitQuota(ResilienceTest):
    """The simulator allows 4 requests per 3 s window, far fewer than eight
    new sessions need at once."""

    quota = 4
    rate_limits = (f"burst={quota}/3",)

    def test_requests_stay_within_quota(self):
        names = [f"user-{i}" for i in range(8)]
        controller = self.start_controller()

        for name in names:
            self.write_session(name)
        self.wait_for_running(*names, timeout=60)

        windows = self.simulator.state()["rateLimits"]
        self.assertEqual([window["name"] for window in windows], ["burst"])
        self.assertEqual(windows[0]["rejected"], 0)
        # The quota mattered: the work took at least three windows.
        self.assertGreater(len(self.simulator.requests()), 2 * self.quota)
        self.assertIn("waiting for RunPod's rate limit", controller.log())
        self.assert_invariants(live=names)


if __name__ == "__main__":
    unittest.main()
