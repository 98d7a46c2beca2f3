"""API requests as plain data: what to send, decided without touching the network.

Each verb is a function returning a frozen ``Request`` (method, path, query parameters, body,
content type). The transport sends it; tests compare it. Keeping the two apart means the URL
grammar (``/api/v1/namespaces/<ns>/pods/<name>/status``), query encoding and body shapes are
checked in plain unit tests and shared by every way of sending (the async client, a test fake, a
future sync wrapper).

``idempotent`` records whether sending the request twice does no more harm than sending it once;
the transport retries a request whose answer was lost only when it is.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from client.resources import Resource


class PatchType(enum.Enum):
    """The three patch flavours and the content type each is sent with."""

    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class PropagationPolicy(enum.Enum):
    BACKGROUND = "Background"
    FOREGROUND = "Foreground"
    ORPHAN = "Orphan"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None  # JSON-serialisable, or None for no body
    content_type: str = "application/json"
    idempotent: bool = True
    watch: bool = False

    def url(self, base: str) -> str:
        """The full URL against a server base like ``http://127.0.0.1:6443``."""
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.params)
        return base.rstrip("/") + self.path + (f"?{query}" if query else "")


@dataclass(frozen=True)
class ListOptions:
    """The query parameters shared by list, watch and delete-collection."""

    label_selector: str | None = None
    field_selector: str | None = None
    limit: int | None = None
    continue_token: str | None = None
    resource_version: str | None = None
    resource_version_match: str | None = None
    timeout_seconds: int | None = None
    allow_watch_bookmarks: bool = False

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.label_selector:
            out.append(("labelSelector", self.label_selector))
        if self.field_selector:
            out.append(("fieldSelector", self.field_selector))
        if self.limit:
            out.append(("limit", str(self.limit)))
        if self.continue_token:
            out.append(("continue", self.continue_token))
        if self.resource_version is not None:
            out.append(("resourceVersion", self.resource_version))
        if self.resource_version_match:
            out.append(("resourceVersionMatch", self.resource_version_match))
        if self.timeout_seconds is not None:
            out.append(("timeoutSeconds", str(self.timeout_seconds)))
        if self.allow_watch_bookmarks:
            out.append(("allowWatchBookmarks", "true"))
        return out


def resource_path(resource: Resource, namespace: str | None = None, name: str | None = None,
                  subresource: str | None = None) -> str:
    """The URL path of a collection, an object, or an object's subresource.

    A namespaced resource without a namespace means "across all namespaces" (list and watch
    only); a cluster-scoped resource ignores the namespace rather than inventing a bogus path.
    """
    parts = [resource.api_prefix]
    if resource.namespaced and namespace:
        parts.append(f"/namespaces/{quote(namespace, safe='')}")
    parts.append(f"/{resource.plural}")
    if name is not None:
        if not name:
            raise ValueError(f"an object of {resource} needs a non-empty name")
        parts.append(f"/{quote(name, safe='')}")
        if subresource:
            parts.append(f"/{subresource}")
    elif subresource:
        raise ValueError("a subresource needs an object name")
    return "".join(parts)


def _require_namespace(resource: Resource, namespace: str | None) -> str | None:
    if resource.namespaced and not namespace:
        raise ValueError(f"{resource} is namespaced: give a namespace")
    return namespace if resource.namespaced else None


def _object_namespace(resource: Resource, obj: Mapping[str, Any], namespace: str | None) -> str | None:
    meta = obj.get("metadata") or {}
    return _require_namespace(resource, namespace or meta.get("namespace"))


def _object_name(obj: Mapping[str, Any]) -> str:
    name = (obj.get("metadata") or {}).get("name")
    if not name:
        raise ValueError("the object has no metadata.name")
    return str(name)


def _dry_run(params: list[tuple[str, str]], dry_run: bool) -> list[tuple[str, str]]:
    return params + [("dryRun", "All")] if dry_run else params


def list_request(resource: Resource, namespace: str | None = None,
                 options: ListOptions = ListOptions()) -> Request:
    return Request("GET", resource_path(resource, namespace), tuple(options.params()))


def watch_request(resource: Resource, namespace: str | None = None,
                  options: ListOptions = ListOptions()) -> Request:
    params = [("watch", "true"), *options.params()]
    return Request("GET", resource_path(resource, namespace), tuple(params), watch=True)


def get_request(resource: Resource, name: str, namespace: str | None = None,
                subresource: str | None = None) -> Request:
    ns = _require_namespace(resource, namespace)
    return Request("GET", resource_path(resource, ns, name, subresource))


def create_request(resource: Resource, obj: Mapping[str, Any], namespace: str | None = None, *,
                   subresource_of: str | None = None, subresource: str | None = None,
                   dry_run: bool = False, field_manager: str | None = None) -> Request:
    """POST a new object (or a subresource such as ``pods/<name>/binding``)."""
    ns = _object_namespace(resource, obj, namespace)
    if subresource:
        if not subresource_of:
            raise ValueError("posting to a subresource needs the parent object's name")
        path = resource_path(resource, ns, subresource_of, subresource)
    else:
        path = resource_path(resource, ns)
    params = [("fieldManager", field_manager)] if field_manager else []
    return Request("POST", path, tuple(_dry_run(params, dry_run)), body=dict(obj), idempotent=False)


def update_request(resource: Resource, obj: Mapping[str, Any], namespace: str | None = None, *,
                   subresource: str | None = None, dry_run: bool = False,
                   field_manager: str | None = None) -> Request:
    """PUT a whole object; its ``metadata.resourceVersion`` makes the write conditional."""
    ns = _object_namespace(resource, obj, namespace)
    path = resource_path(resource, ns, _object_name(obj), subresource)
    params = [("fieldManager", field_manager)] if field_manager else []
    # A PUT carrying a resourceVersion can only succeed once, so resending it is harmless.
    conditional = bool((obj.get("metadata") or {}).get("resourceVersion"))
    return Request("PUT", path, tuple(_dry_run(params, dry_run)), body=dict(obj), idempotent=conditional)


def patch_request(resource: Resource, name: str, patch: Any, namespace: str | None = None, *,
                  patch_type: PatchType = PatchType.MERGE, subresource: str | None = None,
                  dry_run: bool = False, field_manager: str | None = None,
                  force: bool | None = None) -> Request:
    ns = _require_namespace(resource, namespace)
    params: list[tuple[str, str]] = [("fieldManager", field_manager)] if field_manager else []
    if force is not None:
        params.append(("force", "true" if force else "false"))
    if patch_type is PatchType.JSON and not isinstance(patch, list):
        raise ValueError("a JSON patch is a list of operations")
    return Request("PATCH", resource_path(resource, ns, name, subresource), tuple(_dry_run(params, dry_run)),
                   body=patch, content_type=patch_type.value, idempotent=False)


@dataclass(frozen=True)
class DeleteOptions:
    propagation_policy: PropagationPolicy | None = None
    grace_period_seconds: int | None = None
    preconditions_uid: str | None = None
    preconditions_resource_version: str | None = None
    dry_run: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any] | None:
        """A ``DeleteOptions`` object, or None when every option is left at the server's default."""
        out: dict[str, Any] = {}
        if self.propagation_policy is not None:
            out["propagationPolicy"] = self.propagation_policy.value
        if self.grace_period_seconds is not None:
            out["gracePeriodSeconds"] = self.grace_period_seconds
        pre = {}
        if self.preconditions_uid:
            pre["uid"] = self.preconditions_uid
        if self.preconditions_resource_version:
            pre["resourceVersion"] = self.preconditions_resource_version
        if pre:
            out["preconditions"] = pre
        if self.dry_run:
            out["dryRun"] = ["All"]
        out.update(self.extra)
        if not out:
            return None
        return {"kind": "DeleteOptions", "apiVersion": "v1", **out}


def delete_request(resource: Resource, name: str, namespace: str | None = None,
                   options: DeleteOptions = DeleteOptions()) -> Request:
    ns = _require_namespace(resource, namespace)
    return Request("DELETE", resource_path(resource, ns, name), body=options.body())


def delete_collection_request(resource: Resource, namespace: str | None = None,
                              list_options: ListOptions = ListOptions(),
                              options: DeleteOptions = DeleteOptions()) -> Request:
    ns = _require_namespace(resource, namespace) if namespace else None
    return Request("DELETE", resource_path(resource, ns), tuple(list_options.params()), body=options.body())
