"""REST paths and operations for the OpenAPI documents.

kubectl reads two things from them: which group-version-kind an operation serves (``kubectl
explain`` finds a resource's schema that way) and whether the PATCH operation accepts the
``fieldValidation`` query parameter (if so, ``kubectl apply/create --validate`` leaves
validation to the server instead of validating against the schema itself).
"""

from __future__ import annotations

from typing import Any

from apiserver.kinds.registry import ResourceType

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json")
# Custom resources have no patch strategies, so no strategic merge patch. kubectl apply reads the
# PATCH operation's body types to choose between a strategic and a JSON merge patch.
CUSTOM_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json")

_QUERY_PARAMS = {
    "dryRun": "When present, the change is validated but not persisted. The only valid value is All.",
    "fieldManager": "Name of the actor making the change, recorded for field ownership.",
    "fieldValidation": "How to treat unknown or duplicate fields in the body: Ignore, Warn or Strict.",
    "force": "Force an apply request to take over conflicting fields.",
    "labelSelector": "Only return objects whose labels match this selector.",
    "fieldSelector": "Only return objects whose fields match this selector.",
    "limit": "Maximum number of items to return; continue with the returned token.",
    "continue": "The continue token from a previous limited list.",
    "resourceVersion": "Serve the list or start the watch at this resource version.",
    "watch": "Watch for changes instead of listing.",
    "timeoutSeconds": "Timeout for the list or watch call.",
    "allowWatchBookmarks": "Ask for BOOKMARK events on watches.",
    "propagationPolicy": "Orphan, Background or Foreground: what happens to dependents.",
    "gracePeriodSeconds": "Seconds before the object is deleted; 0 means immediately.",
    "pretty": "Pretty-print the output.",
}
_TYPES = {"force": "boolean", "watch": "boolean", "allowWatchBookmarks": "boolean", "limit": "integer",
          "timeoutSeconds": "integer", "gracePeriodSeconds": "integer"}


def _param(name: str, v3: bool, where: str = "query") -> dict[str, Any]:
    kind = _TYPES.get(name, "string")
    p: dict[str, Any] = {"name": name, "in": where, "description": _QUERY_PARAMS.get(name, name),
                         "uniqueItems": True}
    if where == "path":
        p["required"] = True
    if v3:
        p["schema"] = {"type": kind, "uniqueItems": True}
        p.pop("uniqueItems")
    else:
        p["type"] = kind
    return p


def _path_param(name: str, v3: bool) -> dict[str, Any]:
    p = _param(name, v3, "path")
    p["description"] = f"{name} of the object" if name != "namespace" else "object name and auth scope"
    return p


def _operation_id(verb: str, rt: ResourceType, namespaced: bool, sub: str = "") -> str:
    group = "".join(part.capitalize() for part in (rt.group.split(".")[0] if rt.group else "core").split("-"))
    scope = "Namespaced" if namespaced else ""
    suffix = sub[:1].upper() + sub[1:]
    return f"{verb}{group}{rt.version.capitalize()}{scope}{rt.kind}{suffix}"


def _response(schema_name: str, v3: bool) -> dict[str, Any]:
    ref = ("#/components/schemas/" if v3 else "#/definitions/") + schema_name
    if v3:
        return {"200": {"description": "OK", "content": {
            media: {"schema": {"$ref": ref}} for media in ("application/json", "application/yaml")}},
            "401": {"description": "Unauthorized"}}
    return {"200": {"description": "OK", "schema": {"$ref": ref}}, "401": {"description": "Unauthorized"}}


def _describe(action: str, rt: ResourceType, sub: str) -> str:
    if sub == "ForAllNamespaces":
        return f"list or watch objects of kind {rt.kind} in all namespaces"
    if action in ("list", "deletecollection"):
        return f"{'list or watch' if action == 'list' else 'delete collection of'} objects of kind {rt.kind}"
    target = f"{sub} of the specified {rt.kind}" if sub else f"the specified {rt.kind}"
    verbs = {"get": "read", "put": "replace", "patch": "partially update", "delete": "delete", "post": "create"}
    return f"{verbs.get(action, action)} {target if action != 'post' else 'a ' + rt.kind}"


def _operation(action: str, verb: str, rt: ResourceType, namespaced: bool, schema: str, v3: bool,
               params: tuple[str, ...], sub: str = "", body: str | None = None,
               body_types: tuple[str, ...] = ("*/*",)) -> dict[str, Any]:
    op: dict[str, Any] = {
        "tags": [f"{rt.group or 'core'}_{rt.version}"],
        "description": _describe(action, rt, sub),
        "operationId": _operation_id(verb, rt, namespaced, sub),
        "parameters": [_param(p, v3) for p in params],
        "responses": _response(schema, v3),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "kind": rt.kind, "version": rt.version},
    }
    if body is not None:
        ref = ("#/components/schemas/" if v3 else "#/definitions/") + body
        if v3:
            op["requestBody"] = {"content": {t: {"schema": {"$ref": ref}} for t in body_types}, "required": True}
        else:
            op["parameters"].append({"name": "body", "in": "body", "required": True, "schema": {"$ref": ref}})
            op["consumes"] = list(body_types)
    if not v3:
        op["produces"] = ["application/json", "application/yaml"]
        op["schemes"] = ["https"]
    return op


def resource_paths(rt: ResourceType, schema: str, v3: bool) -> dict[str, Any]:
    """Collection, item and subresource paths for one resource type."""
    prefix = rt.api_prefix
    namespaced = rt.namespaced
    base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if namespaced else f"{prefix}/{rt.plural}"
    scope_params = [_path_param("namespace", v3)] if namespaced else []
    write = ("dryRun", "fieldManager", "fieldValidation")
    patch_types = CUSTOM_PATCH_TYPES if rt.custom else PATCH_TYPES
    paths: dict[str, Any] = {}
    collection: dict[str, Any] = {"parameters": scope_params + [_param("pretty", v3)]}
    if "list" in rt.verbs:
        collection["get"] = _operation("list", "list", rt, namespaced, schema + "List", v3,
                                       ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector",
                                        "limit", "resourceVersion", "timeoutSeconds", "watch"))
    if "create" in rt.verbs:
        collection["post"] = _operation("post", "create", rt, namespaced, schema, v3, write, body=schema)
    if "deletecollection" in rt.verbs:
        collection["delete"] = _operation("deletecollection", "deleteCollection", rt, namespaced,
                                          META + "Status", v3, ("dryRun", "gracePeriodSeconds", "labelSelector",
                                                                "fieldSelector", "propagationPolicy"))
    paths[base] = collection
    if "get" not in rt.verbs:
        return paths  # a create-only collection (bindings) has no objects to address
    item: dict[str, Any] = {"parameters": [_path_param("name", v3)] + scope_params + [_param("pretty", v3)]}
    item["get"] = _operation("get", "read", rt, namespaced, schema, v3, ())
    item["put"] = _operation("put", "replace", rt, namespaced, schema, v3, write, body=schema)
    item["patch"] = _operation("patch", "patch", rt, namespaced, schema, v3, write + ("force",),
                               body=META + "Patch", body_types=patch_types)
    item["delete"] = _operation("delete", "delete", rt, namespaced, META + "Status", v3,
                                ("dryRun", "gracePeriodSeconds", "propagationPolicy"))
    paths[base + "/{name}"] = item
    for sub in ("status",):
        if sub in rt.subresources:
            paths[f"{base}/{{name}}/{sub}"] = {
                "parameters": item["parameters"],
                "get": _operation("get", "read", rt, namespaced, schema, v3, (), sub),
                "put": _operation("put", "replace", rt, namespaced, schema, v3, write, sub, body=schema),
                "patch": _operation("patch", "patch", rt, namespaced, schema, v3, write + ("force",), sub,
                                    body=META + "Patch", body_types=patch_types),
            }
    if namespaced and "list" in rt.verbs:
        paths[f"{prefix}/{rt.plural}"] = {
            "parameters": [_param("pretty", v3)],
            "get": _operation("list", "list", rt, False, schema + "List", v3,
                              ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
                               "resourceVersion", "timeoutSeconds", "watch"), "ForAllNamespaces"),
        }
    return paths
