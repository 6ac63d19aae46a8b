"""The resource types the fake serves, their discovery documents and Table output.

Each ResourceType carries what kube-apiserver keeps in a REST strategy: the
names and scope for discovery, how an object is prepared on create and update,
kind-specific validation, the field selectors it supports, and the columns of
its Table form (`kubectl get`).

Served kinds:
- core/v1 Namespace, Secret and Event;
- events.k8s.io/v1 Event, stored as core/v1 Events and converted field by
  field, as the real server does;
- coordination.k8s.io/v1 Lease;
- every served version of the custom resource definitions on the command line.
"""

import base64
import copy
import datetime
import hashlib
import re

from . import errors
from .schema import ResourceSchema

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + r")*"
_QUALIFIED_NAME_PART = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_CONFIG_KEY = r"[-._a-zA-Z0-9]+"


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def human_duration(seconds):
    """Format an age the way k8s.io/apimachinery/pkg/util/duration.HumanDuration does."""
    seconds = int(seconds)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def age_of(timestamp):
    moment = parse_time(timestamp or "")
    if moment is None:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - moment).total_seconds())


def dns1123_subdomain_errors(field, value):
    found = []
    if len(value) > 253:
        found.append(errors.invalid(field, value, "must be no more than 253 characters"))
    if not re.fullmatch(_DNS1123_SUBDOMAIN, value):
        found.append(errors.invalid(
            field, value,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. "
            f"'example.com', regex used for validation is '{_DNS1123_SUBDOMAIN}')"))
    return found


def dns1123_label_errors(field, value):
    found = []
    if len(value) > 63:
        found.append(errors.invalid(field, value, "must be no more than 63 characters"))
    if not re.fullmatch(_DNS1123_LABEL, value):
        found.append(errors.invalid(
            field, value,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
            f"'123-abc', regex used for validation is '{_DNS1123_LABEL}')"))
    return found


def qualified_name_errors(field, value):
    found = []
    prefix, _, name = value.rpartition("/")
    if prefix:
        found += [errors.invalid(field, value, "prefix part " + e.detail.split(": ", 1)[-1])
                  for e in dns1123_subdomain_errors(field, prefix)]
    if not name:
        found.append(errors.invalid(field, value, "name part must be non-empty"))
    elif len(name) > 63:
        found.append(errors.invalid(field, value, "name part must be no more than 63 characters"))
    elif not re.fullmatch(_QUALIFIED_NAME_PART, name):
        found.append(errors.invalid(
            field, value,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
            "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
            f"regex used for validation is '{_QUALIFIED_NAME_PART}')"))
    return found


def object_meta_errors(obj, name_validator, namespaced):
    """Validate ObjectMeta as apimachinery's ValidateObjectMeta does, for the fields used here."""
    meta = obj.get("metadata") or {}
    found = []

    name = meta.get("name", "")
    if not name:
        found.append(errors.required("metadata.name", "name or generateName is required"))
    else:
        found += name_validator("metadata.name", name)
    if namespaced and not meta.get("namespace"):
        found.append(errors.required("metadata.namespace"))

    for key, value in (meta.get("labels") or {}).items():
        found += qualified_name_errors("metadata.labels", key)
        if not isinstance(value, str) or len(value) > 63 or not re.fullmatch(_LABEL_VALUE, value):
            found.append(errors.invalid(
                "metadata.labels", value,
                "a valid label must be an empty string or consist of alphanumeric characters, '-', "
                "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
                f"or 'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')"))

    annotations = meta.get("annotations") or {}
    total = 0
    for key, value in annotations.items():
        found += qualified_name_errors("metadata.annotations", key.lower())
        total += len(key) + len(value if isinstance(value, str) else "")
    if total > 256 * 1024:
        found.append(errors.FieldError(errors.TOO_LONG, "metadata.annotations", "",
                                       "may not be longer than 262144"))

    for index, finalizer in enumerate(meta.get("finalizers") or []):
        found += qualified_name_errors(f"metadata.finalizers[{index}]", finalizer)

    controllers = 0
    for reference in meta.get("ownerReferences") or []:
        if not reference.get("apiVersion"):
            found.append(errors.invalid("metadata.ownerReferences.apiVersion", "",
                                        "version must not be empty"))
        if not reference.get("kind"):
            found.append(errors.invalid("metadata.ownerReferences.kind", "", "kind must not be empty"))
        if not reference.get("name"):
            found.append(errors.invalid("metadata.ownerReferences.name", "", "name must not be empty"))
        if not reference.get("uid"):
            found.append(errors.invalid("metadata.ownerReferences.uid", "", "uid must not be empty"))
        if reference.get("controller"):
            controllers += 1
    if controllers > 1:
        found.append(errors.invalid("metadata.ownerReferences", meta.get("ownerReferences"),
                                    "Only one reference can have Controller set to true"))
    return found


# --- typed decoding of built-in fields ----------------------------------------------------
#
# kube-apiserver decodes built-in kinds and every ObjectMeta into Go structs, so
# a value of the wrong JSON type, or a time in the wrong layout, fails with 400
# before validation. Each table maps a field path to (Go struct, Go type).

RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"
RFC3339 = "2006-01-02T15:04:05Z07:00"
_MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

OBJECT_META_TYPES = {
    "metadata.name": ("ObjectMeta", "string"),
    "metadata.generateName": ("ObjectMeta", "string"),
    "metadata.namespace": ("ObjectMeta", "string"),
    "metadata.uid": ("ObjectMeta", "string"),
    "metadata.resourceVersion": ("ObjectMeta", "string"),
    "metadata.generation": ("ObjectMeta", "int64"),
    "metadata.labels": ("ObjectMeta", "map[string]string"),
    "metadata.annotations": ("ObjectMeta", "map[string]string"),
    "metadata.finalizers": ("ObjectMeta", "[]string"),
    "metadata.ownerReferences": ("ObjectMeta", "[]v1.OwnerReference"),
}


def _json_kind(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_type_matches(value, go_type):
    if go_type == "string" or go_type in ("MicroTime", "Time"):
        return isinstance(value, str)
    if go_type in ("int32", "int64"):
        return isinstance(value, int) and not isinstance(value, bool)
    if go_type == "bool":
        return isinstance(value, bool)
    if go_type == "map[string]string":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if go_type == "[]string":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if go_type.startswith("[]"):
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    return isinstance(value, dict)


def _time_error(value, layout, micro):
    pattern = _MICRO_TIME if micro else _TIME
    if pattern.match(value):
        return None
    rest = value[19:] if _TIME.match(value[:19] + "Z") else value
    element = ".000000" if micro and _TIME.match(value[:19] + "Z") else "2006"
    return f'parsing time "{value}" as "{layout}": cannot parse "{rest}" as "{element}"'


def decode_errors(obj, field_types):
    """Return the Go decoding error of the first mistyped field, or None."""
    for path, (struct, go_type) in field_types.items():
        node, present = obj, True
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                present = False
                break
            node = node[part]
        if not present or node is None:
            continue
        if not _go_type_matches(node, go_type):
            bad, reported = _json_kind(node), go_type
            element_container = {"map[string]string": dict, "[]string": list}.get(go_type)
            if element_container is not None and isinstance(node, element_container):
                values = node.values() if isinstance(node, dict) else node
                bad = next(_json_kind(v) for v in values if not isinstance(v, str))
                reported = "string"
            return (f"json: cannot unmarshal {bad} into Go struct field {struct}.{path} "
                    f"of type {reported}")
        if go_type == "MicroTime":
            error = _time_error(node, RFC3339_MICRO, True)
            if error:
                return error
        if go_type == "Time":
            error = _time_error(node, RFC3339, False)
            if error:
                return error
    return None


class ResourceType:
    """One served resource: names, scope, strategy hooks and Table columns."""

    def __init__(self, group, version, kind, plural, singular, namespaced, short_names=(),
                 categories=(), status_subresource=False, storage_key=None,
                 extra_field_selectors=(), strategic_merge=True, tracks_generation=False,
                 name_validator=dns1123_subdomain_errors):
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = singular
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.categories = list(categories)
        self.status_subresource = status_subresource
        self.storage_key = storage_key or (f"{plural}.{group}" if group else plural)
        self.field_selectors = ["metadata.name"] + (["metadata.namespace"] if namespaced else [])
        self.field_selectors += list(extra_field_selectors)
        self.strategic_merge = strategic_merge
        self.tracks_generation = tracks_generation
        self.name_validator = name_validator
        self.schema = None
        self.field_types = dict(OBJECT_META_TYPES)

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version_path(self):
        return f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"

    def to_storage(self, obj):
        """Convert an object of this version to the stored form (identity but for events)."""
        return obj

    def from_storage(self, obj):
        """Convert a stored object to this version, with apiVersion and kind set."""
        result = copy.deepcopy(obj)
        result["apiVersion"] = self.api_version
        result["kind"] = self.kind
        return result

    def prepare_create(self, obj):
        """Fill fields the server owns before validation, as a REST strategy's PrepareForCreate."""

    def prepare_update(self, new, old):
        """Carry fields the request may not change from `old`, as PrepareForUpdate does."""

    def validate(self, obj, old):
        """Return kind-specific FieldErrors; `old` is None on create."""
        return []

    def spec_changed(self, new, old):
        """Return whether a write changes what metadata.generation counts."""
        def strip(obj):
            return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
        return strip(new) != strip(old)

    # --- Table output -------------------------------------------------------------

    def column_definitions(self):
        return [{"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION,
                 "priority": 0},
                {"name": "Created At", "type": "date", "format": "",
                 "description": "CreationTimestamp is a timestamp representing the server time when "
                                "this object was created.", "priority": 0}]

    def cells(self, obj):
        return [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")]

    def discovery_entries(self):
        entry = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                 "kind": self.kind, "verbs": ALL_VERBS,
                 "storageVersionHash": base64.b64encode(hashlib.sha256(
                     f"{self.group}/{self.version}/{self.kind}".encode()).digest()[:8]).decode()}
        if self.short_names:
            entry["shortNames"] = self.short_names
        if self.categories:
            entry["categories"] = self.categories
        entries = [entry]
        if self.status_subresource:
            entries.append({"name": f"{self.plural}/status", "singularName": "",
                            "namespaced": self.namespaced, "kind": self.kind,
                            "verbs": ["get", "patch", "update"]})
        return entries


# --- core/v1 Namespace --------------------------------------------------------------

class NamespaceType(ResourceType):
    def __init__(self):
        super().__init__("", "v1", "Namespace", "namespaces", "namespace", False,
                         short_names=["ns"], status_subresource=True,
                         extra_field_selectors=["status.phase"],
                         name_validator=dns1123_label_errors)

    def prepare_create(self, obj):
        obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
        obj["status"] = {"phase": "Active"}
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]

    def prepare_update(self, new, old):
        new["spec"] = copy.deepcopy(old.get("spec", {}))
        new["status"] = copy.deepcopy(old.get("status", {}))
        new["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = old["metadata"]["name"]

    def column_definitions(self):
        return [ResourceType.column_definitions(self)[0],
                {"name": "Status", "type": "string", "format": "",
                 "description": "The status of the namespace", "priority": 0},
                {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0}]

    def cells(self, obj):
        return [obj["metadata"]["name"], obj.get("status", {}).get("phase", ""),
                age_of(obj["metadata"].get("creationTimestamp"))]


# --- core/v1 Secret -------------------------------------------------------------------

class SecretType(ResourceType):
    def __init__(self):
        super().__init__("", "v1", "Secret", "secrets", "secret", True,
                         extra_field_selectors=["type"])
        self.field_types.update({
            "data": ("Secret", "map[string]string"), "stringData": ("Secret", "map[string]string"),
            "type": ("Secret", "string"), "immutable": ("Secret", "bool")})

    def _normalise(self, obj):
        """Fold stringData into data and check base64, as decoding a v1 Secret does."""
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            raise errors.bad_request("Secret in version \"v1\" cannot be handled as a Secret: "
                                     "json: cannot unmarshal into Go struct field Secret.data")
        for key, value in data.items():
            try:
                base64.b64decode(value or "", validate=True)
            except (ValueError, TypeError):
                raise errors.bad_request("Secret in version \"v1\" cannot be handled as a Secret: "
                                         "illegal base64 data at input byte 0") from None
        for key, value in (obj.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        if data or "data" in obj:
            obj["data"] = data
        obj.setdefault("type", "Opaque")

    def prepare_create(self, obj):
        self._normalise(obj)

    def prepare_update(self, new, old):
        self._normalise(new)

    def validate(self, obj, old):
        found = []
        total = 0
        for key, value in (obj.get("data") or {}).items():
            if not re.fullmatch(_CONFIG_KEY, key):
                found.append(errors.invalid(
                    f"data[{key}]", key,
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                    "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
                    f"is '{_CONFIG_KEY}')"))
            total += len(base64.b64decode(value or ""))
        if total > 1024 * 1024:
            found.append(errors.FieldError(errors.TOO_LONG, "data", "",
                                           "may not be longer than 1048576"))
        if old is not None:
            if old.get("type") != obj.get("type"):
                found.append(errors.invalid("type", obj.get("type"), "field is immutable"))
            if old.get("immutable"):
                if obj.get("data") != old.get("data"):
                    found.append(errors.FieldError(errors.FORBIDDEN, "data", None,
                                                   "field is immutable when `immutable` is set"))
                if not obj.get("immutable"):
                    found.append(errors.FieldError(errors.FORBIDDEN, "immutable", None,
                                                   "field is immutable when `immutable` is set"))
        return found

    def column_definitions(self):
        return [ResourceType.column_definitions(self)[0],
                {"name": "Type", "type": "string", "format": "", "description": "", "priority": 0},
                {"name": "Data", "type": "string", "format": "", "description": "", "priority": 0},
                {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0}]

    def cells(self, obj):
        return [obj["metadata"]["name"], obj.get("type", ""), len(obj.get("data") or {}),
                age_of(obj["metadata"].get("creationTimestamp"))]


# --- Events: core/v1 and events.k8s.io/v1 -----------------------------------------------

EVENT_FIELDS_CORE_TO_EVENTS = {
    "involvedObject": "regarding",
    "related": "related",
    "message": "note",
    "reason": "reason",
    "type": "type",
    "action": "action",
    "eventTime": "eventTime",
    "series": "series",
    "reportingComponent": "reportingController",
    "reportingInstance": "reportingInstance",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
}

CORE_EVENT_FIELD_SELECTORS = [
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
    "reason", "reportingComponent", "source", "type",
]


def _event_name(field, value):
    if "/" in value or value in (".", ".."):
        return [errors.invalid(field, value, "may not contain '/'")]
    return []


class CoreEventType(ResourceType):
    def __init__(self):
        super().__init__("", "v1", "Event", "events", "event", True, short_names=["ev"],
                         storage_key="events", extra_field_selectors=CORE_EVENT_FIELD_SELECTORS,
                         name_validator=_event_name)
        self.field_types.update({
            "reason": ("Event", "string"), "message": ("Event", "string"), "type": ("Event", "string"),
            "count": ("Event", "int32"), "action": ("Event", "string"),
            "eventTime": ("Event", "MicroTime"), "firstTimestamp": ("Event", "Time"),
            "lastTimestamp": ("Event", "Time"), "series.count": ("EventSeries", "int32"),
            "series.lastObservedTime": ("EventSeries", "MicroTime"),
            "reportingComponent": ("Event", "string"), "reportingInstance": ("Event", "string")})

    def validate(self, obj, old):
        found = []
        involved = obj.get("involvedObject") or {}
        namespace = obj["metadata"].get("namespace")
        if involved.get("namespace") and involved["namespace"] != namespace:
            found.append(errors.invalid("involvedObject.namespace", involved["namespace"],
                                        "does not match event.namespace"))
        if obj.get("type") and obj["type"] not in ("Normal", "Warning"):
            found.append(errors.FieldError(errors.NOT_SUPPORTED, "type", obj["type"],
                                           'supported values: "Normal", "Warning"'))
        if obj.get("eventTime"):
            found += _new_style_event_errors(obj, "reportingComponent", "message")
        return found

    def column_definitions(self):
        def column(name):
            return {"name": name, "type": "string", "format": "", "description": "", "priority": 0}
        return [column("Last Seen"), column("Type"), column("Reason"), column("Object"),
                column("Message")]

    def cells(self, obj):
        seen = obj.get("lastTimestamp") or obj.get("eventTime") or obj["metadata"].get(
            "creationTimestamp")
        involved = obj.get("involvedObject") or {}
        return [age_of(seen), obj.get("type", ""), obj.get("reason", ""),
                f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
                obj.get("message", "")]


def _new_style_event_errors(obj, controller_field, note_field):
    """Check the fields events.k8s.io/v1 requires of events that carry eventTime."""
    found = []
    for field in (controller_field, "reportingInstance", "action", "reason"):
        if not obj.get(field):
            found.append(errors.required(field))
    if len(obj.get(note_field) or "") > 1024:
        found.append(errors.FieldError(errors.TOO_LONG, note_field, "", "may not be longer than 1024"))
    return found


class EventsV1Type(CoreEventType):
    """events.k8s.io/v1 Event: the same stored objects, with the newer field names."""

    def __init__(self):
        ResourceType.__init__(self, "events.k8s.io", "v1", "Event", "events", "event", True,
                              short_names=["ev"], storage_key="events",
                              extra_field_selectors=CORE_EVENT_FIELD_SELECTORS,
                              name_validator=_event_name)
        self.field_types.update({
            "reason": ("Event", "string"), "note": ("Event", "string"), "type": ("Event", "string"),
            "action": ("Event", "string"), "deprecatedCount": ("Event", "int32"),
            "eventTime": ("Event", "MicroTime"), "deprecatedFirstTimestamp": ("Event", "Time"),
            "deprecatedLastTimestamp": ("Event", "Time"), "series.count": ("EventSeries", "int32"),
            "series.lastObservedTime": ("EventSeries", "MicroTime"),
            "reportingController": ("Event", "string"), "reportingInstance": ("Event", "string")})

    def to_storage(self, obj):
        result = {k: v for k, v in obj.items() if k not in EVENT_FIELDS_CORE_TO_EVENTS.values()}
        for core_name, events_name in EVENT_FIELDS_CORE_TO_EVENTS.items():
            if events_name in obj:
                result[core_name] = obj[events_name]
        result["apiVersion"] = "v1"
        return result

    def from_storage(self, obj):
        result = {k: copy.deepcopy(v) for k, v in obj.items() if k not in EVENT_FIELDS_CORE_TO_EVENTS}
        for core_name, events_name in EVENT_FIELDS_CORE_TO_EVENTS.items():
            if core_name in obj:
                result[events_name] = copy.deepcopy(obj[core_name])
        result["apiVersion"] = self.api_version
        result["kind"] = self.kind
        return result

    def validate(self, obj, old):
        found = []
        if old is None and not obj.get("eventTime"):
            found.append(errors.required("eventTime"))
        if obj.get("type") not in ("Normal", "Warning"):
            found.append(errors.FieldError(errors.NOT_SUPPORTED, "type", obj.get("type", ""),
                                           'supported values: "Normal", "Warning"'))
        found += _new_style_event_errors(obj, "reportingController", "note")
        return found

    def cells(self, obj):
        return super().cells(self.to_storage(obj))


# --- coordination.k8s.io/v1 Lease -----------------------------------------------------------

class LeaseType(ResourceType):
    def __init__(self):
        super().__init__("coordination.k8s.io", "v1", "Lease", "leases", "lease", True)
        self.field_types.update({
            "spec.holderIdentity": ("LeaseSpec", "string"),
            "spec.leaseDurationSeconds": ("LeaseSpec", "int32"),
            "spec.acquireTime": ("LeaseSpec", "MicroTime"), "spec.renewTime": ("LeaseSpec", "MicroTime"),
            "spec.leaseTransitions": ("LeaseSpec", "int32"), "spec.strategy": ("LeaseSpec", "string"),
            "spec.preferredHolder": ("LeaseSpec", "string")})

    def validate(self, obj, old):
        spec = obj.get("spec") or {}
        found = []
        duration = spec.get("leaseDurationSeconds")
        if duration is not None and (not isinstance(duration, int) or duration <= 0):
            found.append(errors.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
        transitions = spec.get("leaseTransitions")
        if transitions is not None and (not isinstance(transitions, int) or transitions < 0):
            found.append(errors.invalid("spec.leaseTransitions", transitions,
                                        "must be greater than or equal to 0"))
        return found

    def column_definitions(self):
        return [ResourceType.column_definitions(self)[0],
                {"name": "Holder", "type": "string", "format": "",
                 "description": "The holder of the lease", "priority": 0},
                {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0}]

    def cells(self, obj):
        return [obj["metadata"]["name"], (obj.get("spec") or {}).get("holderIdentity", ""),
                age_of(obj["metadata"].get("creationTimestamp"))]


# --- custom resources -------------------------------------------------------------------

def _json_path_value(obj, path):
    """Evaluate the simple JSONPath of a printer column (`.a.b[0].c`); None when absent."""
    node = obj
    for name, index in re.findall(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]", path):
        if name:
            if not isinstance(node, dict) or name not in node:
                return None
            node = node[name]
        else:
            if not isinstance(node, list) or int(index) >= len(node):
                return None
            node = node[int(index)]
    return node


class CustomResourceType(ResourceType):
    """One version of a CustomResourceDefinition."""

    def __init__(self, crd, version):
        names = crd["spec"]["names"]
        subresources = version.get("subresources") or {}
        super().__init__(crd["spec"]["group"], version["name"], names["kind"], names["plural"],
                         names.get("singular", names["kind"].lower()),
                         crd["spec"].get("scope", "Namespaced") == "Namespaced",
                         short_names=names.get("shortNames", []),
                         categories=names.get("categories", []),
                         status_subresource="status" in subresources,
                         strategic_merge=False, tracks_generation=True)
        self.list_kind = names.get("listKind", names["kind"] + "List")
        raw_schema = (version.get("schema") or {}).get("openAPIV3Schema")
        self.schema = ResourceSchema(raw_schema) if raw_schema else None
        self.printer_columns = version.get("additionalPrinterColumns")
        if self.printer_columns is None:
            self.printer_columns = [{"name": "Age", "type": "date",
                                     "jsonPath": ".metadata.creationTimestamp"}]

    def prepare_create(self, obj):
        if self.status_subresource:
            obj.pop("status", None)

    def prepare_update(self, new, old):
        if self.status_subresource:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)

    def spec_changed(self, new, old):
        def strip(obj):
            dropped = ("metadata", "apiVersion", "kind") + (("status",) if self.status_subresource else ())
            return {k: v for k, v in obj.items() if k not in dropped}
        return strip(new) != strip(old)

    def column_definitions(self):
        columns = [ResourceType.column_definitions(self)[0]]
        for column in self.printer_columns:
            columns.append({"name": column["name"], "type": column["type"],
                            "format": column.get("format", ""),
                            "description": column.get("description", ""),
                            "priority": column.get("priority", 0)})
        return columns

    def cells(self, obj):
        cells = [obj["metadata"]["name"]]
        for column in self.printer_columns:
            value = _json_path_value(obj, column["jsonPath"])
            if value is None:
                cells.append(None)
            elif column["type"] == "date":
                cells.append(age_of(value) if isinstance(value, str) else None)
            elif column["type"] == "integer":
                cells.append(int(value) if isinstance(value, (int, float)) else None)
            elif column["type"] == "string" and not isinstance(value, str):
                cells.append(str(value).lower() if isinstance(value, bool) else str(value))
            else:
                cells.append(value)
        return cells


def builtin_types():
    return [NamespaceType(), SecretType(), CoreEventType(), EventsV1Type(), LeaseType()]


def custom_types(crd):
    """Return a CustomResourceType for every served version of a CRD document."""
    if crd.get("kind") != "CustomResourceDefinition":
        raise ValueError(f"expected a CustomResourceDefinition, found kind {crd.get('kind')!r}")
    return [CustomResourceType(crd, version) for version in crd["spec"]["versions"]
            if version.get("served", True)]


class Registry:
    """The resource types by group/version/plural and by group/kind."""

    def __init__(self, types):
        self.types = list(types)
        self.by_path = {(t.group, t.version, t.plural): t for t in self.types}

    def lookup(self, group, version, plural):
        return self.by_path.get((group, version, plural))

    def by_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        for candidate in self.types:
            if candidate.group == group and candidate.kind == kind and candidate.version == version:
                return candidate
        for candidate in self.types:
            if candidate.group == group and candidate.kind == kind:
                return candidate
        return None

    def groups(self):
        """Return {group: [versions]} of the named groups, in registration order."""
        result = {}
        for resource in self.types:
            if resource.group:
                versions = result.setdefault(resource.group, [])
                if resource.version not in versions:
                    versions.append(resource.version)
        return result

    def in_group_version(self, group, version):
        return [t for t in self.types if t.group == group and t.version == version]
