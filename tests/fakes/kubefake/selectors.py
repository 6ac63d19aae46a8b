"""Label and field selectors, with the grammar of k8s.io/apimachinery/pkg/labels and fields.

Label selectors: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`,
joined by commas. Field selectors: `path=v`, `path==v`, `path!=v`, joined by
commas, over the fields each resource declares (see resources.py).
"""

import re

from . import errors


_LABEL_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_LABEL_COMPARE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)\s*$")


def _split_top_level(text):
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_label_selector(text):
    """Parse a label selector into a list of (key, operator, values); raise 400 when invalid."""
    requirements = []
    for part in _split_top_level(text or ""):
        compare = _LABEL_COMPARE.match(part)
        if compare:
            key, operator, value = compare.groups()
            requirements.append((key, "!=" if operator == "!=" else "=", [value]))
            continue
        membership = _LABEL_SET.match(part)
        if not membership:
            raise errors.bad_request(f"unable to parse requirement: <nil>: Invalid value: "
                                     f"\"{part.strip()}\": invalid label selector")
        negated, key, operator, values = membership.groups()
        if operator:
            if negated:
                raise errors.bad_request(f"unable to parse requirement: invalid label selector "
                                         f"\"{part.strip()}\"")
            items = [v.strip() for v in values.split(",") if v.strip()]
            requirements.append((key, operator, items))
        else:
            requirements.append((key, "!" if negated else "exists", []))
    return requirements


def labels_match(requirements, labels):
    labels = labels or {}
    for key, operator, values in requirements:
        present = key in labels
        if operator == "=" and (not present or labels[key] != values[0]):
            return False
        if operator == "!=" and present and labels[key] == values[0]:
            return False
        if operator == "in" and (not present or labels[key] not in values):
            return False
        if operator == "notin" and present and labels[key] in values:
            return False
        if operator == "exists" and not present:
            return False
        if operator == "!" and present:
            return False
    return True


def parse_field_selector(text, resource):
    """Parse a field selector into (path, operator, value) triples for `resource`."""
    requirements = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        match = re.match(r"^\s*([^=!\s]+)\s*(==|!=|=)(.*)$", part)
        if not match:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        path, operator, value = match.groups()
        if path not in resource.field_selectors:
            raise errors.bad_request(f"field label not supported: {path}")
        requirements.append((path, "!=" if operator == "!=" else "=", value))
    return requirements


def field_value(obj, path):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def fields_match(requirements, obj):
    for path, operator, value in requirements:
        actual = field_value(obj, path)
        if operator == "=" and actual != value:
            return False
        if operator == "!=" and actual == value:
            return False
    return True
