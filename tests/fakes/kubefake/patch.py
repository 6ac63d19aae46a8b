"""The three patch formats of kube-apiserver.

- JSON merge patch (RFC 7386), `application/merge-patch+json`.
- JSON patch (RFC 6902), `application/json-patch+json`; a failed operation is
  a 422 with the message of github.com/evanphx/json-patch, which the real
  server wraps the same way.
- Strategic merge patch, `application/strategic-merge-patch+json`, for the
  built-in kinds only. Supported: maps merge key by key, `null` deletes,
  `$patch: replace|delete` on maps, `$retainKeys`, `$setElementOrder/<list>`
  (accepted and ignored, so list order comes from the merge),
  `$deleteFromPrimitiveList/<list>`, and the merge keys that ObjectMeta
  declares (`finalizers` as a merged set, `ownerReferences` merged by `uid`).
  Lists of the built-in kinds served here without a merge key are replaced.
"""

import copy
import json

from . import errors


class PatchError(Exception):
    """A patch that decodes but cannot be applied to the object."""


def merge_patch(target, patch):
    """Apply an RFC 7386 merge patch and return the result."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- JSON patch ------------------------------------------------------------------

def _decode_pointer(pointer):
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f'JSON pointer must be empty or start with a "/": {pointer}')
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _container(doc, parts, pointer, operation):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f'{operation} operation does not apply: doc is missing path: '
                             f'"{pointer}": missing value')
    return node


def _list_index(node, part, pointer, allow_end):
    if part == "-" and allow_end:
        return len(node)
    if not part.isdigit():
        raise PatchError(f"Unable to access invalid index: {part}: invalid index referenced")
    index = int(part)
    limit = len(node) if allow_end else len(node) - 1
    if index > limit:
        raise PatchError(f"Unable to access invalid index: {index}: invalid index referenced")
    return index


def _get(doc, pointer):
    node = doc
    for part in _decode_pointer(pointer):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None, False
    return node, True


def _add(doc, pointer, value):
    parts = _decode_pointer(pointer)
    if not parts:
        return value
    node = _container(doc, parts, pointer, "add")
    last = parts[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list):
        node.insert(_list_index(node, last, pointer, True), value)
    else:
        raise PatchError(f'add operation does not apply: doc is missing path: "{pointer}": missing value')
    return doc


def _remove(doc, pointer):
    parts = _decode_pointer(pointer)
    node = _container(doc, parts, pointer, "remove")
    last = parts[-1]
    if isinstance(node, dict):
        if last not in node:
            raise PatchError(f"Unable to remove nonexistent key: {last}: missing value")
        return node.pop(last)
    if isinstance(node, list):
        return node.pop(_list_index(node, last, pointer, False))
    raise PatchError(f'remove operation does not apply: doc is missing path: "{pointer}": missing value')


def _replace(doc, pointer, value):
    parts = _decode_pointer(pointer)
    if not parts:
        return value
    node = _container(doc, parts, pointer, "replace")
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    else:
        raise PatchError(f"replace operation does not apply: doc is missing key: {pointer}: missing value")
    return doc


def json_patch(target, operations):
    """Apply an RFC 6902 patch. Raise ApiError 400 for a malformed patch, PatchError otherwise."""
    if not isinstance(operations, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
            raise errors.bad_request("json patch operation is missing \"op\"")
        op = operation["op"]
        path = operation.get("path")
        if not isinstance(path, str):
            raise PatchError(f"{op} operation does not apply: doc is missing path: {path}")
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            doc = _replace(doc, path, copy.deepcopy(operation.get("value")))
        elif op in ("move", "copy"):
            source = operation.get("from", "")
            value, found = _get(doc, source)
            if not found:
                raise PatchError(f'{op} operation does not apply: doc is missing from path: "{source}": '
                                 f'missing value')
            if op == "move":
                _remove(doc, source)
            doc = _add(doc, path, copy.deepcopy(value))
        elif op == "test":
            value, found = _get(doc, path)
            if not found and operation.get("value") is not None:
                raise PatchError(f"testing value {path} failed: test failed")
            if found and value != operation.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {op}")
    return doc


# --- strategic merge patch ----------------------------------------------------------

# Merge keys of the lists in the built-in kinds this fake serves, by field path.
# An empty string marks a list of scalars merged as a set.
STRATEGIC_MERGE_KEYS = {
    "metadata.finalizers": "",
    "metadata.ownerReferences": "uid",
}


def strategic_merge_patch(target, patch, path=""):
    """Apply a strategic merge patch to a built-in object and return the result."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    result = {} if directive == "replace" or not isinstance(target, dict) else copy.deepcopy(target)
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [item for item in result[field] if item not in value]
            continue
        field_path = f"{path}.{key}" if path else key
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and field_path in STRATEGIC_MERGE_KEYS:
            result[key] = _merge_list(result.get(key), value, STRATEGIC_MERGE_KEYS[field_path])
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value, field_path)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current, patch, merge_key):
    current = copy.deepcopy(current) if isinstance(current, list) else []
    if merge_key == "":
        for item in patch:
            if item not in current:
                current.append(copy.deepcopy(item))
        return current
    for item in patch:
        if not isinstance(item, dict):
            continue
        key = item.get(merge_key)
        position = next((i for i, old in enumerate(current)
                         if isinstance(old, dict) and old.get(merge_key) == key), None)
        if item.get("$patch") == "delete":
            if position is not None:
                current.pop(position)
        elif position is None:
            current.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            current[position] = strategic_merge_patch(current[position], item)
    return current


def decode_json(body, what="request body"):
    try:
        return json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.bad_request(f"error decoding {what}: {error}") from None
