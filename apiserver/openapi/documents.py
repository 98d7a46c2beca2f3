"""The OpenAPI documents the apiserver serves: ``/openapi/v2`` and ``/openapi/v3[/<gv path>]``.

Built from the type model (built-in kinds) and the registry (custom resources, with the schema
from their CRD). Documents are cached per set of served types, so a CRD appearing or going away
produces a fresh document and a new ``hash`` in the v3 discovery index (kubectl caches by it).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from typing import Any

from apiserver.kinds.registry import ResourceType, all_types, custom_schema, group_versions
from apiserver.openapi.model import DEFINITIONS
from apiserver.openapi.paths import resource_paths
from apiserver.openapi.render import closure, definition_schema
from apiserver.openapi.types import definition_for

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_ALWAYS = [META + "Status", META + "Patch", META + "DeleteOptions", META + "ObjectMeta", META + "ListMeta"]
INFO = {"title": "Kubernetes", "version": "v1.32.0"}

_lock = threading.Lock()
_cache: dict[Any, Any] = {}


def gv_path(group: str, version: str) -> str:
    """``api/v1`` or ``apis/apps/v1``: the key of a group/version in the v3 index."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def custom_definition_name(rt: ResourceType) -> str:
    """Upstream's name for a custom kind's schema: reversed group, version, kind."""
    return ".".join(list(reversed(rt.group.split("."))) + [rt.version, rt.kind])


def _custom_schema(rt: ResourceType, v3: bool) -> dict[str, Any]:
    schema = copy.deepcopy(custom_schema(rt.group, rt.version, rt.plural) or {})
    schema.setdefault("type", "object")
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "description": "The versioned schema of this object."}
    props["kind"] = {"type": "string", "description": f"Always \"{rt.kind}\"."}
    meta_ref = ("#/components/schemas/" if v3 else "#/definitions/") + META + "ObjectMeta"
    props["metadata"] = ({"allOf": [{"$ref": meta_ref}], "description": "Standard object metadata."} if v3
                         else {"$ref": meta_ref, "description": "Standard object metadata."})
    schema["x-kubernetes-group-version-kind"] = [{"group": rt.group, "kind": rt.kind, "version": rt.version}]
    if not v3:
        _drop_v3_only(schema)
    return schema


def _drop_v3_only(schema: Any) -> None:
    if isinstance(schema, dict):
        for key in ("nullable", "oneOf", "anyOf", "not", "x-kubernetes-validations"):
            schema.pop(key, None)
        for value in schema.values():
            _drop_v3_only(value)
    elif isinstance(schema, list):
        for value in schema:
            _drop_v3_only(value)


def _custom_list_schema(rt: ResourceType, name: str, v3: bool) -> dict[str, Any]:
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    return {"description": f"A list of {rt.kind} objects.", "type": "object", "required": ["items"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"$ref": prefix + META + "ListMeta"},
                           "items": {"type": "array", "items": {"$ref": prefix + name}}},
            "x-kubernetes-group-version-kind": [{"group": rt.group, "kind": rt.kind + "List",
                                                 "version": rt.version}]}


def _schemas_and_paths(types: list[ResourceType], v3: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    roots = list(_ALWAYS)
    paths: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for rt in types:
        if rt.custom:
            name = custom_definition_name(rt)
            custom[name] = _custom_schema(rt, v3)
            custom[name + "List"] = _custom_list_schema(rt, name, v3)
            paths.update(resource_paths(rt, name, v3))
            continue
        d = definition_for(rt.group, rt.version, rt.kind)
        if d is None:
            continue
        roots += [d.name, d.name + "List"]
        paths.update(resource_paths(rt, d.name, v3))
    schemas = {name: definition_schema(DEFINITIONS[name], v3) for name in closure(roots)}
    schemas.update(custom)
    return schemas, paths


def _types_key() -> tuple:
    return tuple((t.group, t.version, t.plural, t.custom, json.dumps(custom_schema(t.group, t.version, t.plural)
                                                                     if t.custom else None, sort_keys=True))
                 for t in all_types())


def _cached(key: Any, build: Any) -> Any:
    with _lock:
        if key in _cache:
            return _cache[key]
    value = build()
    with _lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = value
    return value


def openapi_v2() -> dict[str, Any]:
    """The swagger 2.0 document of every served type."""
    def build() -> dict[str, Any]:
        definitions, paths = _schemas_and_paths(all_types(), v3=False)
        return {"swagger": "2.0", "info": INFO, "paths": paths, "definitions": definitions,
                "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization",
                                                        "in": "header"}},
                "security": [{"BearerToken": []}]}
    return _cached(("v2", _types_key()), build)


def openapi_v3_group(group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI 3.0 document of one group/version, or None if it is not served."""
    types = [t for t in all_types() if t.group == group and t.version == version]
    if not types:
        return None

    def build() -> dict[str, Any]:
        schemas, paths = _schemas_and_paths(types, v3=True)
        return {"openapi": "3.0.0", "info": INFO, "paths": paths,
                "components": {"schemas": schemas,
                               "securitySchemes": {"BearerToken": {"type": "apiKey", "name": "authorization",
                                                                   "in": "header"}}}}
    return _cached(("v3", group, version, _types_key()), build)


def document_hash(doc: dict[str, Any]) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest().upper()


def openapi_v3_paths() -> dict[str, Any]:
    """The ``/openapi/v3`` index: each group/version's URL with a content hash for caching."""
    def build() -> dict[str, Any]:
        out = {}
        for group, version in group_versions():
            doc = openapi_v3_group(group, version)
            if doc is None:
                continue
            path = gv_path(group, version)
            out[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={document_hash(doc)}"}
        return {"paths": out}
    return _cached(("v3-index", _types_key()), build)


def openapi_v3_for_path(path: str) -> dict[str, Any] | None:
    """The v3 document for an index key such as ``api/v1`` or ``apis/apps/v1``; None if unknown."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return openapi_v3_group("", parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return openapi_v3_group(parts[1], parts[2])
    return None
