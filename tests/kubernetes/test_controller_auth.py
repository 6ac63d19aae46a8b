"""The controller's credentials against a TLS fake API server: a bearer token, a client
certificate as base64 data, a wrong token, and kubeconfigs the controller rejects."""

import base64
import json
import os
import subprocess
import tempfile
import unittest

from controller_harness import PODSESSION, ControllerEnvironment, session_body
from fakekube import FakeApiServer, make_certificates, podsessions, wait_until

TOKEN = "controller-token-for-tests"


def b64(path):
    with open(path, "rb") as stream:
        return base64.b64encode(stream.read()).decode()


class TlsAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certificates_folder = tempfile.TemporaryDirectory(prefix="podsession-certs-")
        cls.certificates = make_certificates(cls.certificates_folder.name)

    @classmethod
    def tearDownClass(cls):
        cls.certificates_folder.cleanup()

    def setUp(self):
        tls = {"ca": self.certificates["ca"], **self.certificates["server"]}
        self.server = FakeApiServer(token=TOKEN, tls=tls, client_ca=self.certificates["ca"])
        self.addCleanup(self.server.stop)
        self.env = ControllerEnvironment(self, self.server)

    def use_user(self, user, cluster_extra=None):
        """Point the environment's kubeconfig at `user`, trusting the CA as base64 data."""
        cluster = {"server": self.server.url,
                   "certificate-authority-data": b64(self.certificates["ca"]), **(cluster_extra or {})}
        config = {"apiVersion": "v1", "kind": "Config",
                  "clusters": [{"name": "fake", "cluster": cluster}],
                  "users": [{"name": "controller", "user": user}],
                  "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "controller"}}],
                  "current-context": "fake"}
        with open(self.env.kubeconfig, "w", encoding="utf-8") as stream:
            json.dump(config, stream)

    def run_session_through(self, user):
        self.use_user(user)
        controller = self.env.start_controller()
        self.assertEqual(self.server.create(podsessions(), session_body("s1")).status, 201)
        self.env.wait_for_phase("s1", "Running")
        return controller

    def test_bearer_token(self):
        controller = self.run_session_through({"token": TOKEN})
        self.assertNotIn(TOKEN, controller.output())

    def test_token_file(self):
        token_file = os.path.join(self.env.folder.name, "token")
        with open(token_file, "w", encoding="utf-8") as stream:
            stream.write(TOKEN + "\n")
        self.run_session_through({"tokenFile": token_file})

    def test_client_certificate_data(self):
        client = self.certificates["client"]
        self.run_session_through({"client-certificate-data": b64(client["cert"]),
                                  "client-key-data": b64(client["key"])})

    def test_wrong_token_is_logged_with_its_source(self):
        self.use_user({"token": "not-the-token"})
        controller = self.env.start_controller()
        self.assertTrue(controller.wait_for_log("rejected the controller's credentials"))
        output = controller.output()
        self.assertIn(f"kubeconfig {self.env.kubeconfig}", output)
        self.assertIn("status=401", output)
        self.assertNotIn("not-the-token", output)
        self.assertFalse(controller.exited())

    def test_untrusted_server_certificate_fails(self):
        self.use_user({"token": TOKEN}, {"certificate-authority-data": b64(self.certificates["rogue"]["cert"])})
        controller = self.env.start_controller()
        self.assertTrue(controller.wait_for_log("listing PodSessions failed"))
        self.assertIn("TLS", controller.output())


class RejectedKubeconfigTest(unittest.TestCase):
    """`podsession run` refuses a kubeconfig it cannot use before it starts anything."""

    def run_with(self, user):
        with tempfile.TemporaryDirectory(prefix="podsession-kubeconfig-") as folder:
            path = os.path.join(folder, "kubeconfig")
            with open(path, "w", encoding="utf-8") as stream:
                json.dump({"clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                           "users": [{"name": "ops", "user": user}],
                           "contexts": [{"name": "x", "context": {"cluster": "c", "user": "ops"}}],
                           "current-context": "x"}, stream)
            return subprocess.run([PODSESSION, "run", "--kubeconfig", path, "--provider", "simulated"],
                                  capture_output=True, text=True, timeout=30, check=False)

    def test_exec_plugin_named(self):
        result = self.run_with({"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                         "command": "aws", "args": ["eks", "get-token"]}})
        self.assertEqual(result.returncode, 1)
        self.assertIn('user "ops" uses an exec credential plugin (command "aws")', result.stderr)

    def test_auth_provider_named(self):
        result = self.run_with({"auth-provider": {"name": "oidc"}})
        self.assertEqual(result.returncode, 1)
        self.assertIn('user "ops" uses the auth-provider plugin "oidc"', result.stderr)


if __name__ == "__main__":
    unittest.main()
