"""Type errors a typed decoder would hit: ``json: cannot unmarshal bool into Go struct field ...``.

Upstream decodes request bodies into Go structs, so a value of the wrong JSON type (a boolean in
a ``command`` list, a string where ``replicas`` needs a number) is refused with 400 BadRequest
before validation ever runs. We keep objects as dicts; this walk over the type model finds the
same mismatches and words them as Go's JSON decoder does, so the apiserver can refuse them the
same way. ``null`` is accepted anywhere (it decodes to the zero value); unknown fields are the
field-validation step's business, not this one's.
"""

from __future__ import annotations

from typing import Any

from apiserver.kinds.registry import ResourceType
from apiserver.openapi.model import ALIASES, Definition, Prop, lookup
from apiserver.openapi.types import definition_for

_GO_PRIMITIVE = {"string": "string", "integer": "int32", "int64": "int64", "boolean": "bool", "number": "float64",
                 "byte": "[]uint8", "map-string": "map[string]string"}
_GO_ALIAS = {"quantity": "resource.Quantity", "int-or-string": "intstr.IntOrString", "time": "v1.Time",
             "microtime": "v1.MicroTime"}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _go_type(prop: Prop, element: bool = False) -> str:
    if prop.array and not element:
        return "[]" + _go_type(prop, True)
    if prop.map and not element:
        return "map[string]" + _go_type(prop, True)
    if prop.type in _GO_PRIMITIVE:
        return _GO_PRIMITIVE[prop.type]
    if prop.type in _GO_ALIAS:
        return _GO_ALIAS[prop.type]
    name = ALIASES.get(prop.type, prop.type)
    parts = name.split(".")
    return f"{parts[-2]}.{parts[-1]}"


def _mismatch(prop: Prop, value: Any) -> bool:
    """True when a single (element) value cannot decode into ``prop``'s element type."""
    kind = prop.type
    if kind == "object":
        return False
    if kind in ("string", "byte", "time", "microtime"):
        return not isinstance(value, str)
    if kind in ("integer", "int64"):
        return isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float)
                                                                          and value.is_integer()))
    if kind == "number":
        return isinstance(value, bool) or not isinstance(value, (int, float))
    if kind == "boolean":
        return not isinstance(value, bool)
    if kind == "map-string":
        return not isinstance(value, dict)
    if kind == "quantity":
        return isinstance(value, bool) or not isinstance(value, (str, int, float))
    if kind == "int-or-string":
        return isinstance(value, bool) or not isinstance(value, (str, int))
    return not isinstance(value, dict)


def _error(value: Any, owner: str, path: str, go_type: str) -> str:
    shown = _json_type(value)
    if shown == "number" and isinstance(value, float) and not value.is_integer():
        shown = f"number {value}"
    return f"json: cannot unmarshal {shown} into Go struct field {owner}.{path} of type {go_type}"


def _check_value(value: Any, prop: Prop, owner: str, path: str, out: list[str]) -> None:
    if value is None:
        return
    if prop.array:
        if not isinstance(value, list):
            out.append(_error(value, owner, path, _go_type(prop)))
            return
        for item in value:
            _check_element(item, prop, owner, path, out)
        return
    if prop.map:
        if not isinstance(value, dict):
            out.append(_error(value, owner, path, _go_type(prop)))
            return
        for item in value.values():
            _check_element(item, prop, owner, path, out)
        return
    _check_element(value, prop, owner, path, out)


def _check_element(value: Any, prop: Prop, owner: str, path: str, out: list[str]) -> None:
    if value is None:
        return
    if _mismatch(prop, value):
        out.append(_error(value, owner, path, _go_type(prop, element=True)))
        return
    if prop.type == "map-string":
        for item in value.values():
            if item is not None and not isinstance(item, str):
                out.append(_error(item, owner, path, "string"))
        return
    target = lookup(prop.ref) if prop.ref else None
    if target is not None and target.properties and isinstance(value, dict):
        _check_object(value, target, path, out)


def _check_object(obj: dict, d: Definition, path: str, out: list[str]) -> None:
    owner = d.name.rsplit(".", 1)[-1]
    for key, value in obj.items():
        prop = d.properties.get(key)
        if prop is None:
            continue
        _check_value(value, prop, owner, f"{path}.{key}" if path else key, out)
        if len(out) >= 10:
            return


def decode_errors(rt: ResourceType, obj: Any) -> list[str]:
    """Type mismatches in a body for a built-in kind (custom resources are checked by their schema)."""
    if rt.custom:
        return []
    d = definition_for(rt.group, rt.version, rt.kind)
    if d is None:
        return []
    if not isinstance(obj, dict):
        return [f"json: cannot unmarshal {_json_type(obj)} into Go value of type {rt.version}.{rt.kind}"]
    out: list[str] = []
    _check_object(obj, d, "", out)
    return out


def decode_error_message(rt: ResourceType, obj: Any) -> str | None:
    """The whole 400 message upstream gives, or None when the body decodes."""
    errs = decode_errors(rt, obj)
    if not errs:
        return None
    return f"{rt.kind} in version \"{rt.version}\" cannot be handled as a {rt.kind}: {errs[0]}"
