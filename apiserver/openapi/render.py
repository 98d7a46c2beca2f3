"""Rendering the type model as OpenAPI schemas: v3 (``components/schemas``) and v2 (``definitions``).

The shapes follow what the upstream apiserver publishes, because kubectl's explain templates and
its strategic-merge-patch metadata lookup walk those shapes: a property that names another type
is ``{"allOf": [{"$ref": ...}], "description": ...}`` in v3 and ``{"$ref": ..., "description":
...}`` in v2; kinds carry ``x-kubernetes-group-version-kind`` as a list; list fields carry
``x-kubernetes-patch-merge-key``/``x-kubernetes-patch-strategy`` and ``x-kubernetes-list-type``.
"""

from __future__ import annotations

from typing import Any

from apiserver.openapi.model import DEFINITIONS, Definition, Prop
from apiserver.openapi.types_meta import SCALARS, SCALARS_V3

V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"

_PRIMITIVE_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "boolean": {"type": "boolean"},
    "number": {"type": "number", "format": "double"},
    "byte": {"type": "string", "format": "byte"},
    "object": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    "map-string": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
}


def _ref(name: str, v3: bool) -> dict[str, Any]:
    return {"$ref": (V3_PREFIX if v3 else V2_PREFIX) + name}


def _value_schema(prop: Prop, v3: bool, with_description: bool) -> dict[str, Any]:
    """The schema of one value of ``prop`` (an element, for arrays and maps)."""
    ref = prop.ref
    if ref is None:
        schema = dict(_PRIMITIVE_SCHEMAS[prop.type])
        if prop.type == "string" and not with_description:
            schema["default"] = ""
        return schema
    if v3:
        schema = {"allOf": [_ref(ref, True)]}
        if ref not in SCALARS:
            schema["default"] = {}
        return schema
    return _ref(ref, False)


def property_schema(prop: Prop, v3: bool) -> dict[str, Any]:
    if prop.array:
        schema: dict[str, Any] = {"type": "array", "items": _value_schema(prop, v3, False)}
    elif prop.map:
        schema = {"type": "object", "additionalProperties": _value_schema(prop, v3, False)}
    else:
        schema = _value_schema(prop, v3, True)
    if prop.description:
        schema["description"] = prop.description
    if prop.enum:
        schema["enum"] = list(prop.enum)
    if prop.merge_key:
        schema["x-kubernetes-patch-merge-key"] = prop.merge_key
    if prop.strategy:
        schema["x-kubernetes-patch-strategy"] = prop.strategy
    if prop.list_type:
        schema["x-kubernetes-list-type"] = prop.list_type
    if prop.list_map_keys:
        schema["x-kubernetes-list-map-keys"] = list(prop.list_map_keys)
    return schema


def definition_schema(d: Definition, v3: bool) -> dict[str, Any]:
    if d.name in SCALARS:
        shape = SCALARS_V3.get(d.name, SCALARS[d.name]) if v3 else SCALARS[d.name]
        return {"description": d.description, **shape}
    schema: dict[str, Any] = {"description": d.description, "type": "object"}
    if d.properties:
        schema["properties"] = {name: property_schema(p, v3) for name, p in d.properties.items()}
    if d.required:
        schema["required"] = list(d.required)
    if d.preserve_unknown:
        schema["x-kubernetes-preserve-unknown-fields"] = True
    if d.gvk:
        group, version, kind = d.gvk
        schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return schema


def closure(roots: list[str]) -> list[str]:
    """Every definition reachable from ``roots``, in a stable order."""
    seen: dict[str, None] = {}
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in DEFINITIONS:
            continue
        seen[name] = None
        for prop in DEFINITIONS[name].properties.values():
            if prop.ref:
                stack.append(prop.ref)
    return sorted(seen)
