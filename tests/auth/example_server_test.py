#!/usr/bin/env python3
"""Tests examples/inference-server over real loopback HTTP: bearer tokens and
URLs signed by `podsession sign`, as a browser would present them to a pod.

Usage: example_server_test.py --server PATH --podsession PATH [unittest arguments]
"""

import argparse
import http.client
import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

SERVER = ""
PODSESSION = ""

# Every wait in this file is bounded by this many seconds.
TIMEOUT = 15


class example_server:
    """Runs example-inference-server on 127.0.0.1 with a port from the OS."""

    def __init__(self, env):
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("ATLAS_")
        }
        environment.update(env)
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [SERVER, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self.log, env=environment, text=True,
        )
        self.port = self._read_port()

    def _read_port(self):
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=TIMEOUT):
                self.process.kill()
                raise RuntimeError(f"example-inference-server printed no port in {TIMEOUT} s")
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.kill()
            raise RuntimeError(f"example-inference-server printed {line!r} instead of a port")
        return int(line)

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)

    def request(self, method, target, headers=None, body=None):
        """Sends one request on a new connection; returns (status, headers, body)."""
        connection = self.connection()
        try:
            connection.request(method, target, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def stop(self):
        """Sends SIGTERM; returns the exit status and the log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
            status = None
        self.process.stdout.close()
        self.log.seek(0)
        log = self.log.read()
        self.log.close()
        return status, log


def sign(url, secret, *extra):
    """Signs with the real `podsession sign`, handing the secret over the environment."""
    environment = dict(os.environ, PODSESSION_TEST_SIGNING_SECRET=secret)
    result = subprocess.run(
        [PODSESSION, "sign", url, "--secret-env", "PODSESSION_TEST_SIGNING_SECRET", *extra],
        capture_output=True, text=True, timeout=TIMEOUT, env=environment, check=True,
    )
    return result.stdout.strip()


def request_target(url):
    parts = urllib.parse.urlsplit(url)
    return parts.path + "?" + parts.query


class protected_server(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.token = secrets.token_urlsafe(32)
        cls.signing_secret = secrets.token_urlsafe(32)
        cls.server = example_server(
            {"ATLAS_PRESHARED_KEY": cls.token, "ATLAS_SIGNING_SECRET": cls.signing_secret}
        )

    @classmethod
    def tearDownClass(cls):
        status, log = cls.server.stop()
        # Checked here because the log is complete only after the stop.
        assert status == 0, f"exit status {status} after SIGTERM"
        assert cls.token not in log, "token in server log"
        assert cls.signing_secret not in log, "signing secret in server log"
        assert "sig=" not in log, "signed query in server log"
        assert "inference-server: stopped" in log, log

    def generate(self, headers, body=b'{"prompt": "hello"}'):
        return self.server.request("POST", "/v1/generate", headers=headers, body=body)

    def media_url(self, path="/media/clip.mp4", query="user=42"):
        return f"http://127.0.0.1:{self.server.port}{path}?{query}"

    def assert_unauthorized(self, response, reason):
        status, _, body = response
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body), {"error": "unauthorized", "reason": reason})

    def test_healthz_is_open(self):
        status, headers, body = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(json.loads(body), {"status": "ok"})

    def test_generate_without_token_is_401(self):
        response = self.generate({})
        self.assert_unauthorized(response, "missing")
        self.assertEqual(response[1]["WWW-Authenticate"], 'Bearer realm="inference"')

    def test_generate_with_token_is_200(self):
        status, _, body = self.generate({"Authorization": f"Bearer {self.token}"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"model": "example", "echo": {"prompt": "hello"}})

    def test_generate_with_lowercase_scheme_is_200(self):
        status, _, _ = self.generate({"Authorization": f"bearer {self.token}"})
        self.assertEqual(status, 200)

    def test_generate_with_other_token_is_401(self):
        response = self.generate({"Authorization": f"Bearer {secrets.token_urlsafe(32)}"})
        self.assert_unauthorized(response, "mismatch")
        self.assertIn('error="invalid_token"', response[1]["WWW-Authenticate"])

    def test_generate_with_other_scheme_is_401(self):
        response = self.generate({"Authorization": f"Basic {self.token}"})
        self.assert_unauthorized(response, "other_scheme")

    def test_generate_with_blank_token_is_401(self):
        self.assert_unauthorized(self.generate({"Authorization": "Bearer "}), "malformed")

    def test_generate_with_two_authorization_headers_is_401(self):
        connection = self.server.connection()
        try:
            connection.putrequest("POST", "/v1/generate")
            connection.putheader("Authorization", f"Bearer {self.token}")
            connection.putheader("Authorization", f"Bearer {self.token}")
            connection.putheader("Content-Length", "2")
            connection.endheaders(b"{}")
            response = connection.getresponse()
            self.assert_unauthorized((response.status, response.headers, response.read()),
                                     "malformed")
        finally:
            connection.close()

    def test_generate_with_invalid_json_is_400(self):
        status, _, body = self.generate({"Authorization": f"Bearer {self.token}"}, body=b"{")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"], "invalid_json")

    def test_media_without_signature_is_401(self):
        self.assert_unauthorized(self.server.request("GET", "/media/clip.mp4"), "malformed")

    def test_media_with_signed_url_is_200(self):
        signed = sign(self.media_url(), self.signing_secret)
        status, _, body = self.server.request("GET", request_target(signed))
        self.assertEqual(status, 200)
        self.assertEqual(body, b"example media for /media/clip.mp4\n")

    def test_media_with_odd_characters_is_200(self):
        query = "q=hello world&name=Zoë&eq=%3D%26&a=1&a=2"
        signed = sign(self.media_url("/media/caf%C3%A9.mp4", query) + "#t=30", self.signing_secret)
        status, _, _ = self.server.request("GET", request_target(signed))
        self.assertEqual(status, 200)

    def test_media_with_expired_url_is_401(self):
        signed = sign(self.media_url(), self.signing_secret, "--expires-in=-60")
        self.assert_unauthorized(self.server.request("GET", request_target(signed)), "expired")

    def test_media_with_tampered_parameter_is_401(self):
        signed = sign(self.media_url(), self.signing_secret)
        tampered = request_target(signed).replace("user=42", "user=43")
        self.assert_unauthorized(self.server.request("GET", tampered), "bad_signature")

    def test_media_with_tampered_path_is_401(self):
        signed = sign(self.media_url(), self.signing_secret)
        tampered = request_target(signed).replace("/media/clip.mp4", "/media/other.mp4")
        self.assert_unauthorized(self.server.request("GET", tampered), "bad_signature")

    def test_media_with_tampered_signature_is_401(self):
        target = request_target(sign(self.media_url(), self.signing_secret))
        position = target.index("sig=") + 4
        replacement = "B" if target[position] == "A" else "A"
        tampered = target[:position] + replacement + target[position + 1:]
        self.assert_unauthorized(self.server.request("GET", tampered), "bad_signature")

    def test_media_signed_with_other_secret_is_401(self):
        signed = sign(self.media_url(), secrets.token_urlsafe(32))
        self.assert_unauthorized(self.server.request("GET", request_target(signed)),
                                 "bad_signature")

    def test_keep_alive_serves_several_requests(self):
        connection = self.server.connection()
        try:
            for _ in range(3):
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                self.assertEqual(response.status, 200)
                response.read()
        finally:
            connection.close()

    def test_oversized_body_is_413(self):
        connection = self.server.connection()
        try:
            # Announce a body over the limit without sending it, because the
            # server responds from the headers alone.
            connection.putrequest("POST", "/v1/generate")
            connection.putheader("Authorization", f"Bearer {self.token}")
            connection.putheader("Content-Length", str(10 * 1024 * 1024))
            connection.endheaders()
            response = connection.getresponse()
            self.assertEqual(response.status, 413)
            self.assertEqual(json.loads(response.read())["error"], "payload_too_large")
        finally:
            connection.close()

    def test_unknown_path_is_404(self):
        status, _, _ = self.server.request("GET", "/v2/unknown")
        self.assertEqual(status, 404)

    def test_wrong_method_is_405(self):
        status, headers, _ = self.server.request("GET", "/v1/generate")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "POST")


class open_server(unittest.TestCase):
    """Without the env vars (auth: none) every route is open."""

    @classmethod
    def setUpClass(cls):
        cls.server = example_server({})

    @classmethod
    def tearDownClass(cls):
        status, _ = cls.server.stop()
        assert status == 0, f"exit status {status} after SIGTERM"

    def test_generate_needs_no_token(self):
        status, _, _ = self.server.request("POST", "/v1/generate", body=b"[1, 2]")
        self.assertEqual(status, 200)

    def test_media_needs_no_signature(self):
        status, _, _ = self.server.request("GET", "/media/clip.mp4")
        self.assertEqual(status, 200)


class empty_secret_server(unittest.TestCase):
    """Env vars that are set but empty reject every request instead of none."""

    @classmethod
    def setUpClass(cls):
        cls.server = example_server({"ATLAS_PRESHARED_KEY": "", "ATLAS_SIGNING_SECRET": ""})

    @classmethod
    def tearDownClass(cls):
        status, _ = cls.server.stop()
        assert status == 0, f"exit status {status} after SIGTERM"

    def test_generate_rejects_any_token(self):
        status, _, _ = self.server.request(
            "POST", "/v1/generate", headers={"Authorization": "Bearer x"}, body=b"{}"
        )
        self.assertEqual(status, 401)

    def test_media_rejects_any_signature(self):
        status, _, _ = self.server.request("GET", "/media/a?exp=99999999999&sig=x")
        self.assertEqual(status, 401)


class server_process(unittest.TestCase):
    def test_sigterm_exits_cleanly_with_open_connection(self):
        server = example_server({})
        connection = server.connection()
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            status, log = server.stop()
        finally:
            connection.close()
        self.assertEqual(status, 0)
        self.assertIn("stopping signal=15", log)

    def test_invalid_listen_address_exits_2(self):
        result = subprocess.run(
            [SERVER, "--listen", "localhost"], capture_output=True, text=True, timeout=TIMEOUT
        )
        self.assertEqual(result.returncode, 2)
        self.assertIn("invalid --listen", result.stderr)


def main():
    global SERVER, PODSESSION
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--podsession", required=True)
    options, rest = parser.parse_known_args()
    SERVER = options.server
    PODSESSION = options.podsession
    unittest.main(argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    main()
