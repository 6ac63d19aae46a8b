"""Test harness around tests/fakes/kube_apiserver.py: start it, talk HTTP to it, run kubectl.

Every FakeApiServer gets its own temporary folder. The HOME, the kubectl cache
and the kubeconfig of the kubectl runs made through it are in that folder, so
tests never share client state.
"""

import http.client
import json
import os
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.parse

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FAKE = os.path.join(REPO_ROOT, "tests", "fakes", "kube_apiserver.py")
CRD = os.path.join(REPO_ROOT, "manifests", "crd.yaml")
EXAMPLES = os.path.join(REPO_ROOT, "manifests", "examples")
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")

START_TIMEOUT_SECONDS = 10
REQUEST_TIMEOUT_SECONDS = 10
KUBECTL_TIMEOUT_SECONDS = 60
PODSESSIONS = "/apis/podsession.io/v1alpha1/namespaces/{namespace}/podsessions"


def podsessions(namespace="default", name=None, subresource=None):
    path = PODSESSIONS.format(namespace=namespace)
    if name:
        path += "/" + name
    if subresource:
        path += "/" + subresource
    return path


def secrets(namespace="default", name=None):
    return f"/api/v1/namespaces/{namespace}/secrets" + (f"/{name}" if name else "")


def podsession(name, namespace="default", **spec):
    body = {"apiVersion": "podsession.io/v1alpha1", "kind": "PodSession",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"image": "ghcr.io/example/app:1", "gpu": {"types": ["h100"]}}}
    body["spec"].update(spec)
    return body


def wait_until(condition, timeout=10.0, interval=0.02, message="condition"):
    """Poll `condition` until it returns a true value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"Response({self.status}, {self.raw[:500]!r})"


class WatchStream:
    """A streaming watch response read one JSON event per line, with a read timeout."""

    def __init__(self, connection, response):
        self.connection = connection
        self.response = response
        self.status = response.status

    def next_event(self, timeout=5.0):
        """Return the next event, or None when the server ended the stream."""
        self.connection.sock.settimeout(timeout)
        line = self.response.readline()
        if not line:
            return None
        return json.loads(line)

    def events_until(self, predicate, timeout=5.0, limit=1000):
        """Read events until one satisfies `predicate`; return all read, that one last."""
        seen = []
        deadline = time.monotonic() + timeout
        for _ in range(limit):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            event = self.next_event(remaining)
            if event is None:
                break
            seen.append(event)
            if predicate(event):
                return seen
        raise AssertionError(f"no matching watch event within {timeout} s; saw {seen}")

    def close(self):
        self.connection.close()


class FakeApiServer:
    """One running fake API server process and the client state of its tests."""

    def __init__(self, version="1.33", token=None, tls=None, client_ca=None, extra_args=()):
        self.version = version
        self.token = token
        self.tls = tls

        self.folder = tempfile.TemporaryDirectory(prefix="fakekube-")
        self.home = os.path.join(self.folder.name, "home")
        os.makedirs(self.home)
        port_file = os.path.join(self.folder.name, "port")
        arguments = ["python3", FAKE, "--listen", "127.0.0.1:0", "--port-file", port_file,
                     "--crd", CRD, "--version", version, *extra_args]
        if token:
            token_file = os.path.join(self.folder.name, "token")
            with open(token_file, "w", encoding="utf-8") as stream:
                stream.write(token)
            arguments += ["--token-file", token_file]
        if tls:
            arguments += ["--tls-cert", tls["cert"], "--tls-key", tls["key"]]
        if client_ca:
            arguments += ["--client-ca", client_ca]

        self.log_path = os.path.join(self.folder.name, "server.log")
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen(arguments, stdout=self.log, stderr=subprocess.STDOUT)

        try:
            wait_until(lambda: os.path.exists(port_file) or self.process.poll() is not None,
                       START_TIMEOUT_SECONDS, message="the fake API server to listen")
            if self.process.poll() is not None:
                raise AssertionError(f"fake API server exited: {self.server_log()}")
            with open(port_file, encoding="utf-8") as stream:
                self.port = int(stream.read())
        except BaseException:
            self.stop()
            raise
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def server_log(self):
        self.log.flush()
        with open(self.log_path, encoding="utf-8") as stream:
            return stream.read()

    def stop(self):
        """Stop the server with SIGTERM (SIGKILL after 10 s); return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        self.folder.cleanup()
        return self.process.returncode

    # --- HTTP ---------------------------------------------------------------------------

    def connection(self, timeout=REQUEST_TIMEOUT_SECONDS, client_cert=None):
        if self.tls:
            context = ssl.create_default_context(cafile=self.tls["ca"])
            if client_cert:
                context.load_cert_chain(client_cert["cert"], client_cert["key"])
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, content_type="application/json", query=None,
                headers=None, auth=True, client_cert=None):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        payload = None
        if body is not None:
            payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
        all_headers = {"Accept": "application/json"}
        if payload is not None:
            all_headers["Content-Type"] = content_type
        if auth and self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        connection = self.connection(client_cert=client_cert)
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            return Response(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def create(self, path, body, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def merge_patch(self, path, body, **kwargs):
        return self.request("PATCH", path, body, content_type="application/merge-patch+json", **kwargs)

    def json_patch(self, path, body, **kwargs):
        return self.request("PATCH", path, body, content_type="application/json-patch+json", **kwargs)

    def watch(self, path, query=None, headers=None):
        """Open a watch; the caller closes the returned WatchStream."""
        query = dict(query or {})
        query.setdefault("watch", "1")
        connection = self.connection()
        all_headers = {"Accept": "application/json"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        connection.request("GET", path + "?" + urllib.parse.urlencode(query), headers=all_headers)
        return WatchStream(connection, connection.getresponse())

    # --- admin API ---------------------------------------------------------------------

    def faults(self, **faults):
        response = self.request("POST", "/_fake/faults", faults)
        assert response.status == 200, response
        return response.json

    def requests(self, since=0):
        return self.get("/_fake/requests", query={"since": since}).json["items"]

    def state(self):
        return self.get("/_fake/state").json

    def wait_for_watches(self, plural, count=1, timeout=10.0):
        wait_until(lambda: self.state()["watches"].get(plural, 0) >= count, timeout,
                   message=f"{count} open watch(es) on {plural}")

    # --- kubectl ------------------------------------------------------------------------

    def write_kubeconfig(self, user=None, namespace="default"):
        """Write a kubeconfig for this server; `user` is a kubeconfig user entry."""
        cluster = {"server": self.url}
        if self.tls:
            cluster["certificate-authority"] = self.tls["ca"]
        config = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "fake", "cluster": cluster}],
            "users": [{"name": "tester", "user": user if user is not None else (
                {"token": self.token} if self.token else {})}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "tester",
                                                      "namespace": namespace}}],
            "current-context": "fake",
        }
        path = os.path.join(self.folder.name, "kubeconfig")
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(config, stream)
        os.chmod(path, 0o600)
        return path

    def kubectl(self, *arguments, stdin=None, timeout=KUBECTL_TIMEOUT_SECONDS, kubeconfig=None):
        """Run the real kubectl against this server; return the CompletedProcess."""
        kubeconfig = kubeconfig or self.write_kubeconfig()
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                       "KUBECONFIG": kubeconfig}
        command = [KUBECTL, "--cache-dir", os.path.join(self.home, "cache"), *arguments]
        return subprocess.run(command, input=stdin, capture_output=True, text=True,
                              timeout=timeout, env=environment, check=False)

    def kubectl_background(self, *arguments, environment=None):
        kubeconfig = self.write_kubeconfig()
        full_environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                            "KUBECONFIG": kubeconfig, **(environment or {})}
        command = [KUBECTL, "--cache-dir", os.path.join(self.home, "cache"), *arguments]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=full_environment)


def stop_process(process):
    """Kill a background kubectl if it still runs, and close its pipes."""
    if process.poll() is None:
        process.kill()
    process.wait(10)
    for pipe in (process.stdout, process.stderr):
        if pipe is not None and not pipe.closed:
            pipe.close()


def make_certificates(folder):
    """Create a CA, a server certificate for 127.0.0.1 and a client certificate with openssl."""
    def run(*arguments):
        subprocess.run(["openssl", *arguments], cwd=folder, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=fake-ca")
    with open(os.path.join(folder, "server.ext"), "w", encoding="utf-8") as stream:
        stream.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                     "extendedKeyUsage=serverAuth\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "server.ext")
    with open(os.path.join(folder, "client.ext"), "w", encoding="utf-8") as stream:
        stream.write("extendedKeyUsage=clientAuth\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
        "-subj", "/CN=controller/O=podsession")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "client.crt", "-days", "2", "-extfile", "client.ext")
    # A second CA that the server does not trust, with its own client certificate.
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue-ca.key", "-out",
        "rogue-ca.crt", "-days", "2", "-subj", "/CN=rogue-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out", "rogue.csr",
        "-subj", "/CN=rogue")
    run("x509", "-req", "-in", "rogue.csr", "-CA", "rogue-ca.crt", "-CAkey", "rogue-ca.key",
        "-CAcreateserial", "-out", "rogue.crt", "-days", "2", "-extfile", "client.ext")
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    return {"ca": path("ca.crt"), "server": {"cert": path("server.crt"), "key": path("server.key")},
            "client": {"cert": path("client.crt"), "key": path("client.key")},
            "rogue": {"cert": path("rogue.crt"), "key": path("rogue.key")}}
