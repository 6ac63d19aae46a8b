"""Object storage with the semantics of kube-apiserver's generic registry.

One lock guards every object, the global resourceVersion counter and the
watch history, so each write is atomic and every watcher gets its events in
resourceVersion order.

Implemented: uid and creationTimestamp on create, a global resourceVersion
counter, metadata.generation bumped when anything but metadata and status
changes (custom resources only, as built-in Secrets, Leases, Events and
Namespaces have no generation), no-op writes that change nothing and send no
event, resourceVersion and uid preconditions (409 Conflict), finalizers and
graceful deletion (deletionTimestamp, deletionGracePeriodSeconds 0, generation
+1), propagation policies Background, Foreground and Orphan, the garbage
collector for ownerReferences, namespace termination, watch history with
compaction (410 Expired), bookmarks and the streaming list.

Not implemented: managedFields (server-side apply), lists served at an exact
older resourceVersion (only the current state is served), and pages of a
paginated list are read from the current state, not from the snapshot of the
first page.
"""

import base64
import collections
import copy
import json
import queue
import random
import threading
import time
import uuid

from . import errors
from . import selectors
from .resources import decode_errors, now_rfc3339, object_meta_errors
from .schema import json_type_name

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
_GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]


class Deleted(dict):
    """The last state of an object that a write deleted by removing its last finalizer.

    kube-apiserver responds to such a write with a Status of Success instead
    of the object, because none of the kinds served here set ReturnDeletedObject.
    """


def meta(obj):
    return obj.setdefault("metadata", {})


class Watcher:
    """One open watch: a filter and a queue of events for the streaming thread."""

    def __init__(self, resource, namespace, label_requirements, field_requirements, bookmarks):
        self.resource = resource
        self.namespace = namespace
        self.label_requirements = label_requirements
        self.field_requirements = field_requirements
        self.bookmarks = bookmarks
        self.events = queue.Queue()

    def matches(self, obj):
        if obj is None:
            return False
        if self.namespace and meta(obj).get("namespace") != self.namespace:
            return False
        if not selectors.labels_match(self.label_requirements, meta(obj).get("labels")):
            return False
        return selectors.fields_match(self.field_requirements, obj)

    def offer(self, event_type, obj, previous):
        """Queue an event, turning it into ADDED or DELETED when the object enters or leaves the filter."""
        now_matches = self.matches(obj)
        if event_type == "ADDED":
            if now_matches:
                self.events.put((event_type, obj))
        elif event_type == "DELETED":
            if now_matches:
                self.events.put((event_type, obj))
        else:
            before = self.matches(previous)
            if before and now_matches:
                self.events.put(("MODIFIED", obj))
            elif before:
                self.events.put(("DELETED", obj))
            elif now_matches:
                self.events.put(("ADDED", obj))

    def bookmark(self, revision, annotations=None):
        self.events.put(("BOOKMARK", revision, annotations or {}))

    def close(self):
        self.events.put(None)


class Store:
    """Every object of every resource, the revision counter and the watch machinery."""

    def __init__(self, registry, history_size=1000, bookmark_interval=60.0):
        self.registry = registry
        self.lock = threading.RLock()
        self.objects = {}
        self.revision = 0
        self.history = collections.deque()
        self.history_size = history_size
        self.compacted_revision = 0
        self.watchers = set()
        self.bookmark_interval = bookmark_interval
        self.gc_enabled = True
        self.gc_wakeup = threading.Event()
        self.stopping = threading.Event()
        for name in _SYSTEM_NAMESPACES:
            namespaces = registry.lookup("", "v1", "namespaces")
            self.create(namespaces, None, {"metadata": {"name": name}})

    # --- helpers --------------------------------------------------------------------

    def _next_revision(self):
        self.revision += 1
        return str(self.revision)

    def _record(self, event_type, resource_key, obj, previous):
        """Append an event to the history and hand it to matching watchers; lock held."""
        self.history.append((int(meta(obj)["resourceVersion"]), resource_key, event_type, obj, previous))
        while len(self.history) > self.history_size:
            evicted = self.history.popleft()
            self.compacted_revision = evicted[0]
        for watcher in list(self.watchers):
            if watcher.resource.storage_key == resource_key:
                watcher.offer(event_type, obj, previous)

    def compact(self):
        """Forget the whole watch history, as an etcd compaction at the current revision would."""
        with self.lock:
            self.history.clear()
            self.compacted_revision = self.revision

    def _key(self, resource, namespace, name):
        return (resource.storage_key, namespace if resource.namespaced else "", name)

    def _check_namespace(self, resource, namespace, name, creating):
        if not resource.namespaced:
            return
        namespaces = self.registry.lookup("", "v1", "namespaces")
        existing = self.objects.get(("namespaces", "", namespace))
        if existing is None:
            raise errors.not_found(namespaces, namespace)
        if creating and meta(existing).get("deletionTimestamp"):
            error = errors.forbidden(resource, name,
                                     f"unable to create new content in namespace {namespace} "
                                     f"because it is being terminated")
            error.details["causes"] = [{"reason": "NamespaceTerminating",
                                        "message": f"namespace {namespace} is being terminated",
                                        "field": "metadata.namespace"}]
            raise error

    def _decode(self, resource, namespace, body, field_validation, warnings):
        """Check apiVersion, kind and namespace of a request object and prune it by the schema."""
        if not isinstance(body, dict):
            raise errors.bad_request(f"{resource.kind} in version \"{resource.version}\" cannot be "
                                     f"handled as a {resource.kind}: json: cannot unmarshal "
                                     f"{json_type_name(body)} into Go value of type map[string]interface {{}}")
        obj = copy.deepcopy(body)

        if resource.schema is not None and not obj.get("kind"):
            raise errors.bad_request(f"Object 'Kind' is missing in '{json.dumps(body, separators=(',', ':'))}'")
        if obj.get("apiVersion") and obj["apiVersion"] != resource.api_version:
            raise errors.bad_request(f"the API version in the data ({obj['apiVersion']}) does not "
                                     f"match the expected API version ({resource.api_version})")
        if obj.get("kind") and obj["kind"] != resource.kind:
            raise errors.bad_request(f"the kind in the data ({obj['kind']}) does not match the "
                                     f"expected kind ({resource.kind})")
        obj["apiVersion"] = resource.api_version
        obj["kind"] = resource.kind
        decode_error = decode_errors(obj, resource.field_types)
        if decode_error:
            raise errors.bad_request(f"{resource.kind} in version \"{resource.version}\" cannot be "
                                     f"handled as a {resource.kind}: {decode_error}")

        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.bad_request(f"{resource.kind} in version \"{resource.version}\" cannot be "
                                     f"handled as a {resource.kind}: metadata must be an object")
        metadata = meta(obj)
        if resource.namespaced:
            if metadata.get("namespace") and metadata["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the "
                                         "namespace sent on the request")
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        metadata.pop("managedFields", None)
        metadata.pop("selfLink", None)

        if resource.schema is not None:
            unknown = resource.schema.prune_object(obj)
            if unknown and field_validation == "Strict":
                detail = ", ".join(f'unknown field "{path}"' for path in unknown)
                raise errors.bad_request(f"{resource.kind} in version \"{resource.version}\" cannot "
                                         f"be handled as a {resource.kind}: strict decoding error: {detail}")
            if field_validation not in ("Ignore", "Strict"):
                warnings += [f'unknown field "{path}"' for path in unknown]
            resource.schema.default_object(obj)
        return obj

    def _validation_errors(self, resource, obj, old):
        found = object_meta_errors(obj, resource.name_validator, resource.namespaced)
        found += resource.validate(obj, old)
        if resource.schema is not None:
            found += resource.schema.validate_object(obj)
        return found

    # --- reads -----------------------------------------------------------------------

    def get(self, resource, namespace, name):
        with self.lock:
            obj = self.objects.get(self._key(resource, namespace, name))
            if obj is None:
                raise errors.not_found(resource, name)
            return resource.from_storage(obj)

    def list(self, resource, namespace, label_requirements, field_requirements, limit=0,
             continue_token=None):
        """Return (items in version form, list resourceVersion, continue token, remaining count)."""
        with self.lock:
            start_after = None
            list_revision = self.revision
            if continue_token:
                try:
                    decoded = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                    list_revision = int(decoded["rv"])
                    start_after = tuple(decoded["start"])
                except (ValueError, KeyError, TypeError):
                    raise errors.bad_request("continue key is not valid: illegal base64 data") from None
                if list_revision < self.compacted_revision:
                    raise errors.expired(
                        "The provided continue parameter is too old to display a consistent list "
                        "result. You can start a new list without the continue parameter, or use "
                        "the continue token in this response to retrieve the remainder of the results. "
                        "Continuing with the provided token results in an inconsistent list - objects "
                        "that were created, modified, or deleted between the time the first chunk was "
                        "returned and now may show up in the list.")
            matching = []
            for key in sorted(k for k in self.objects if k[0] == resource.storage_key):
                if namespace and key[1] != namespace:
                    continue
                if start_after is not None and key[1:] <= start_after:
                    continue
                obj = self.objects[key]
                if not selectors.labels_match(label_requirements, meta(obj).get("labels")):
                    continue
                if not selectors.fields_match(field_requirements, obj):
                    continue
                matching.append((key, obj))
            token, remaining = None, None
            if limit and len(matching) > limit:
                last_key = matching[limit - 1][0]
                remaining = len(matching) - limit
                matching = matching[:limit]
                token = base64.urlsafe_b64encode(json.dumps(
                    {"rv": list_revision, "start": list(last_key[1:])}).encode()).decode()
            items = [resource.from_storage(obj) for _, obj in matching]
            return items, str(list_revision), token, remaining

    # --- writes ----------------------------------------------------------------------

    def create(self, resource, namespace, body, dry_run=False, field_validation="Warn"):
        """Create an object; return (object, warnings)."""
        warnings = []
        with self.lock:
            obj = self._decode(resource, namespace, body, field_validation, warnings)
            metadata = meta(obj)
            if not metadata.get("name") and metadata.get("generateName"):
                suffix = "".join(random.choice(_GENERATE_NAME_ALPHABET) for _ in range(5))
                metadata["name"] = metadata["generateName"] + suffix
            name = metadata.get("name", "")
            if metadata.get("resourceVersion"):
                raise errors.internal_error("resourceVersion should not be set on objects to be created")
            if name and resource.namespaced:
                self._check_namespace(resource, namespace, name, creating=True)
            for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                metadata.pop(field, None)
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = now_rfc3339()
            if resource.tracks_generation:
                metadata["generation"] = 1
            resource.prepare_create(obj)
            found = self._validation_errors(resource, obj, None)
            if found:
                raise errors.invalid_error(resource, name, found)
            key = self._key(resource, namespace, name)
            if key in self.objects:
                raise errors.already_exists(resource, name)
            stored = resource.to_storage(obj)
            if dry_run:
                return resource.from_storage(stored), warnings
            meta(stored)["resourceVersion"] = self._next_revision()
            self.objects[key] = stored
            self._record("ADDED", resource.storage_key, stored, None)
            if meta(stored).get("ownerReferences"):
                self.gc_wakeup.set()
            return resource.from_storage(stored), warnings

    def update(self, resource, namespace, name, body, subresource=None, dry_run=False,
               field_validation="Warn"):
        """Replace an object (PUT); return (object, warnings)."""
        warnings = []
        with self.lock:
            obj = self._decode(resource, namespace, body, field_validation, warnings)
            if meta(obj).get("name") and meta(obj)["name"] != name:
                raise errors.bad_request(f"the name of the object ({meta(obj)['name']}) does not "
                                         f"match the name on the URL ({name})")
            meta(obj)["name"] = name
            return self._write(resource, namespace, name, obj, subresource, dry_run), warnings

    def patch(self, resource, namespace, name, apply_patch, subresource=None, dry_run=False,
              field_validation="Warn"):
        """Patch an object: `apply_patch` maps the current object (version form) to the patched one."""
        warnings = []
        with self.lock:
            current = self.objects.get(self._key(resource, namespace, name))
            if current is None:
                raise errors.not_found(resource, name)
            patched = apply_patch(resource.from_storage(current))
            if isinstance(patched, dict) and isinstance(patched.get("metadata"), dict):
                if patched["metadata"].get("name", name) != name:
                    raise errors.bad_request(f"the name of the object ({patched['metadata']['name']}) "
                                             f"does not match the name on the URL ({name})")
            obj = self._decode(resource, namespace, patched, field_validation, warnings)
            meta(obj)["name"] = name
            return self._write(resource, namespace, name, obj, subresource, dry_run), warnings

    def _write(self, resource, namespace, name, obj, subresource, dry_run):
        """Apply an update to an existing object: preconditions, strategy, validation, storage."""
        key = self._key(resource, namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise errors.not_found(resource, name)
        old = resource.from_storage(current)
        requested_version = meta(obj).get("resourceVersion")
        if requested_version and requested_version != meta(current)["resourceVersion"]:
            raise errors.conflict(resource, name)

        if subresource == "status":
            status = obj.get("status")
            obj = copy.deepcopy(old)
            if status is None:
                obj.pop("status", None)
            else:
                obj["status"] = status
        else:
            resource.prepare_update(obj, old)

        found = []
        metadata, old_metadata = meta(obj), meta(old)
        if metadata.get("uid") and metadata["uid"] != old_metadata["uid"]:
            found.append(errors.invalid("metadata.uid", metadata["uid"], "field is immutable"))
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "generation"):
            if field in old_metadata:
                metadata[field] = old_metadata[field]
            else:
                metadata.pop(field, None)
        if resource.tracks_generation and resource.spec_changed(obj, old):
            metadata["generation"] = old_metadata.get("generation", 0) + 1
        if old_metadata.get("deletionTimestamp"):
            added = [f for f in metadata.get("finalizers") or []
                     if f not in (old_metadata.get("finalizers") or [])]
            if added:
                found.append(errors.FieldError(
                    errors.FORBIDDEN, "metadata.finalizers", None,
                    f"no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers []string{{{', '.join(json.dumps(f) for f in added)}}}"))
        found += self._validation_errors(resource, obj, old)
        if found:
            raise errors.invalid_error(resource, name, found)

        stored = resource.to_storage(obj)
        meta(stored)["resourceVersion"] = meta(current)["resourceVersion"]
        if stored == current or dry_run:
            return resource.from_storage(stored)
        if meta(stored).get("deletionTimestamp") and not self._pending_finalizers(stored):
            self._remove(key, current)
            return Deleted(resource.from_storage(current))
        meta(stored)["resourceVersion"] = self._next_revision()
        self.objects[key] = stored
        self._record("MODIFIED", resource.storage_key, stored, current)
        self.gc_wakeup.set()
        return resource.from_storage(stored)

    def _pending_finalizers(self, obj):
        pending = list(meta(obj).get("finalizers") or [])
        if meta(obj).get("deletionTimestamp") and obj.get("kind") == "Namespace":
            pending += (obj.get("spec") or {}).get("finalizers") or []
        return pending

    def _remove(self, key, current):
        """Delete a stored object now and send DELETED with its last state; lock held."""
        removed = copy.deepcopy(current)
        meta(removed)["resourceVersion"] = self._next_revision()
        del self.objects[key]
        self._record("DELETED", key[0], removed, current)
        self.gc_wakeup.set()
        return removed

    def delete(self, resource, namespace, name, options=None, dry_run=False):
        """Delete an object; return (object in version form, whether it was removed now)."""
        options = options or {}
        with self.lock:
            key = self._key(resource, namespace, name)
            current = self.objects.get(key)
            if current is None:
                raise errors.not_found(resource, name)
            preconditions = options.get("preconditions") or {}
            if preconditions.get("uid") and preconditions["uid"] != meta(current)["uid"]:
                raise errors.conflict(resource, name,
                                      f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                                      f"UID in object meta: {meta(current)['uid']}")
            expected_version = preconditions.get("resourceVersion")
            if expected_version and expected_version != meta(current)["resourceVersion"]:
                raise errors.conflict(
                    resource, name,
                    f"Precondition failed: ResourceVersion in precondition: {expected_version}, "
                    f"ResourceVersion in object meta: {meta(current)['resourceVersion']}")
            policy = options.get("propagationPolicy")
            if policy is None and options.get("orphanDependents") is not None:
                policy = "Orphan" if options["orphanDependents"] else "Background"
            if policy not in (None, "Background", "Foreground", "Orphan"):
                raise errors.invalid_error(resource, name, [errors.FieldError(
                    errors.NOT_SUPPORTED, "propagationPolicy", policy,
                    'supported values: "Foreground", "Background", "Orphan", "nil"')])
            if dry_run:
                return resource.from_storage(current), False
            result, gone = self._delete_stored(key, current, policy)
            return resource.from_storage(result), gone

    def _delete_stored(self, key, current, policy):
        """Start or finish the deletion of a stored object; lock held."""
        stored = copy.deepcopy(current)
        metadata = meta(stored)
        finalizers = list(metadata.get("finalizers") or [])
        if policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if finalizers:
            metadata["finalizers"] = finalizers
        is_namespace = key[0] == "namespaces"
        if not finalizers and not is_namespace:
            return self._remove(key, current), True
        if not metadata.get("deletionTimestamp"):
            metadata["deletionTimestamp"] = now_rfc3339()
            metadata["deletionGracePeriodSeconds"] = 0
            if metadata.get("generation"):
                metadata["generation"] += 1
        if is_namespace:
            stored.setdefault("status", {})["phase"] = "Terminating"
        if stored == current:
            return current, False
        metadata["resourceVersion"] = self._next_revision()
        self.objects[key] = stored
        self._record("MODIFIED", key[0], stored, current)
        self.gc_wakeup.set()
        return stored, False

    # --- watch -------------------------------------------------------------------------

    def watch(self, resource, namespace, label_requirements, field_requirements, resource_version,
              send_initial_events, bookmarks):
        """Register a watcher and queue its first events; raise 410 for a compacted start."""
        with self.lock:
            watcher = Watcher(resource, namespace, label_requirements, field_requirements, bookmarks)
            if send_initial_events or resource_version in (None, "", "0"):
                for key in sorted(k for k in self.objects if k[0] == resource.storage_key):
                    obj = self.objects[key]
                    if watcher.matches(obj):
                        watcher.events.put(("ADDED", obj))
                if send_initial_events:
                    watcher.bookmark(self.revision, {INITIAL_EVENTS_END: "true"})
            else:
                try:
                    start = int(resource_version)
                except ValueError:
                    raise errors.bad_request(
                        f'invalid resource version: strconv.ParseUint: parsing "{resource_version}": '
                        f'invalid syntax') from None
                if start < self.compacted_revision:
                    raise errors.expired(f"too old resource version: {start} ({self.compacted_revision + 1})")
                for revision, resource_key, event_type, obj, previous in self.history:
                    if revision > start and resource_key == resource.storage_key:
                        watcher.offer(event_type, obj, previous)
            self.watchers.add(watcher)
            return watcher

    def stop_watch(self, watcher):
        with self.lock:
            self.watchers.discard(watcher)

    def drop_watches(self, storage_key=None):
        """Close open watches (all, or those of one resource) as if the server ended them."""
        with self.lock:
            for watcher in list(self.watchers):
                if storage_key is None or watcher.resource.storage_key == storage_key:
                    watcher.close()
                    self.watchers.discard(watcher)

    def send_bookmarks(self):
        with self.lock:
            for watcher in self.watchers:
                if watcher.bookmarks:
                    watcher.bookmark(self.revision)

    def run_bookmarks(self):
        """Send a BOOKMARK to every watch that asked for them, every bookmark_interval seconds."""
        last = time.monotonic()
        while not self.stopping.wait(0.05):
            if time.monotonic() - last >= self.bookmark_interval:
                self.send_bookmarks()
                last = time.monotonic()

    # --- garbage collector and namespace controller ---------------------------------------

    def run_collector(self):
        """Run the garbage collector whenever a write may have left dependents or finalizers."""
        while not self.stopping.is_set():
            self.gc_wakeup.wait(1.0)
            self.gc_wakeup.clear()
            # A pass checks the switch under the store lock and keeps the lock
            # until it ends. set_gc takes the same lock, so no pass runs after a
            # pause request returns, even one that woke up before it.
            with self.lock:
                if self.gc_enabled and not self.stopping.is_set():
                    self.collect_garbage()

    def set_gc(self, enabled):
        """Pause (False) or resume (True) the background passes of the garbage collector."""
        with self.lock:
            self.gc_enabled = enabled
        self.gc_wakeup.set()

    def _owner(self, reference, namespace):
        """Return the stored owner an ownerReference names, None when absent, or ... when unknown."""
        owner_type = self.registry.by_kind(reference.get("apiVersion", ""), reference.get("kind", ""))
        if owner_type is None:
            return ...
        key = self._key(owner_type, namespace, reference.get("name", ""))
        owner = self.objects.get(key)
        if owner is None or meta(owner).get("uid") != reference.get("uid"):
            return None
        return owner

    def collect_garbage(self):
        """Run one pass of the garbage collector and the namespace controller."""
        with self.lock:
            for key in list(self.objects):
                current = self.objects.get(key)
                if current is not None:
                    self._collect_dependent(key, current)
            for key in list(self.objects):
                current = self.objects.get(key)
                if current is not None and meta(current).get("deletionTimestamp"):
                    self._finalize_owner(key, current)

    def _collect_dependent(self, key, current):
        references = meta(current).get("ownerReferences") or []
        if not references:
            return
        solid, dangling, waiting = [], [], []
        for reference in references:
            owner = self._owner(reference, key[1])
            if owner is None:
                dangling.append(reference)
            elif owner is not ... and meta(owner).get("deletionTimestamp") and \
                    "foregroundDeletion" in (meta(owner).get("finalizers") or []) and \
                    reference.get("blockOwnerDeletion"):
                waiting.append(reference)
            else:
                solid.append(reference)
        if not solid:
            if not meta(current).get("deletionTimestamp"):
                self._delete_stored(key, current, "Foreground" if waiting else "Background")
        elif dangling:
            updated = copy.deepcopy(current)
            meta(updated)["ownerReferences"] = solid + waiting
            meta(updated)["resourceVersion"] = self._next_revision()
            self.objects[key] = updated
            self._record("MODIFIED", key[0], updated, current)

    def _dependents(self, uid):
        return [(k, o) for k, o in self.objects.items()
                if any(r.get("uid") == uid for r in meta(o).get("ownerReferences") or [])]

    def _remove_finalizer(self, key, current, finalizer, spec=False):
        updated = copy.deepcopy(current)
        if spec:
            updated["spec"]["finalizers"] = [f for f in updated["spec"]["finalizers"] if f != finalizer]
        else:
            meta(updated)["finalizers"] = [f for f in meta(updated)["finalizers"] if f != finalizer]
            if not meta(updated)["finalizers"]:
                del meta(updated)["finalizers"]
        if not self._pending_finalizers(updated):
            self._remove(key, current)
            return
        meta(updated)["resourceVersion"] = self._next_revision()
        self.objects[key] = updated
        self._record("MODIFIED", key[0], updated, current)

    def _finalize_owner(self, key, current):
        uid = meta(current)["uid"]
        finalizers = meta(current).get("finalizers") or []
        if "orphan" in finalizers:
            for dependent_key, dependent in self._dependents(uid):
                updated = copy.deepcopy(dependent)
                meta(updated)["ownerReferences"] = [
                    r for r in meta(updated)["ownerReferences"] if r.get("uid") != uid]
                if not meta(updated)["ownerReferences"]:
                    del meta(updated)["ownerReferences"]
                meta(updated)["resourceVersion"] = self._next_revision()
                self.objects[dependent_key] = updated
                self._record("MODIFIED", dependent_key[0], updated, dependent)
            self._remove_finalizer(key, self.objects[key], "orphan")
        elif "foregroundDeletion" in finalizers:
            dependents = self._dependents(uid)
            for dependent_key, dependent in dependents:
                if not meta(dependent).get("deletionTimestamp"):
                    self._delete_stored(dependent_key, dependent, "Foreground")
            if not self._dependents(uid):
                self._remove_finalizer(key, self.objects[key], "foregroundDeletion")
        elif key[0] == "namespaces" and "kubernetes" in (current.get("spec") or {}).get("finalizers", []):
            name = key[2]
            contents = [(k, o) for k, o in self.objects.items() if k[1] == name and k[0] != "namespaces"]
            for content_key, content in contents:
                if not meta(content).get("deletionTimestamp"):
                    self._delete_stored(content_key, content, "Background")
            if not any(k[1] == name and k[0] != "namespaces" for k in self.objects):
                self._remove_finalizer(key, self.objects[key], "kubernetes", spec=True)
