"""HTTP front end of the fake: routing, content negotiation, watch streams, auth, faults.

Paths served:
  /version /healthz /livez /readyz
  /api /api/v1 /apis /apis/<group> /apis/<group>/<version>   plain JSON discovery
  /openapi/v3 and /openapi/v3/<group-version>                see openapi.py
  /api/v1/... and /apis/<group>/<version>/...                resources, see store.py
  /_fake/...                                                 admin API, see kube_apiserver.py

Request bodies may be JSON, YAML, or protobuf for the built-in kinds (see
protobuf.py). Responses are always JSON, and a client that accepts only
protobuf or CBOR gets 406.

Not served: /openapi/v2, aggregated discovery (clients fall back to the plain
documents), server-side apply (`application/apply-patch+yaml` gets 415) and
the legacy /watch/ path prefix.
"""

import hmac
import http.server
import json
import queue
import select
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse

import yaml

from . import errors
from . import patch as patching
from . import protobuf
from . import selectors
from .openapi import OpenApi
from .store import Deleted

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
YAML = "application/yaml"
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
DEFAULT_WATCH_TIMEOUT_SECONDS = 1800
# kube-apiserver rejects request bodies above 3 MiB with 413.
MAX_BODY_BYTES = 3 * 1024 * 1024


class ListOptionsKind:
    """Stands in for a resource in errors about ListOptions (group meta.k8s.io)."""
    group = "meta.k8s.io"
    kind = "ListOptions"
    plural = "listoptions"


class Faults:
    """Faults injected through POST /_fake/faults; every field is documented in kube_apiserver.py."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.expiries = []
        self.fail_writes = []
        self.delay_ms = 0
        self.delay_path_prefix = ""
        self.watch_list = True
        self.hold_watch_events = False

    def snapshot(self):
        with self.lock:
            return {"goneNext": [dict(r) for r in self.expiries],
                    "failWrites": [dict(r) for r in self.fail_writes],
                    "delayMs": self.delay_ms, "delayPathPrefix": self.delay_path_prefix,
                    "watchList": self.watch_list, "holdWatchEvents": self.hold_watch_events}

    def take_expiry(self, verb, plural):
        """Consume one pending 410 for a list or watch of `plural`; return whether one applied."""
        with self.lock:
            for rule in self.expiries:
                if rule["verb"] in (verb, "any") and rule.get("resource") in (None, plural):
                    rule["count"] -= 1
                    if rule["count"] <= 0:
                        self.expiries.remove(rule)
                    return True
            return False

    def take_write_failure(self, method, path):
        """Consume one pending write failure for `path`; return its HTTP code or None."""
        with self.lock:
            for rule in self.fail_writes:
                if rule.get("method") and rule["method"].upper() != method:
                    continue
                if "path" in rule and rule["path"] != path:
                    continue
                if "pathPrefix" in rule and not path.startswith(rule["pathPrefix"]):
                    continue
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self.fail_writes.remove(rule)
                return rule["code"]
            return None


class RequestLog:
    """Method, path, query, content type and status of every API request, without bodies."""

    def __init__(self, limit=10000):
        self.lock = threading.Lock()
        self.entries = []
        self.sequence = 0
        self.limit = limit

    def add(self, entry):
        with self.lock:
            self.sequence += 1
            entry["seq"] = self.sequence
            self.entries.append(entry)
            del self.entries[:-self.limit]
            return entry

    def set_code(self, entry, code):
        with self.lock:
            entry["code"] = code

    def since(self, sequence):
        with self.lock:
            return [dict(e) for e in self.entries if e["seq"] > sequence]

    def clear(self):
        with self.lock:
            self.entries.clear()


class ApiServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP(S) server with the store, the fault switches and the request log."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, store, registry, version_minor, token=None, tls_context=None,
                 require_auth=False, verbose=False):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.store = store
        self.registry = registry
        self.version_minor = version_minor
        self.token = token
        self.tls_context = tls_context
        self.require_auth = require_auth
        self.verbose = verbose
        self.faults = Faults()
        self.requests = RequestLog()
        self.openapi = OpenApi(registry)

    def get_request(self):
        connection, address = self.socket.accept()
        if self.tls_context is not None:
            connection = self.tls_context.wrap_socket(connection, server_side=True,
                                                      do_handshake_on_connect=False)
        return connection, address

    def finish_request(self, request, client_address):
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(10)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as error:
                print(f"kube-apiserver fake: TLS handshake failed: client={client_address[0]} "
                      f"error={error}", file=sys.stderr, flush=True)
                return
            request.settimeout(None)
        super().finish_request(request, client_address)


def quote_warning(text):
    """Escape a warning for the quoted-string of a Warning header (RFC 7234)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def parse_accept(header):
    """Return the media types of an Accept header as (type, {param: value}) in order."""
    result = []
    for part in (header or "*/*").split(","):
        pieces = [p.strip() for p in part.split(";")]
        params = {}
        for piece in pieces[1:]:
            if "=" in piece:
                key, _, value = piece.partition("=")
                params[key.strip()] = value.strip()
        result.append((pieces[0].lower(), params))
    return result


def negotiate(header):
    """Pick the output form: ('json', None), ('table', apiVersion) or ('partial', apiVersion)."""
    for media_type, params in parse_accept(header):
        if media_type not in (JSON, "application/*", "*/*"):
            continue
        form = params.get("as")
        if form is None:
            return "json", None
        if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            if form == "Table":
                return "table", f"meta.k8s.io/{params['v']}"
            if form in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return "partial", f"meta.k8s.io/{params['v']}"
    raise errors.not_acceptable([JSON, "application/json;as=Table;g=meta.k8s.io;v=v1"])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-fake"
    # Headers and body go out in separate writes; with Nagle's algorithm on,
    # the body waits for the client's delayed ACK (about 40 ms on Linux).
    disable_nagle_algorithm = True
    # The request-log entry of the request in hand; None for admin requests and for
    # requests refused before they are parsed.
    log_entry = None

    # --- plumbing ---------------------------------------------------------------------

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_PUT(self):
        self.handle_request("PUT")

    def do_PATCH(self):
        self.handle_request("PATCH")

    def do_DELETE(self):
        self.handle_request("DELETE")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
                if len(body) > MAX_BODY_BYTES:
                    raise errors.ApiError(413, "RequestEntityTooLarge",
                                          f"Request entity too large: limit is {MAX_BODY_BYTES}", {})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise errors.ApiError(413, "RequestEntityTooLarge",
                                  f"Request entity too large: limit is {MAX_BODY_BYTES}", {})
        return self.rfile.read(length) if length else b""

    def send_response(self, code, message=None):
        # The log entry gets its code before the status line is written, so a
        # client that reads the log as soon as its response arrives finds it.
        self.status_code = code
        if self.log_entry is not None:
            self.server.requests.set_code(self.log_entry, code)
        super().send_response(code, message)

    def send_json(self, code, body, headers=None):
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", JSON)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            if isinstance(value, list):
                for item in value:
                    self.send_header(name, item)
            else:
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def send_text(self, code, text):
        payload = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def send_error_status(self, error):
        headers = dict(error.headers)
        self.send_json(error.code, error.status(), headers)

    # --- entry point ----------------------------------------------------------------------

    def handle_request(self, method):
        self.status_code = 0
        self.log_entry = None
        self.streaming = False
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = self.read_body()
        except errors.ApiError as error:
            self.close_connection = True
            self.send_error_status(error)
            return
        except (ValueError, OSError):
            self.close_connection = True
            return
        if path.startswith("/_fake/"):
            self.handle_admin(method, path, query, body)
            return
        self.log_entry = self.server.requests.add({
            "method": method, "path": path, "query": url.query, "params": query,
            "contentType": self.headers.get("Content-Type", ""),
            "accept": self.headers.get("Accept", ""),
            "userAgent": self.headers.get("User-Agent", ""),
            "watch": query.get("watch") in ("1", "true"),
        })
        try:
            self.authenticate(path)
            self.inject_delay(path)
            self.route(method, path, query, body)
        except errors.ApiError as error:
            self.send_error_status(error)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # noqa: BLE001 - a bug in the fake must still get a response
            print(f"kube-apiserver fake: internal error: method={method} path={path}\n"
                  f"{traceback.format_exc()}", file=sys.stderr, flush=True)
            if self.streaming:
                self.close_connection = True
            else:
                self.send_error_status(errors.internal_error(f"{type(error).__name__}: {error}"))
        if "code" not in self.log_entry:
            self.server.requests.set_code(self.log_entry, self.status_code)

    def authenticate(self, path):
        if not self.server.require_auth or path in PUBLIC_PATHS:
            header = self.headers.get("Authorization", "")
            if header and self.server.token is not None and not self._token_ok(header):
                raise errors.unauthorized()
            return
        header = self.headers.get("Authorization", "")
        if header:
            if self.server.token is not None and self._token_ok(header):
                return
            raise errors.unauthorized()
        if isinstance(self.connection, ssl.SSLSocket) and self.connection.getpeercert():
            return
        raise errors.unauthorized()

    def _token_ok(self, header):
        scheme, _, presented = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), self.server.token.encode())

    def inject_delay(self, path):
        faults = self.server.faults
        with faults.lock:
            delay, prefix = faults.delay_ms, faults.delay_path_prefix
        if delay and path.startswith(prefix):
            time.sleep(delay / 1000.0)

    # --- routing -------------------------------------------------------------------------------

    def route(self, method, path, query, body):
        if path in ("/healthz", "/livez", "/readyz"):
            self.send_text(200, "ok")
            return
        if path == "/version":
            self.send_json(200, self.version_document())
            return
        if path == "/openapi/v3" or path.startswith("/openapi/v3/"):
            document = self.server.openapi.document(path[len("/openapi/v3"):].lstrip("/"))
            if document is None:
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
            self.send_json(200, document, {"Cache-Control": "public, immutable"}
                           if "hash" in query else None)
            return
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            if len(parts) == 1:
                self.send_json(200, self.api_versions())
                return
            if parts[1] != "v1":
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                self.send_json(200, self.api_group_list())
                return
            if len(parts) == 2:
                group_document = self.api_group(parts[1])
                if group_document is None:
                    raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
                self.send_json(200, group_document)
                return
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if not rest:
            resources = self.server.registry.in_group_version(group, version)
            if not resources:
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
            self.send_json(200, self.resource_list(group, version, resources))
            return
        self.route_resource(method, group, version, rest, query, body)

    def parse_resource_path(self, group, version, rest):
        """Split the path after the group version into (resource, namespace, name, subresource)."""
        registry = self.server.registry
        not_found = errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            candidate = registry.lookup(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        resource = registry.lookup(group, version, rest[0])
        if resource is None:
            raise not_found
        if namespace is None and resource.namespaced and len(rest) > 1:
            raise not_found
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if len(rest) > 3 or (subresource and not (subresource == "status" and resource.status_subresource)):
            raise not_found
        return resource, namespace, name, subresource

    def route_resource(self, method, group, version, rest, query, body):
        resource, namespace, name, subresource = self.parse_resource_path(group, version, rest)
        watching = query.get("watch") in ("1", "true")
        if method == "GET" and (watching or name is None):
            self.validate_list_options(query, watching)
            if watching:
                self.serve_watch(resource, namespace, name, query)
            else:
                self.serve_list(resource, namespace, query)
            return
        if method == "GET":
            obj = self.server.store.get(resource, namespace, name)
            self.send_object(200, resource, obj)
            return
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            code = self.server.faults.take_write_failure(method, self.path.split("?")[0].rstrip("/"))
            if code is not None:
                raise self.injected_error(code, resource, name)
        dry_run = query.get("dryRun") == "All"
        field_validation = query.get("fieldValidation") or "Warn"
        if field_validation not in ("Ignore", "Warn", "Strict"):
            raise errors.bad_request(f"fieldValidation parameter unsupported: {field_validation}")
        store = self.server.store
        if method == "POST" and name is None:
            obj, warnings = store.create(resource, namespace, self.decode_object(body), dry_run,
                                         field_validation)
            self.send_object(201, resource, obj, warnings)
        elif method == "PUT" and name is not None:
            obj, warnings = store.update(resource, namespace, name, self.decode_object(body),
                                         subresource, dry_run, field_validation)
            self.send_object(200, resource, obj, warnings)
        elif method == "PATCH" and name is not None:
            apply_patch = self.patch_function(resource, body)
            obj, warnings = store.patch(resource, namespace, name, apply_patch, subresource, dry_run,
                                        field_validation)
            self.send_object(200, resource, obj, warnings)
        elif method == "DELETE" and name is not None and subresource is None:
            self.serve_delete(resource, namespace, name, query, body, dry_run)
        elif method == "DELETE" and name is None:
            self.serve_delete_collection(resource, namespace, query, body, dry_run)
        else:
            raise errors.method_not_allowed()

    def decode_object(self, body):
        """Decode a create or update body in JSON, YAML or (for built-in kinds) protobuf."""
        content_type = (self.headers.get("Content-Type") or JSON).split(";")[0].strip().lower()
        if content_type == JSON:
            return patching.decode_json(body)
        if content_type == PROTOBUF:
            return protobuf.decode_body(body)
        if content_type == YAML:
            try:
                return yaml.safe_load(body.decode("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as error:
                raise errors.bad_request(f"error decoding YAML request body: {error}") from None
        raise errors.unsupported_media_type([JSON, YAML, PROTOBUF])

    def injected_error(self, code, resource, name):
        if code == 409:
            return errors.conflict(resource, name or "")
        if code == 429:
            return errors.ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                                   {"causes": [{"message": "injected fault"}], "retryAfterSeconds": 1},
                                   {"Retry-After": "1"})
        if code == 503:
            return errors.ApiError(503, "ServiceUnavailable", "injected fault: service unavailable", {})
        if code == 504:
            return errors.ApiError(504, "Timeout", "injected fault: request timed out", {})
        if code == 500:
            return errors.internal_error("injected fault")
        return errors.ApiError(code, "", f"injected fault with status {code}", {})

    def validate_list_options(self, query, watching):
        """Reject the option combinations kube-apiserver rejects, with the same 422."""
        found = []
        send_initial = query.get("sendInitialEvents")
        match = query.get("resourceVersionMatch")
        if send_initial is not None:
            if not self.server.faults.watch_list:
                found.append(errors.FieldError(
                    errors.FORBIDDEN, "sendInitialEvents", None,
                    "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"))
            elif not watching:
                found.append(errors.FieldError(errors.FORBIDDEN, "sendInitialEvents", None,
                                               "sendInitialEvents is forbidden for list"))
            else:
                if query.get("allowWatchBookmarks") not in ("1", "true"):
                    found.append(errors.FieldError(
                        errors.FORBIDDEN, "allowWatchBookmarks", None,
                        "allowWatchBookmarks must be set to true when sendInitialEvents is set"))
                if match != "NotOlderThan":
                    found.append(errors.FieldError(
                        errors.FORBIDDEN, "resourceVersionMatch", None,
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
        elif match and watching:
            found.append(errors.FieldError(
                errors.FORBIDDEN, "resourceVersionMatch", None,
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
        elif match and match not in ("Exact", "NotOlderThan"):
            found.append(errors.FieldError(errors.NOT_SUPPORTED, "resourceVersionMatch", match,
                                           'supported values: "Exact", "NotOlderThan", ""'))
        elif match and not query.get("resourceVersion"):
            found.append(errors.FieldError(errors.FORBIDDEN, "resourceVersionMatch", None,
                                           "resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if found:
            raise errors.invalid_error(ListOptionsKind, "", found)

    # --- reads ---------------------------------------------------------------------------------

    def send_object(self, code, resource, obj, warnings=None):
        if isinstance(obj, Deleted):
            self.send_deleted(resource, obj)
            return
        form, api_version = negotiate(self.headers.get("Accept"))
        headers = {"Warning": [f'299 - "{quote_warning(w)}"' for w in warnings]} if warnings else None
        if form == "table":
            body = self.table(resource, [obj], api_version, obj["metadata"].get("resourceVersion", ""))
        elif form == "partial":
            body = self.partial(obj, api_version)
        else:
            body = obj
        self.send_json(code, body, headers)

    def selectors_of(self, resource, query, name=None):
        label_requirements = selectors.parse_label_selector(query.get("labelSelector", ""))
        field_requirements = selectors.parse_field_selector(query.get("fieldSelector", ""), resource)
        if name is not None:
            field_requirements.append(("metadata.name", "=", name))
        return label_requirements, field_requirements

    def serve_list(self, resource, namespace, query):
        if self.server.faults.take_expiry("list", resource.plural):
            raise errors.expired(f"too old resource version: {query.get('resourceVersion', '1')} "
                                 f"({self.server.store.revision})")
        label_requirements, field_requirements = self.selectors_of(resource, query)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise errors.bad_request(f"invalid limit: {query.get('limit')}") from None
        store = self.server.store
        if query.get("resourceVersionMatch") == "Exact":
            requested = query.get("resourceVersion", "")
            if requested.isdigit() and int(requested) < store.compacted_revision:
                raise errors.expired(f"too old resource version: {requested} ({store.compacted_revision + 1})")
        items, list_revision, token, remaining = store.list(
            resource, namespace, label_requirements, field_requirements, limit, query.get("continue"))
        form, api_version = negotiate(self.headers.get("Accept"))
        if form == "table":
            body = self.table(resource, items, api_version, list_revision, query.get("includeObject"))
            if token:
                body["metadata"]["continue"] = token
            self.send_json(200, body)
            return
        if form == "partial":
            items = [self.partial(obj, api_version) for obj in items]
            body = {"kind": "PartialObjectMetadataList", "apiVersion": api_version,
                    "metadata": {"resourceVersion": list_revision}, "items": items}
        else:
            if resource.schema is None:
                for item in items:
                    item.pop("apiVersion", None)
                    item.pop("kind", None)
            list_kind = getattr(resource, "list_kind", resource.kind + "List")
            body = {"kind": list_kind, "apiVersion": resource.api_version,
                    "metadata": {"resourceVersion": list_revision}, "items": items}
        if token:
            body["metadata"]["continue"] = token
            if remaining is not None and not query.get("labelSelector") and not query.get("fieldSelector"):
                body["metadata"]["remainingItemCount"] = remaining
        self.send_json(200, body)

    def table(self, resource, objects, api_version, resource_version, include_object="Metadata",
              with_columns=True):
        rows = []
        for obj in objects:
            row = {"cells": resource.cells(obj)}
            if include_object in (None, "", "Metadata"):
                row["object"] = self.partial(obj, "meta.k8s.io/v1")
            elif include_object == "Object":
                row["object"] = obj
            rows.append(row)
        return {"kind": "Table", "apiVersion": api_version or "meta.k8s.io/v1",
                "metadata": {"resourceVersion": resource_version},
                "columnDefinitions": resource.column_definitions() if with_columns else [],
                "rows": rows}

    @staticmethod
    def partial(obj, api_version):
        return {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": obj["metadata"]}

    # --- watch ----------------------------------------------------------------------------------

    def serve_watch(self, resource, namespace, name, query):
        form, table_version = negotiate(self.headers.get("Accept"))
        label_requirements, field_requirements = self.selectors_of(resource, query, name)
        try:
            timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_SECONDS)
        except ValueError:
            raise errors.bad_request(f"invalid timeoutSeconds: {query.get('timeoutSeconds')}") from None
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        send_initial = query.get("sendInitialEvents") in ("1", "true")
        if query.get("sendInitialEvents") == "false":
            send_initial = False

        self.start_stream()
        store = self.server.store
        if self.server.faults.take_expiry("watch", resource.plural):
            self.write_event({"type": "ERROR", "object": errors.expired(
                f"too old resource version: {query.get('resourceVersion', '0')} "
                f"({store.revision})").status()})
            self.end_stream()
            return
        try:
            watcher = store.watch(resource, namespace, label_requirements, field_requirements,
                                  query.get("resourceVersion"), send_initial, bookmarks)
        except errors.ApiError as error:
            self.write_event({"type": "ERROR", "object": error.status()})
            self.end_stream()
            return
        try:
            self.pump_watch(watcher, resource, form, table_version, query, time.monotonic() + timeout)
        finally:
            store.stop_watch(watcher)

    def pump_watch(self, watcher, resource, form, table_version, query, deadline):
        first_table = True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.server.store.stopping.is_set():
                break
            try:
                item = watcher.events.get(timeout=min(remaining, 0.25))
            except queue.Empty:
                if self.peer_closed():
                    return
                continue
            # A held event waits here, and the events after it in the queue, so
            # that they arrive in order once the hold is lifted.
            while self.server.faults.hold_watch_events and time.monotonic() < deadline:
                if self.peer_closed():
                    return
                time.sleep(0.05)
            if item is None:
                self.close_connection = True
                self.abort_stream()
                return
            if item[0] == "BOOKMARK":
                metadata = {"resourceVersion": str(item[1]), "creationTimestamp": None}
                if item[2]:
                    metadata["annotations"] = item[2]
                obj = {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": metadata}
                self.write_event({"type": "BOOKMARK", "object": obj})
                continue
            event_type, stored = item
            obj = resource.from_storage(stored)
            if form == "table":
                obj = self.table(resource, [obj], table_version, obj["metadata"]["resourceVersion"],
                                 query.get("includeObject"), with_columns=first_table)
                first_table = False
            elif form == "partial":
                obj = self.partial(obj, table_version)
            self.write_event({"type": event_type, "object": obj})
        self.end_stream()

    def peer_closed(self):
        """Return whether a plain-TCP client has closed its end of a watch."""
        if isinstance(self.connection, ssl.SSLSocket):
            return False
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
        return False

    def start_stream(self):
        self.streaming = True
        self.send_response(200)
        self.send_header("Content-Type", JSON)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_event(self, event):
        payload = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    def abort_stream(self):
        """Cut the connection without the closing chunk, as a dropped watch looks to a client."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- deletes --------------------------------------------------------------------------------

    def delete_options(self, query, body):
        options = patching.decode_json(body, "DeleteOptions") if body.strip() else {}
        if not isinstance(options, dict):
            raise errors.bad_request("DeleteOptions must be a JSON object")
        if "propagationPolicy" in query:
            options["propagationPolicy"] = query["propagationPolicy"]
        if "orphanDependents" in query:
            options["orphanDependents"] = query["orphanDependents"] == "true"
        return options

    def serve_delete(self, resource, namespace, name, query, body, dry_run):
        options = self.delete_options(query, body)
        obj, removed = self.server.store.delete(resource, namespace, name, options, dry_run)
        if removed:
            self.send_deleted(resource, obj)
        else:
            self.send_object(200, resource, obj)

    def send_deleted(self, resource, obj):
        details = {"name": obj["metadata"]["name"]}
        if resource.group:
            details["group"] = resource.group
        details["kind"] = resource.plural
        details["uid"] = obj["metadata"]["uid"]
        self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": details})

    def serve_delete_collection(self, resource, namespace, query, body, dry_run):
        options = self.delete_options(query, body)
        label_requirements, field_requirements = self.selectors_of(resource, query)
        store = self.server.store
        items, list_revision, _, _ = store.list(resource, namespace, label_requirements,
                                                field_requirements)
        deleted = []
        for item in items:
            try:
                obj, _ = store.delete(resource, item["metadata"].get("namespace"), item["metadata"]["name"],
                                      options, dry_run)
                deleted.append(obj)
            except errors.ApiError as error:
                if error.code != 404:
                    raise
        list_kind = getattr(resource, "list_kind", resource.kind + "List")
        self.send_json(200, {"kind": list_kind, "apiVersion": resource.api_version,
                             "metadata": {"resourceVersion": list_revision}, "items": deleted})

    # --- patches --------------------------------------------------------------------------------

    def patch_function(self, resource, body):
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        accepted = [JSON_PATCH, MERGE_PATCH] + ([STRATEGIC_PATCH] if resource.strategic_merge else [])
        if content_type not in accepted:
            raise errors.unsupported_media_type(accepted)
        document = patching.decode_json(body, "patch")

        def apply(current):
            try:
                if content_type == JSON_PATCH:
                    return patching.json_patch(current, document)
                if not isinstance(document, dict):
                    raise errors.bad_request("json: cannot unmarshal array into Go value of type "
                                             "map[string]interface {}")
                if content_type == MERGE_PATCH:
                    return patching.merge_patch(current, document)
                return patching.strategic_merge_patch(current, document)
            except patching.PatchError as error:
                raise errors.ApiError(
                    422, "Invalid", "the server rejected our request due to an error in our request",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": str(error)}]}) from None
        return apply

    # --- discovery ------------------------------------------------------------------------------

    def version_document(self):
        minor = self.server.version_minor
        return {"major": "1", "minor": str(minor), "gitVersion": f"v1.{minor}.0",
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc",
                "platform": "linux/amd64"}

    def server_address(self):
        host, port = self.server.server_address[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def api_versions(self):
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": self.server_address()}]}

    def api_group(self, group):
        versions = self.server.registry.groups().get(group)
        if not versions:
            return None
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": entries,
                "preferredVersion": entries[0]}

    def api_group_list(self):
        groups = []
        for group in self.server.registry.groups():
            document = self.api_group(group)
            del document["kind"], document["apiVersion"]
            groups.append(document)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    @staticmethod
    def resource_list(group, version, resources):
        entries = []
        for resource in resources:
            entries += resource.discovery_entries()
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": entries}

    # --- admin API ------------------------------------------------------------------------------

    def handle_admin(self, method, path, query, body):
        server = self.server
        try:
            if path == "/_fake/requests" and method == "GET":
                since = int(query.get("since") or 0)
                self.send_json(200, {"items": server.requests.since(since)})
            elif path == "/_fake/requests" and method == "DELETE":
                server.requests.clear()
                self.send_json(200, {})
            elif path == "/_fake/faults" and method == "GET":
                self.send_json(200, server.faults.snapshot())
            elif path == "/_fake/faults" and method == "DELETE":
                with server.faults.lock:
                    server.faults.reset()
                server.store.set_gc(True)
                self.send_json(200, server.faults.snapshot())
            elif path == "/_fake/faults" and method == "POST":
                self.apply_faults(patching.decode_json(body, "faults"))
                self.send_json(200, server.faults.snapshot())
            elif path == "/_fake/state" and method == "GET":
                store = server.store
                with store.lock:
                    watches = {}
                    for watcher in store.watchers:
                        watches[watcher.resource.plural] = watches.get(watcher.resource.plural, 0) + 1
                    state = {"resourceVersion": str(store.revision),
                             "compactedResourceVersion": str(store.compacted_revision),
                             "watches": watches, "objects": len(store.objects),
                             "gc": store.gc_enabled}
                self.send_json(200, state)
            elif path == "/_fake/gc" and method == "POST":
                server.store.collect_garbage()
                self.send_json(200, {})
            else:
                self.send_json(404, {"error": f"no admin endpoint {method} {path}"})
        except (ValueError, KeyError, TypeError) as error:
            self.send_json(400, {"error": f"invalid admin request: {error}"})
        except errors.ApiError as error:
            self.send_json(400, {"error": error.message})

    def apply_faults(self, request):
        if not isinstance(request, dict):
            raise ValueError("the body must be a JSON object")
        server, faults, store = self.server, self.server.faults, self.server.store
        known = {"dropWatches", "goneNext", "failWrites", "delayMs", "delayPathPrefix", "watchList",
                 "gc", "bookmarkIntervalSeconds", "sendBookmarks", "compact", "holdWatchEvents"}
        unknown = set(request) - known
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}; known: {sorted(known)}")

        with faults.lock:
            if "goneNext" in request:
                rule = dict(request["goneNext"])
                if rule.get("verb", "any") not in ("watch", "list", "any"):
                    raise ValueError("goneNext.verb must be watch, list or any")
                rule.setdefault("verb", "any")
                rule["count"] = int(rule.get("count", 1))
                faults.expiries.append(rule)
            if "failWrites" in request:
                rule = dict(request["failWrites"])
                if "path" not in rule and "pathPrefix" not in rule:
                    raise ValueError("failWrites needs path or pathPrefix")
                rule["code"] = int(rule.get("code", 500))
                rule["count"] = int(rule.get("count", 1))
                faults.fail_writes.append(rule)
            if "delayMs" in request:
                faults.delay_ms = int(request["delayMs"])
                faults.delay_path_prefix = request.get("delayPathPrefix", "")
            if "watchList" in request:
                faults.watch_list = bool(request["watchList"])
            if "holdWatchEvents" in request:
                faults.hold_watch_events = bool(request["holdWatchEvents"])

        if "gc" in request:
            store.set_gc(bool(request["gc"]))
        if "bookmarkIntervalSeconds" in request:
            store.bookmark_interval = float(request["bookmarkIntervalSeconds"])
        if request.get("compact"):
            store.compact()
        if request.get("sendBookmarks"):
            store.send_bookmarks()

        drop = request.get("dropWatches")
        if drop:
            if drop is True:
                store.drop_watches()
            else:
                matches = [t.storage_key for t in server.registry.types if t.plural == drop]
                for storage_key in set(matches):
                    store.drop_watches(storage_key)

