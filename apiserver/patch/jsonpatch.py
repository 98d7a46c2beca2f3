"""JSON patch (RFC 6902): ``application/json-patch+json``.

A list of operations (add, remove, replace, move, copy, test) addressed by JSON pointers (RFC
6901, ``~0``/``~1`` escapes, ``-`` for the end of an array). Operations apply in order to a copy;
if any fails the whole patch fails with a ``PatchError`` naming the operation index and path,
and the original is untouched.
"""

from __future__ import annotations

import copy
from typing import Any

from apiserver.patch.errors import PatchError


def _parse_pointer(pointer: Any, index: int) -> list[str]:
    if not isinstance(pointer, str):
        raise PatchError(f"operation {index}: path must be a string, got {pointer!r}", malformed=True)
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"operation {index}: JSON pointer {pointer!r} must start with '/'", malformed=True)
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _array_index(token: str, length: int, allow_end: bool, index: int, pointer: str) -> int:
    if token == "-" and allow_end:
        return length
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"operation {index}: invalid array index {token!r} in path {pointer!r}")
    i = int(token)
    limit = length if allow_end else length - 1
    if i > limit:
        raise PatchError(f"operation {index}: array index {i} out of bounds in path {pointer!r}")
    return i


def _container(doc: Any, parts: list[str], index: int, pointer: str) -> Any:
    cur = doc
    for token in parts[:-1]:
        if isinstance(cur, dict):
            if token not in cur:
                raise PatchError(f"operation {index}: path {pointer!r} does not exist (missing {token!r})")
            cur = cur[token]
        elif isinstance(cur, list):
            cur = cur[_array_index(token, len(cur), False, index, pointer)]
        else:
            raise PatchError(f"operation {index}: path {pointer!r} goes through a non-container value")
    return cur


def _get(doc: Any, parts: list[str], index: int, pointer: str) -> Any:
    if not parts:
        return doc
    parent = _container(doc, parts, index, pointer)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"operation {index}: path {pointer!r} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_array_index(last, len(parent), False, index, pointer)]
    raise PatchError(f"operation {index}: path {pointer!r} does not exist")


def _add(doc: Any, parts: list[str], value: Any, index: int, pointer: str) -> Any:
    if not parts:
        return value
    parent = _container(doc, parts, index, pointer)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_array_index(last, len(parent), True, index, pointer), value)
    else:
        raise PatchError(f"operation {index}: cannot add at {pointer!r}: parent is not an object or array")
    return doc


def _remove(doc: Any, parts: list[str], index: int, pointer: str) -> tuple[Any, Any]:
    if not parts:
        raise PatchError(f"operation {index}: cannot remove the whole document")
    parent = _container(doc, parts, index, pointer)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"operation {index}: cannot remove {pointer!r}: it does not exist")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_array_index(last, len(parent), False, index, pointer))
    raise PatchError(f"operation {index}: cannot remove {pointer!r}: it does not exist")


def apply_json_patch(obj: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations", malformed=True)
    doc = copy.deepcopy(obj)
    for index, op in enumerate(ops):
        if not isinstance(op, dict):
            raise PatchError(f"operation {index} must be an object", malformed=True)
        name = op.get("op")
        parts = _parse_pointer(op.get("path"), index)
        pointer: str = op["path"]
        if name in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {index} ({name}) is missing 'value'", malformed=True)
        if name == "add":
            doc = _add(doc, parts, copy.deepcopy(op["value"]), index, pointer)
        elif name == "remove":
            doc, _ = _remove(doc, parts, index, pointer)
        elif name == "replace":
            _get(doc, parts, index, pointer)  # must exist
            if not parts:
                doc = copy.deepcopy(op["value"])
            else:
                doc, _ = _remove(doc, parts, index, pointer)
                doc = _add(doc, parts, copy.deepcopy(op["value"]), index, pointer)
        elif name in ("move", "copy"):
            from_parts = _parse_pointer(op.get("from"), index)
            source: str = op["from"]
            if name == "move" and parts[:len(from_parts)] == from_parts and len(parts) > len(from_parts):
                raise PatchError(f"operation {index}: cannot move {source!r} into its own child {pointer!r}")
            if name == "move":
                if from_parts == parts:
                    _get(doc, parts, index, source)
                    continue
                doc, value = _remove(doc, from_parts, index, source)
            else:
                value = copy.deepcopy(_get(doc, from_parts, index, source))
            doc = _add(doc, parts, value, index, pointer)
        elif name == "test":
            actual = _get(doc, parts, index, pointer)
            if not _json_equal(actual, op["value"]):
                raise PatchError(f"operation {index}: test failed: value at {pointer!r} is {actual!r}, "
                                 f"expected {op['value']!r}")
        else:
            raise PatchError(f"operation {index}: unknown op {name!r}", malformed=True)
    return doc


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON defines it: 1 == 1.0 but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b
