"""Unknown fields in a request body: kept, warned about, or refused, as ``fieldValidation`` asks.

Upstream decodes into typed structs and so knows every field; we hold plain dicts and instead
walk the body against the type's OpenAPI schema (the published one for built-in kinds, the
CRD's ``openAPIV3Schema`` for custom ones). Where no schema is known, or a schema says
``x-kubernetes-preserve-unknown-fields``, everything is accepted.

- ``Strict``: 400 BadRequest, ``strict decoding error: unknown field "spec.foo"``;
- ``Warn`` (the default): stored as sent, with a ``Warning: 299`` header per unknown field;
- ``Ignore``: stored as sent, silently.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from apiserver import errors
from apiserver.kinds.registry import ResourceType, custom_schema

if TYPE_CHECKING:
    from apiserver.handlers.call import Call

log = logging.getLogger(__name__)

Schema = dict[str, Any]
_MAX_REPORTED = 20
# Every object has these, whether or not a (custom resource's) schema declares them.
_ALWAYS_KNOWN = ("apiVersion", "kind", "metadata")


@functools.lru_cache(maxsize=8)
def _builtin_components(group: str, version: str) -> dict[str, Schema]:
    try:
        from apiserver.openapi import openapi_v3_group
    except ImportError:
        return {}
    try:
        doc = openapi_v3_group(group, version)
    except Exception:  # a schema we cannot build must not block writes
        log.warning("no OpenAPI schema for field validation", extra={"group": group, "version": version})
        return {}
    return ((doc or {}).get("components") or {}).get("schemas") or {}


def _builtin_schema(rt: ResourceType) -> tuple[Schema | None, dict[str, Schema]]:
    components = _builtin_components(rt.group, rt.version)
    return _find_kind(rt.group, rt.version, rt.kind), components


@functools.lru_cache(maxsize=128)
def _find_kind(group: str, version: str, kind: str) -> Schema | None:
    for schema in _builtin_components(group, version).values():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            if gvk.get("group", "") == group and gvk.get("version") == version and gvk.get("kind") == kind:
                return schema
    return None


def schema_for(rt: ResourceType) -> tuple[Schema | None, dict[str, Schema]]:
    if rt.custom:
        return custom_schema(rt.group, rt.version, rt.plural), {}
    return _builtin_schema(rt)


def _resolve(schema: Schema, components: dict[str, Schema]) -> Schema:
    for _ in range(8):
        ref = schema.get("$ref")
        if not ref:
            all_of = schema.get("allOf")
            if all_of and len(all_of) == 1 and isinstance(all_of[0], dict):
                schema = {**schema, **all_of[0]}
                schema.pop("allOf", None)
                continue
            return schema
        schema = components.get(ref.rsplit("/", 1)[-1], {})
    return schema


def unknown_fields(value: Any, schema: Schema | None, components: dict[str, Schema], path: str = "") -> list[str]:
    if schema is None:
        return []
    schema = _resolve(schema, components)
    if schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-int-or-string"):
        return []
    found: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if props is not None and key in props:
                found += unknown_fields(item, props[key], components, where)
            elif isinstance(extra, dict):
                found += unknown_fields(item, extra, components, where)
            elif props is not None and extra is not True and not (path == "" and key in _ALWAYS_KNOWN):
                found.append(where)
            if len(found) >= _MAX_REPORTED:
                break
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            found += unknown_fields(item, schema["items"], components, f"{path}[{i}]")
    return found


def check(call: Call, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """Warnings to send (Warn), nothing (Ignore), or 400 (Strict), for ``obj``'s unknown fields.

    On updates only fields the stored object does not already carry count: unknown fields are
    kept, so an object stored with one must stay writable (``kubectl label`` asks for Strict).
    """
    mode = call.field_validation
    if mode == "Ignore":
        return []
    schema, components = schema_for(call.rt)
    found = unknown_fields(obj, schema, components) if schema else []
    if found and old is not None:
        before = set(unknown_fields(old, schema, components))
        found = [f for f in found if f not in before]
    if not found:
        return []
    messages = [f'unknown field "{f}"' for f in found]
    if mode == "Strict":
        raise errors.BadRequest("strict decoding error: " + ", ".join(messages))
    return messages


def warning_headers(warnings: list[str]) -> dict[str, str] | None:
    if not warnings:
        return None
    return {"Warning": ", ".join('299 - "' + w.replace('"', '\\"') + '"' for w in warnings)}
