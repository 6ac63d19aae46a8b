"""Decoding of Kubernetes protobuf request bodies for the built-in kinds served here.

kubectl 1.32 and later send typed writes (`kubectl create namespace`, `kubectl
create secret`) as `application/vnd.kubernetes.protobuf`: the 4 bytes `k8s\\0`
and a runtime.Unknown message whose `raw` field is the object, encoded
with the field numbers of k8s.io/api's generated.proto. This module turns such
a body into the JSON form the store works with. Responses stay JSON, which
clients accept because they also list application/json in Accept.

Only Namespace, Secret, Lease and core/v1 Event are decoded; managedFields
are skipped. Other kinds in protobuf get 415.
"""

import base64
import datetime

from . import errors

MAGIC = b"k8s\x00"

TIME = ("time", None)
MICRO_TIME = ("microtime", None)

OWNER_REFERENCE = {5: ("apiVersion", "string"), 1: ("kind", "string"), 3: ("name", "string"),
                   4: ("uid", "string"), 6: ("controller", "bool"),
                   7: ("blockOwnerDeletion", "bool")}

OBJECT_META = {
    1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
    4: ("selfLink", "string"), 5: ("uid", "string"), 6: ("resourceVersion", "string"),
    7: ("generation", "int"), 8: ("creationTimestamp", TIME), 9: ("deletionTimestamp", TIME),
    10: ("deletionGracePeriodSeconds", "int"), 11: ("labels", "map_string"),
    12: ("annotations", "map_string"), 13: ("ownerReferences", ("repeated", OWNER_REFERENCE)),
    14: ("finalizers", ("repeated", "string")),
}

OBJECT_REFERENCE = {1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string"),
                    4: ("uid", "string"), 5: ("apiVersion", "string"),
                    6: ("resourceVersion", "string"), 7: ("fieldPath", "string")}

MESSAGES = {
    ("v1", "Namespace"): {
        1: ("metadata", OBJECT_META),
        2: ("spec", {1: ("finalizers", ("repeated", "string"))}),
        3: ("status", {1: ("phase", "string")}),
    },
    ("v1", "Secret"): {
        1: ("metadata", OBJECT_META), 2: ("data", "map_bytes"), 3: ("type", "string"),
        4: ("stringData", "map_string"), 5: ("immutable", "bool"),
    },
    ("coordination.k8s.io/v1", "Lease"): {
        1: ("metadata", OBJECT_META),
        2: ("spec", {1: ("holderIdentity", "string"), 2: ("leaseDurationSeconds", "int"),
                     3: ("acquireTime", MICRO_TIME), 4: ("renewTime", MICRO_TIME),
                     5: ("leaseTransitions", "int"), 6: ("strategy", "string"),
                     7: ("preferredHolder", "string")}),
    },
    ("v1", "Event"): {
        1: ("metadata", OBJECT_META), 2: ("involvedObject", OBJECT_REFERENCE),
        3: ("reason", "string"), 4: ("message", "string"),
        5: ("source", {1: ("component", "string"), 2: ("host", "string")}),
        6: ("firstTimestamp", TIME), 7: ("lastTimestamp", TIME), 8: ("count", "int"),
        9: ("type", "string"), 10: ("eventTime", MICRO_TIME),
        11: ("series", {1: ("count", "int"), 2: ("lastObservedTime", MICRO_TIME)}),
        12: ("action", "string"), 13: ("related", OBJECT_REFERENCE),
        14: ("reportingComponent", "string"), 15: ("reportingInstance", "string"),
    },
}


def _varint(data, position):
    result, shift = 0, 0
    while True:
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _fields(data):
    """Yield (field number, wire type, value) of a protobuf message."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = _varint(data, position)
        elif wire_type == 2:
            length, position = _varint(data, position)
            value = data[position:position + length]
            position += length
        elif wire_type == 1:
            value = data[position:position + 8]
            position += 8
        elif wire_type == 5:
            value = data[position:position + 4]
            position += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        yield number, wire_type, value


def _signed(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(data, micro):
    seconds, nanos = 0, 0
    for number, _, value in _fields(data):
        if number == 1:
            seconds = _signed(value)
        elif number == 2:
            nanos = value
    if seconds == 0 and nanos == 0:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _map_entry(data, as_bytes):
    key, value = "", b"" if as_bytes else ""
    for number, _, item in _fields(data):
        if number == 1:
            key = item.decode()
        elif number == 2:
            value = item if as_bytes else item.decode()
    if as_bytes:
        value = base64.b64encode(value).decode()
    return key, value


def _decode_value(kind, wire_value):
    if kind == "string":
        return wire_value.decode()
    if kind == "int":
        return _signed(wire_value)
    if kind == "bool":
        return bool(wire_value)
    if kind in (TIME, MICRO_TIME):
        return _time(wire_value, kind is MICRO_TIME)
    if isinstance(kind, dict):
        return decode_message(wire_value, kind)
    raise ValueError(f"unknown field kind {kind}")


def decode_message(data, schema):
    """Decode a message by its schema, leaving out empty values as JSON's omitempty does."""
    result = {}
    for number, _, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind in ("map_string", "map_bytes"):
            key, item = _map_entry(value, kind == "map_bytes")
            result.setdefault(name, {})[key] = item
        elif isinstance(kind, tuple) and kind[0] == "repeated":
            result.setdefault(name, []).append(_decode_value(kind[1], value))
        else:
            result[name] = _decode_value(kind, value)
    return {k: v for k, v in result.items() if v not in ("", 0, False, None, {}, [])}


def decode_body(body):
    """Decode a protobuf request body into a JSON-style object; raise 415 for unknown kinds."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("provided object is not protobuf: missing the k8s\\x00 prefix")
    try:
        type_meta, raw = {}, b""
        for number, _, value in _fields(body[len(MAGIC):]):
            if number == 1:
                type_meta = decode_message(value, {1: ("apiVersion", "string"), 2: ("kind", "string")})
            elif number == 2:
                raw = value
        key = (type_meta.get("apiVersion", ""), type_meta.get("kind", ""))
        if key not in MESSAGES:
            raise errors.unsupported_media_type(["application/json"])
        obj = decode_message(raw, MESSAGES[key])
    except (ValueError, UnicodeDecodeError, IndexError) as error:
        raise errors.bad_request(f"error decoding protobuf body: {error}") from None
    obj["apiVersion"], obj["kind"] = key
    return obj
