"""Kubernetes Status errors and field errors, shaped as kube-apiserver shapes them.

The messages follow k8s.io/apimachinery (pkg/api/errors and
pkg/util/validation/field) as of Kubernetes 1.27 to 1.33, so a client that
parses `reason`, `code`, `details.causes` or the message text gets what a real
server sends.
"""

import json


class ApiError(Exception):
    """An error response: an HTTP status code and a meta.k8s.io/v1 Status body."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(resource, name):
    """Build StatusDetails, whose `kind` is the plural resource name as kube-apiserver sends it."""
    details = {}
    if name:
        details["name"] = name
    if resource.group:
        details["group"] = resource.group
    details["kind"] = resource.plural
    return details


def qualified_resource(resource):
    """Return `plural.group`, or the plural alone for the core group."""
    return f"{resource.plural}.{resource.group}" if resource.group else resource.plural


def qualified_kind(resource):
    return f"{resource.kind}.{resource.group}" if resource.group else resource.kind


def not_found(resource, name):
    return ApiError(404, "NotFound", f'{qualified_resource(resource)} "{name}" not found',
                    _details(resource, name))


def already_exists(resource, name):
    return ApiError(409, "AlreadyExists", f'{qualified_resource(resource)} "{name}" already exists',
                    _details(resource, name))


def conflict(resource, name, cause="the object has been modified; please apply your changes "
                                   "to the latest version and try again"):
    message = f'Operation cannot be fulfilled on {qualified_resource(resource)} "{name}": {cause}'
    return ApiError(409, "Conflict", message, _details(resource, name))


def forbidden(resource, name, cause):
    subject = f'{qualified_resource(resource)} "{name}"' if name else qualified_resource(resource)
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {cause}", _details(resource, name))


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", message, {})


def unsupported_media_type(accepted):
    message = (f"the body of the request was in an unknown format - accepted media types "
               f"include: {', '.join(accepted)}")
    return ApiError(415, "UnsupportedMediaType", message, {})


def not_acceptable(accepted):
    return ApiError(406, "NotAcceptable",
                    f"only the following media types are accepted: {', '.join(accepted)}", {})


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def expired(message):
    """410 Gone with reason Expired, as for a watch or list from a compacted resourceVersion."""
    return ApiError(410, "Expired", message)


def internal_error(message):
    return ApiError(500, "InternalError", f"Internal error occurred: {message}",
                    {"causes": [{"message": message}]})


# Field errors, after k8s.io/apimachinery/pkg/util/validation/field.
# Each type is (the text shown before the value, the cause reason).
REQUIRED = ("Required value", "FieldValueRequired")
INVALID = ("Invalid value", "FieldValueInvalid")
TYPE_INVALID = ("Invalid value", "FieldValueTypeInvalid")
NOT_SUPPORTED = ("Unsupported value", "FieldValueNotSupported")
DUPLICATE = ("Duplicate value", "FieldValueDuplicate")
TOO_LONG = ("Too long", "FieldValueTooLong")
TOO_MANY = ("Too many", "FieldValueTooMany")
FORBIDDEN = ("Forbidden", "FieldValueForbidden")
NOT_FOUND = ("Not found", "FieldValueNotFound")

# These types never print the bad value, as in field.Error.ErrorBody.
_VALUELESS = {REQUIRED, FORBIDDEN, TOO_LONG}


class FieldError:
    """One validation failure on one field path."""

    def __init__(self, error_type, field, value=None, detail=""):
        self.type = error_type
        self.field = field
        self.value = value
        self.detail = detail

    def body(self):
        text = self.type[0]
        if self.type not in _VALUELESS:
            text += ": " + go_format(self.value)
        if self.detail:
            text += ": " + self.detail
        return text

    def __str__(self):
        return f"{self.field}: {self.body()}"

    def cause(self):
        return {"reason": self.type[1], "message": self.body(), "field": self.field}


def required(field, detail=""):
    return FieldError(REQUIRED, field, None, detail)


def invalid(field, value, detail=""):
    return FieldError(INVALID, field, value, detail)


def invalid_error(resource, name, field_errors):
    """Build the 422 Invalid error for a list of FieldError, without repeated entries."""
    unique = []
    for error in field_errors:
        if str(error) not in [str(e) for e in unique]:
            unique.append(error)
    if len(unique) == 1:
        summary = str(unique[0])
    else:
        summary = "[" + ", ".join(str(e) for e in unique) + "]"
    message = f'{qualified_kind(resource)} "{name}" is invalid: {summary}'
    details = {"name": name} if name else {}
    if resource.group:
        details["group"] = resource.group
    details["kind"] = resource.kind
    details["causes"] = [e.cause() for e in unique]
    return ApiError(422, "Invalid", message, details)


def go_format(value):
    """Format a decoded JSON value the way Go's fmt prints it in field errors.

    Scalars print as `%v` (strings as `%q`); maps and lists print as `%#v` of
    map[string]interface{} and []interface{}, because the real server decodes
    JSON into those types.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _go_sharp(value)


def _go_number(value):
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    return str(value)


def _go_sharp(value):
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(k)}:{_go_sharp(v)}" for k, v in sorted(value.items()))
        return "map[string]interface {}{" + items + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_sharp(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_number(value)
    return json.dumps(value, ensure_ascii=False)
