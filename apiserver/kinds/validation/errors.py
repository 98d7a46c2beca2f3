"""Field errors worded exactly as upstream's ``field.Error`` so clients see familiar causes.

A ``Cause`` becomes one entry of a 422 ``Status``'s ``details.causes`` (``reason``, ``field``,
``message``). Messages follow apimachinery's ``ErrorBody``: the error type's text, then the bad
value rendered the way Go prints it (strings quoted, numbers bare, maps as ``map[string]string{...}``),
then the detail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
NOT_FOUND = "FieldValueNotFound"

_TYPE_TEXT = {
    REQUIRED: "Required value", INVALID: "Invalid value", NOT_SUPPORTED: "Unsupported value",
    DUPLICATE: "Duplicate value", FORBIDDEN: "Forbidden", TOO_LONG: "Too long", TOO_MANY: "Too many",
    NOT_FOUND: "Not found",
}


@dataclass(frozen=True)
class Cause:
    reason: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def to_status_cause(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


def go_value(value: Any) -> str:
    """The bad value as Go's ``%q``/``%v``/``%#v`` would show it in a field error."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(json.dumps(v) for v in value) + "}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _with_value(reason: str, field: str, value: Any, detail: str) -> Cause:
    body = f"{_TYPE_TEXT[reason]}: {go_value(value)}"
    return Cause(reason, field, f"{body}: {detail}" if detail else body)


def _plain(reason: str, field: str, detail: str) -> Cause:
    body = _TYPE_TEXT[reason]
    return Cause(reason, field, f"{body}: {detail}" if detail else body)


def required(field: str, detail: str = "") -> Cause:
    return _plain(REQUIRED, field, detail)


def forbidden(field: str, detail: str) -> Cause:
    return _plain(FORBIDDEN, field, detail)


def invalid(field: str, value: Any, detail: str) -> Cause:
    return _with_value(INVALID, field, value, detail)


def duplicate(field: str, value: Any) -> Cause:
    return _with_value(DUPLICATE, field, value, "")


def not_found(field: str, value: Any) -> Cause:
    return _with_value(NOT_FOUND, field, value, "")


def not_supported(field: str, value: Any, supported: list[str] | tuple[str, ...]) -> Cause:
    detail = "supported values: " + ", ".join(json.dumps(s) for s in supported) if supported else ""
    return _with_value(NOT_SUPPORTED, field, value, detail)


def too_long(field: str, limit: int) -> Cause:
    return _plain(TOO_LONG, field, f"may not be more than {limit} bytes")


def too_many(field: str, count: int, limit: int) -> Cause:
    return Cause(TOO_MANY, field, f"Too many: {count}: must have at most {limit} items")


def immutable(field: str, value: Any) -> Cause:
    return invalid(field, value, "field is immutable")


def qualified_kind(group: str, kind: str) -> str:
    return f"{kind}.{group}" if group else kind


def invalid_message(group: str, kind: str, name: str, causes: list[Cause]) -> str:
    """The ``Status.message`` of a 422: ``Pod "x" is invalid: [a: ..., b: ...]``."""
    parts = [str(c) for c in causes]
    agg = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return f"{qualified_kind(group, kind)} {json.dumps(name)} is invalid: {agg}"
