#!/usr/bin/env python3
"""A fake Kubernetes API server that the real kubectl and the controller's client can use.

Usage:
  python3 tests/fakes/kube_apiserver.py --listen 127.0.0.1:0 --port-file FILE \
      --crd manifests/crd.yaml [--tls-cert C --tls-key K] [--token T] [--client-ca CA] \
      [--version 1.33] [--bookmark-interval SECONDS] [--watch-history EVENTS] [--verbose]

It writes the bound port to FILE once it listens, serves each request on its
own thread and stops on SIGTERM or SIGINT. State lives in memory only.

What it serves, with kube-apiserver's semantics (kubefake/*.py has the detail
and the list of what is not implemented):
- /version (minor version from --version), /healthz, /livez, /readyz, plain
  JSON discovery and /openapi/v3;
- namespaces, secrets, events (v1 and events.k8s.io/v1), leases
  (coordination.k8s.io/v1) and the custom resources of every --crd file;
- create, get, list, watch, update, patch (merge, JSON, and strategic for
  built-in kinds), delete and deletecollection, and status subresources;
- Table output for kubectl get, finalizers, owner references with garbage
  collection, and CRD schema pruning, defaulting and validation.

Auth: with --token, requests must carry `Authorization: Bearer <token>`; with
--client-ca, a client certificate signed by that CA also authenticates (TLS
needs --tls-cert and --tls-key). A wrong token is always 401. /version,
/healthz, /livez, /readyz and /_fake/ are open, as on a cluster that lets
anonymous users read public info.

Admin API for tests (no auth; JSON in and out):
  GET    /_fake/requests[?since=SEQ]  {"items": [{"seq", "method", "path", "query",
                                       "params", "contentType", "accept", "userAgent",
                                       "watch", "code"}]}; bodies are never recorded.
  DELETE /_fake/requests              forget the log.
  GET    /_fake/state                 {"resourceVersion", "compactedResourceVersion",
                                       "watches": {plural: open count}, "objects", "gc"}
  POST   /_fake/gc                    run one garbage-collector pass now.
  GET    /_fake/faults                the faults in force.
  DELETE /_fake/faults                clear every fault and re-enable the garbage collector.
  POST   /_fake/faults                add faults; any subset of:
    {"dropWatches": true | "<plural>"}        close open watches now (all, or one resource),
                                              without the closing chunk, as a dropped stream.
    {"goneNext": {"verb": "watch"|"list"|"any", "resource": "<plural>", "count": N}}
                                              the next N matching requests answer 410 Expired:
                                              a list gets HTTP 410, a watch an ERROR event.
    {"failWrites": {"path": P | "pathPrefix": P, "method": M, "code": C, "count": N}}
                                              the next N writes (POST, PUT, PATCH, DELETE) to
                                              path P answer code C (409 Conflict, 429 with
                                              Retry-After, 500, 503, 504, or any code).
    {"delayMs": N, "delayPathPrefix": P}      delay every API answer (under P) by N ms; 0 stops.
    {"watchList": false}                      reject sendInitialEvents with 422, as a server
                                              without the WatchList feature does.
    {"gc": false}                             pause the garbage collector (true resumes). No
                                              pass runs after the response, even one already due.
    {"holdWatchEvents": true}                 open watches deliver nothing (a lagging watch
                                              cache); false delivers the held events in order.
    {"bookmarkIntervalSeconds": S}            send BOOKMARK events every S seconds.
    {"sendBookmarks": true}                   send a BOOKMARK on every watch that allows them now.
    {"compact": true}                         drop the watch history: any watch from an older
                                              resourceVersion gets 410 Expired.
"""

import argparse
import os
import signal
import ssl
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import yaml  # noqa: E402

from kubefake.resources import Registry, builtin_types, custom_types  # noqa: E402
from kubefake.server import ApiServer  # noqa: E402
from kubefake.store import Store  # noqa: E402


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description="Fake Kubernetes API server for tests.")
    parser.add_argument("--listen", default="127.0.0.1:0",
                        help="address and port to bind, HOST:PORT (port 0 picks a free port)")
    parser.add_argument("--port-file", help="file to write the bound port to once listening")
    parser.add_argument("--crd", action="append", default=[],
                        help="CustomResourceDefinition YAML file to serve (repeatable)")
    parser.add_argument("--tls-cert", help="PEM server certificate; enables HTTPS with --tls-key")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--client-ca", help="PEM CA whose client certificates authenticate")
    parser.add_argument("--token", help="bearer token that authenticates requests")
    parser.add_argument("--token-file", help="file holding the bearer token (keeps it off the command line)")
    parser.add_argument("--version", default="1.33",
                        help="Kubernetes version reported by /version, as MAJOR.MINOR (default 1.33)")
    parser.add_argument("--bookmark-interval", type=float, default=60.0,
                        help="seconds between BOOKMARK events on watches that allow them (default 60)")
    parser.add_argument("--watch-history", type=int, default=1000,
                        help="events kept for watches that resume from a resourceVersion (default 1000)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    arguments = parser.parse_args(argv)
    if bool(arguments.tls_cert) != bool(arguments.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if arguments.client_ca and not arguments.tls_cert:
        parser.error("--client-ca needs --tls-cert and --tls-key")
    return arguments


def load_types(crd_files):
    types = builtin_types()
    for path in crd_files:
        with open(path, encoding="utf-8") as stream:
            for document in yaml.safe_load_all(stream):
                if document:
                    types += custom_types(document)
    return Registry(types)


def tls_context(arguments):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(arguments.tls_cert, arguments.tls_key)
    context.set_alpn_protocols(["http/1.1"])
    if arguments.client_ca:
        context.load_verify_locations(arguments.client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def main(argv=None):
    arguments = parse_arguments(argv)
    token = arguments.token
    if arguments.token_file:
        with open(arguments.token_file, encoding="utf-8") as stream:
            token = stream.read().strip()
    host, _, port = arguments.listen.rpartition(":")
    registry = load_types(arguments.crd)
    store = Store(registry, history_size=arguments.watch_history,
                  bookmark_interval=arguments.bookmark_interval)
    server = ApiServer((host.strip("[]"), int(port)), store, registry,
                       version_minor=arguments.version.split(".")[1],
                       token=token,
                       tls_context=tls_context(arguments) if arguments.tls_cert else None,
                       require_auth=bool(token or arguments.client_ca),
                       verbose=arguments.verbose)
    for target in (store.run_collector, store.run_bookmarks):
        threading.Thread(target=target, daemon=True).start()

    def stop(signum, frame):
        del frame
        print(f"kube-apiserver fake: stopping on signal {signum}", file=sys.stderr, flush=True)
        store.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bound_port = server.server_address[1]
    if arguments.port_file:
        temporary = arguments.port_file + ".tmp"
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(f"{bound_port}\n")
        os.replace(temporary, arguments.port_file)
    scheme = "https" if arguments.tls_cert else "http"
    print(f"kube-apiserver fake: serving {scheme}://{host}:{bound_port} as Kubernetes "
          f"v{arguments.version}", file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    print("kube-apiserver fake: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
