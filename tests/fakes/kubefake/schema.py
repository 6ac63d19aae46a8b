"""Structural-schema handling of custom resources: pruning, defaulting, validation.

The steps run in kube-apiserver's order for a CustomResourceDefinition with an
`openAPIV3Schema`: unknown fields are pruned, defaults are applied, then the
object is validated. Every failure becomes a field error with the wording of
the real server, which validates through k8s.io/kube-openapi.

Implemented keywords: type, nullable, properties, additionalProperties, items,
required, enum, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
multipleOf, minLength, maxLength, pattern, format (date-time, date, int32,
int64 are checked; other formats pass), minItems, maxItems, minProperties,
maxProperties, default, x-kubernetes-preserve-unknown-fields,
x-kubernetes-int-or-string, x-kubernetes-list-type (map and set) with
x-kubernetes-list-map-keys.

Not implemented: x-kubernetes-validations (CEL rules), allOf/anyOf/oneOf/not,
x-kubernetes-embedded-resource, and validation ratcheting on update.
"""

import copy
import datetime
import json
import re

from . import errors


def child_path(path, name):
    return f"{path}.{name}" if path else name


def index_path(path, index):
    return f"{path}[{index}]"


def key_path(path, key):
    return f"{path}[{key}]"


def json_type_name(value):
    """Return the JSON type name that kube-openapi reports for a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- pruning -----------------------------------------------------------------

def prune(value, schema, path, unknown_fields):
    """Drop fields the schema does not declare, recording their paths.

    Returns the pruned value. `unknown_fields` collects the dropped paths so the
    caller can send them as warnings or reject them under fieldValidation=Strict.
    """
    if schema is None:
        return value
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
        for name in list(value):
            if properties is not None and name in properties:
                value[name] = prune(value[name], properties[name], child_path(path, name),
                                    unknown_fields)
            elif isinstance(additional, dict):
                value[name] = prune(value[name], additional, key_path(path, name), unknown_fields)
            elif additional is True or preserve:
                continue
            elif properties is not None or additional is False or schema.get("type") == "object":
                unknown_fields.append(child_path(path, name))
                del value[name]
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(item, schema["items"], index_path(path, i), unknown_fields)
                for i, item in enumerate(value)]
    return value


# --- defaulting ----------------------------------------------------------------

def apply_defaults(value, schema):
    """Set declared defaults on absent fields, recursively, and return the value."""
    if schema is None:
        return value
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name, property_schema in properties.items():
            if "default" not in property_schema:
                continue
            if name not in value or (value[name] is None and not property_schema.get("nullable")):
                value[name] = copy.deepcopy(property_schema["default"])
        for name in list(value):
            if name in properties:
                value[name] = apply_defaults(value[name], properties[name])
            elif isinstance(schema.get("additionalProperties"), dict):
                value[name] = apply_defaults(value[name], schema["additionalProperties"])
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


# --- validation ----------------------------------------------------------------

_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _valid_format(value, fmt):
    if fmt == "date-time":
        if not _DATE_TIME.match(value):
            return False
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return False
        return True
    if fmt == "date":
        if not _DATE.match(value):
            return False
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return True


def _type_matches(value, expected, schema):
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    if expected == "string":
        return isinstance(value, str)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    return True


def _enum_values(enum):
    return [v if isinstance(v, str) else json.dumps(v) for v in enum]


def _number(bound):
    return errors.go_format(bound)


def validate(value, schema, path):
    """Return the list of FieldError for `value` at `path` under `schema`."""
    if schema is None:
        return []
    if value is None:
        if schema.get("nullable") or not schema.get("type"):
            return []
        actual = json_type_name(value)
        return [errors.FieldError(errors.TYPE_INVALID, path, actual,
                                  f'{path} in body must be of type {schema["type"]}: "{actual}"')]

    expected = schema.get("type")
    if expected and not _type_matches(value, expected, schema):
        actual = json_type_name(value)
        return [errors.FieldError(errors.TYPE_INVALID, path, actual,
                                  f'{path} in body must be of type {expected}: "{actual}"')]

    found = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(errors.FieldError(errors.NOT_SUPPORTED, path, value,
                                       "supported values: " + ", ".join(
                                           json.dumps(v) for v in _enum_values(schema["enum"]))))
    if isinstance(value, str):
        found += _validate_string(value, schema, path)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        found += _validate_number(value, schema, path)
    elif isinstance(value, list):
        found += _validate_array(value, schema, path)
    elif isinstance(value, dict):
        found += _validate_object(value, schema, path)
    return found


def _validate_string(value, schema, path):
    found = []
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        found.append(errors.FieldError(errors.TOO_LONG, path, value,
                                       f"may not be longer than {schema['maxLength']}"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        found.append(errors.invalid(
            path, value, f"{path} in body should be at least {schema['minLength']} chars long"))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(errors.invalid(path, value,
                                    f"{path} in body should match '{schema['pattern']}'"))
    fmt = schema.get("format")
    if fmt and not _valid_format(value, fmt):
        found.append(errors.invalid(path, value, f'{path} in body must be of type {fmt}: "{value}"'))
    return found


def _validate_number(value, schema, path):
    found = []
    if "maximum" in schema:
        limit = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= limit:
            found.append(errors.invalid(path, value,
                                        f"{path} in body should be less than {_number(limit)}"))
        elif value > limit:
            found.append(errors.invalid(
                path, value, f"{path} in body should be less than or equal to {_number(limit)}"))
    if "minimum" in schema:
        limit = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= limit:
            found.append(errors.invalid(path, value,
                                        f"{path} in body should be greater than {_number(limit)}"))
        elif value < limit:
            found.append(errors.invalid(
                path, value, f"{path} in body should be greater than or equal to {_number(limit)}"))
    if schema.get("multipleOf"):
        factor = schema["multipleOf"]
        quotient = value / factor
        if quotient != int(quotient):
            found.append(errors.invalid(
                path, value, f"{path} in body should be a multiple of {_number(factor)}"))
    fmt = schema.get("format")
    if fmt == "int32" and isinstance(value, int) and not -2**31 <= value < 2**31:
        found.append(errors.invalid(path, value, f"{path} in body must be of type int32: \"{value}\""))
    return found


def _validate_array(value, schema, path):
    found = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        found.append(errors.FieldError(errors.TOO_MANY, path, len(value),
                                       f"must have at most {schema['maxItems']} items"))
    if "minItems" in schema and len(value) < schema["minItems"]:
        found.append(errors.invalid(
            path, len(value), f"{path} in body should have at least {schema['minItems']} items"))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            found += validate(item, items, index_path(path, i))
    found += _validate_list_type(value, schema, path)
    return found


def _validate_list_type(value, schema, path):
    """Check x-kubernetes-list-type uniqueness as the listtype package of apiextensions does."""
    list_type = schema.get("x-kubernetes-list-type")
    found = []
    if list_type == "set":
        seen = []
        for i, item in enumerate(value):
            if item in seen:
                found.append(errors.FieldError(errors.DUPLICATE, index_path(path, i), item))
            seen.append(item)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        item_properties = (schema.get("items") or {}).get("properties") or {}
        seen = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            key = {}
            for name in keys:
                if name in item:
                    key[name] = item[name]
                elif "default" in item_properties.get(name, {}):
                    key[name] = item_properties[name]["default"]
                else:
                    key[name] = None
            if key in seen:
                shown = {k: v for k, v in key.items() if v is not None}
                found.append(errors.FieldError(errors.DUPLICATE, index_path(path, i), shown))
            seen.append(key)
    return found


def _validate_object(value, schema, path):
    found = []
    for name in schema.get("required") or []:
        if name not in value:
            found.append(errors.required(child_path(path, name)))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        found.append(errors.FieldError(errors.TOO_MANY, path, len(value),
                                       f"must have at most {schema['maxProperties']} items"))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        found.append(errors.invalid(
            path, len(value), f"{path} in body should have at least {schema['minProperties']} properties"))
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for name, item in value.items():
        if name in properties:
            found += validate(item, properties[name], child_path(path, name))
        elif isinstance(additional, dict):
            found += validate(item, additional, key_path(path, name))
    return found


class ResourceSchema:
    """The openAPIV3Schema of one custom resource version."""

    # Fields of ObjectMeta that a client may send; other metadata fields are dropped.
    METADATA_FIELDS = {
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
        "annotations", "ownerReferences", "finalizers", "managedFields",
    }

    def __init__(self, raw):
        self.raw = raw

    def prune_object(self, obj):
        """Prune `obj` in place; return the paths of the fields that were dropped."""
        unknown = []
        metadata = obj.get("metadata")
        for name in list(obj):
            if name in ("apiVersion", "kind", "metadata"):
                continue
            properties = self.raw.get("properties") or {}
            if name in properties:
                obj[name] = prune(obj[name], properties[name], name, unknown)
            elif not self.raw.get("x-kubernetes-preserve-unknown-fields"):
                unknown.append(name)
                del obj[name]
        if isinstance(metadata, dict):
            for name in list(metadata):
                if name not in self.METADATA_FIELDS:
                    unknown.append(f"metadata.{name}")
                    del metadata[name]
        return unknown

    def default_object(self, obj):
        properties = self.raw.get("properties") or {}
        for name, property_schema in properties.items():
            if name in ("apiVersion", "kind", "metadata"):
                continue
            if name not in obj and "default" in property_schema:
                obj[name] = copy.deepcopy(property_schema["default"])
            if name in obj:
                obj[name] = apply_defaults(obj[name], property_schema)

    def validate_object(self, obj):
        found = []
        for name in self.raw.get("required") or []:
            if name not in obj:
                found.append(errors.required(name))
        properties = self.raw.get("properties") or {}
        for name, value in obj.items():
            if name in ("apiVersion", "kind", "metadata"):
                continue
            if name in properties:
                found += validate(value, properties[name], name)
        return found
