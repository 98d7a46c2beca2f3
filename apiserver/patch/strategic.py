"""Strategic merge patch: ``application/strategic-merge-patch+json`` for built-in kinds.

Like a JSON merge patch, except that lists know how to merge. Each list field's strategy comes
from the API type model (the same metadata the OpenAPI documents publish as
``x-kubernetes-patch-strategy``/``x-kubernetes-patch-merge-key``):

- lists of objects with a merge key (containers by ``name``, ports by ``containerPort``,
  volumeMounts by ``mountPath``, ...) merge element by element; new keys are appended;
- lists of scalars with strategy ``merge`` (finalizers) take the union;
- every other list is replaced wholesale, as in a merge patch.

Directives kubectl sends: ``$patch: replace|delete|merge`` on maps and list elements,
``$retainKeys`` (clear keys not listed, for fields such as a deployment's strategy),
``$deleteFromPrimitiveList/<field>``, and ``$setElementOrder/<field>`` (the order of a merged
list). ``null`` deletes a field. The input documents are never modified.
"""

from __future__ import annotations

import copy
from typing import Any

from apiserver.kinds.registry import ResourceType
from apiserver.openapi.model import Definition, Prop, lookup
from apiserver.openapi.types import definition_for
from apiserver.patch.errors import PatchError

_DELETE = object()  # a map patched with "$patch: delete" disappears from its parent
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def supports_strategic_merge(rt: ResourceType) -> bool:
    """Custom resources have no patch metadata; upstream answers 415 for them."""
    return not rt.custom and definition_for(rt.group, rt.version, rt.kind) is not None


def apply_strategic_merge_patch(obj: dict, patch: dict, rt: ResourceType) -> dict:
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object", malformed=True)
    if not supports_strategic_merge(rt):
        raise PatchError(f"strategic merge patch is not supported for {rt.resource}; use a JSON merge patch "
                         "or a JSON patch")
    root = definition_for(rt.group, rt.version, rt.kind)
    result = _merge_map(copy.deepcopy(obj) if isinstance(obj, dict) else {}, patch, root, "")
    if result is _DELETE:
        raise PatchError("a strategic merge patch cannot delete the whole object")
    return result


def _child_def(prop: Prop | None) -> Definition | None:
    if prop is None or prop.ref is None:
        return None
    return lookup(prop.ref)


def _field_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _merge_map(original: dict, patch: dict, typedef: Definition | None, path: str) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if directive not in (None, "merge"):
        raise PatchError(f"unknown patch directive {directive!r} at {path or '<root>'}", malformed=True)

    retain = patch.get("$retainKeys")
    if retain is not None:
        if not isinstance(retain, list):
            raise PatchError(f"$retainKeys at {path or '<root>'} must be a list", malformed=True)
        for key in list(original):
            if key not in retain:
                del original[key]

    orders: dict[str, list] = {}
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE):]
            if isinstance(original.get(field), list) and isinstance(value, list):
                original[field] = [v for v in original[field] if v not in value]
        elif key.startswith(_SET_ORDER):
            if not isinstance(value, list):
                raise PatchError(f"{key} at {path or '<root>'} must be a list", malformed=True)
            orders[key[len(_SET_ORDER):]] = value

    properties = typedef.properties if typedef is not None else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        field_path = _field_path(path, key)
        if value is None:
            original.pop(key, None)
            continue
        prop = properties.get(key)
        if isinstance(value, dict):
            if prop is not None and prop.map:
                merged = _merge_plain_map(original.get(key), value, _child_def(prop), field_path)
            else:
                current = original.get(key)
                merged = _merge_map(current if isinstance(current, dict) else {}, value, _child_def(prop),
                                    field_path)
            if merged is _DELETE:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list):
            original[key] = _merge_list(original.get(key), value, prop, field_path)
        else:
            original[key] = value

    for field, order in orders.items():
        if isinstance(original.get(field), list):
            prop = properties.get(field)
            original[field] = _apply_order(original[field], order, prop.merge_key if prop else "")
    return original


def _merge_plain_map(original: Any, patch: dict, value_def: Definition | None, path: str) -> Any:
    """A map field (labels, resources.limits): keys merge; values that are objects merge too."""
    if patch.get("$patch") == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if patch.get("$patch") == "delete":
        return _DELETE
    result = dict(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and value_def is not None:
            current = result.get(key)
            merged = _merge_map(current if isinstance(current, dict) else {}, value, value_def,
                                _field_path(path, key))
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = _strip(value)
    return result


def _merge_list(original: Any, patch: list, prop: Prop | None, path: str) -> list:
    replace_marker = [x for x in patch if isinstance(x, dict) and x.get("$patch") == "replace" and len(x) == 1]
    items = [x for x in patch if not (isinstance(x, dict) and x.get("$patch") == "replace" and len(x) == 1)]
    strategy = prop.strategy if prop is not None else ""
    if replace_marker or "merge" not in strategy.split(","):
        return [_strip(x) for x in items if not (isinstance(x, dict) and x.get("$patch") == "delete")]
    current = list(original) if isinstance(original, list) else []
    key = prop.merge_key if prop is not None else ""
    if not key:
        # A merged list of scalars: the union, keeping the original order.
        for x in items:
            if x not in current:
                current.append(copy.deepcopy(x))
        return current
    element_def = _child_def(prop)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PatchError(f"{path}[{index}]: expected an object with merge key {key!r}, got {item!r}")
        if key not in item:
            raise PatchError(f"{path}[{index}]: map does not contain declared merge key {key!r}")
        matches = [i for i, x in enumerate(current) if isinstance(x, dict) and x.get(key) == item[key]]
        if item.get("$patch") == "delete":
            current = [x for i, x in enumerate(current) if i not in matches]
            continue
        element_path = f"{path}[{key}={item[key]}]"
        if matches:
            merged = _merge_map(current[matches[0]], item, element_def, element_path)
            if merged is _DELETE:
                del current[matches[0]]
            else:
                current[matches[0]] = merged
        else:
            merged = _merge_map({}, item, element_def, element_path)
            if merged is not _DELETE:
                current.append(merged)
    return current


def _apply_order(items: list, order: list, key: str) -> list:
    """Order a merged list as ``$setElementOrder`` says; elements it does not name keep their
    relative order after the named ones."""
    def identity(x: Any) -> Any:
        if key and isinstance(x, dict):
            return x.get(key)
        return x

    wanted = [o.get(key) if key and isinstance(o, dict) else o for o in order]
    position = {repr(v): i for i, v in enumerate(wanted)}
    named = [x for x in items if repr(identity(x)) in position]
    others = [x for x in items if repr(identity(x)) not in position]
    named.sort(key=lambda x: position[repr(identity(x))])
    return named + others


def _strip(value: Any) -> Any:
    """Remove patch directives from a value that is being inserted as-is."""
    if isinstance(value, dict):
        out = {}
        retain = value.get("$retainKeys")
        for k, v in value.items():
            if k.startswith("$"):
                continue
            if v is None:
                continue
            if isinstance(retain, list) and k not in retain:
                continue
            out[k] = _strip(v)
        return out
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
