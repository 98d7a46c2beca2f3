"""Structural validation of custom resources against their CRD's openAPIV3Schema.

The subset of OpenAPI v3 validation that CRDs use in practice: ``type`` (including
``integer``/``number`` distinctions and ``x-kubernetes-int-or-string``), ``required``,
``properties``, ``additionalProperties``, ``items``, ``enum``, ``minimum``/``maximum`` (with
exclusive bounds), ``minLength``/``maxLength``, ``pattern``, ``minItems``/``maxItems``,
``minProperties``/``maxProperties``, ``format`` for a few common formats, and ``nullable``.
Messages follow the apiextensions apiserver's wording.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from apiserver.kinds.validation.errors import Cause, invalid, not_supported, required

_TYPE_CHECKS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_error(path: str, value: Any, want: str) -> Cause:
    return Cause("FieldValueTypeInvalid", path or "<root>",
                 f"Invalid value: {json.dumps(value)}: {path or '<root>'} in body must be of type {want}: "
                 f'"{_json_type(value)}"')


def _json_type(value: Any) -> str:
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
    return "array" if isinstance(value, list) else "object"


def validate_against_schema(value: Any, schema: dict, path: str) -> list[Cause]:
    if not isinstance(schema, dict):
        return []
    if value is None:
        if schema.get("nullable"):
            return []
        if schema.get("type"):
            return [_type_error(path, value, schema["type"])]
        return []
    causes: list[Cause] = []
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or _TYPE_CHECKS["integer"](value)):
            return [_type_error(path, value, "integer or string")]
    else:
        want = schema.get("type")
        if want in _TYPE_CHECKS and not _TYPE_CHECKS[want](value):
            return [_type_error(path, value, want)]
    field = path or "<root>"
    if "enum" in schema and value not in schema["enum"]:
        causes.append(not_supported(field, value, [str(e) for e in schema["enum"]]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and (value < low or (schema.get("exclusiveMinimum") and value == low)):
            causes.append(invalid(field, value, f"{field} in body should be greater than or equal to {low}"))
        if high is not None and (value > high or (schema.get("exclusiveMaximum") and value == high)):
            causes.append(invalid(field, value, f"{field} in body should be less than or equal to {high}"))
    if isinstance(value, str):
        if schema.get("minLength") is not None and len(value) < schema["minLength"]:
            causes.append(invalid(field, value, f"{field} in body should be at least {schema['minLength']} "
                                                "chars long"))
        if schema.get("maxLength") is not None and len(value) > schema["maxLength"]:
            causes.append(Cause("FieldValueTooLong", field,
                                f"Too long: may not be more than {schema['maxLength']} bytes"))
        pattern = schema.get("pattern")
        if pattern:
            try:
                if not re.search(pattern, value):
                    causes.append(invalid(field, value, f"{field} in body should match '{pattern}'"))
            except re.error:
                pass
    if isinstance(value, list):
        if schema.get("minItems") is not None and len(value) < schema["minItems"]:
            causes.append(invalid(field, len(value), f"{field} in body should have at least "
                                                     f"{schema['minItems']} items"))
        if schema.get("maxItems") is not None and len(value) > schema["maxItems"]:
            causes.append(Cause("FieldValueTooMany", field,
                                f"Too many: {len(value)}: must have at most {schema['maxItems']} items"))
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                causes += validate_against_schema(item, items, f"{path}[{i}]")
    if isinstance(value, dict):
        for key in schema.get("required") or []:
            if key not in value:
                causes.append(required(_join(path, key)))
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                causes += validate_against_schema(item, props[key], _join(path, key))
            elif isinstance(additional, dict):
                causes += validate_against_schema(item, additional, _join(path, key))
        if schema.get("minProperties") is not None and len(value) < schema["minProperties"]:
            causes.append(invalid(field, len(value), f"{field} in body should have at least "
                                                     f"{schema['minProperties']} properties"))
        if schema.get("maxProperties") is not None and len(value) > schema["maxProperties"]:
            causes.append(invalid(field, len(value), f"{field} in body should have at most "
                                                     f"{schema['maxProperties']} properties"))
    return causes


def prune_unknown_fields(value: Any, schema: dict | None) -> list[str]:
    """Drop fields the schema does not declare (as upstream does unless preserve-unknown-fields).

    Returns the dotted paths removed, so ``fieldValidation=Strict`` can reject instead of drop.
    """
    removed: list[str] = []
    _prune(value, schema, "", removed)
    return removed


def _prune(value: Any, schema: dict | None, path: str, removed: list[str]) -> None:
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        if props is None and additional is None:
            return
        for key in list(value):
            if props and key in props:
                _prune(value[key], props[key], _join(path, key), removed)
            elif isinstance(additional, dict):
                _prune(value[key], additional, _join(path, key), removed)
            elif additional is True:
                continue
            else:
                removed.append(_join(path, key))
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _prune(item, schema["items"], f"{path}[{i}]", removed)


def apply_schema_defaults(value: Any, schema: dict | None) -> None:
    """Fill in ``default`` values of a structural schema, in place, like upstream's CR defaulting:
    a default applies where its parent object exists and the field is missing."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if not isinstance(sub, dict):
                continue
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                apply_schema_defaults(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in value:
                if key not in props:
                    apply_schema_defaults(value[key], additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_schema_defaults(item, schema["items"])


def normalize_custom_object(obj: dict, schema: dict | None) -> list[str]:
    """Prune undeclared fields and apply defaults for a custom resource; returns the pruned paths.

    ``apiVersion``, ``kind`` and ``metadata`` are the apiserver's and never pruned.
    """
    if not isinstance(schema, dict):
        return []
    reserved = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    body = {k: v for k, v in obj.items() if k not in reserved}
    removed = prune_unknown_fields(body, schema)
    apply_schema_defaults(body, schema)
    obj.clear()
    obj.update(reserved)
    obj.update(body)
    return removed
