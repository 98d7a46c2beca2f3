"""Turn a request path and method into what it asks for, the way upstream's RequestInfo does.

Kubernetes resource paths have a small grammar::

    /api/v1[/watch][/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
    /apis/<group>/<version>[/watch][/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]

with one twist: ``/api/v1/namespaces/<name>`` is the Namespace itself, and
``/api/v1/namespaces/<name>/status|finalize`` are its subresources. Parsing is pure (no
lookups), so routing is tested without a server; the handler then looks the type up.
"""

from __future__ import annotations

from dataclasses import dataclass

from apiserver.errors import MethodNotAllowed, NotFound

_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class ResourceRequest:
    group: str
    version: str
    plural: str
    namespace: str = ""  # "" = cluster-scoped or across all namespaces
    name: str = ""
    subresource: str = ""
    legacy_watch: bool = False  # the /watch/ path prefix form
    verb: str = ""

    @property
    def api_prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


def split_group_version(path: str) -> tuple[str, str, list[str]] | None:
    """(group, version, remaining segments) of an API path, or None when it is no resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def parse_resource_path(method: str, path: str, query_watch: bool) -> ResourceRequest | None:
    """The resource request a path names; None for discovery paths (``/api/v1`` itself)."""
    split = split_group_version(path)
    if split is None:
        return None
    group, version, parts = split
    if not parts:
        return None
    legacy_watch = False
    if parts[0] == "watch":
        legacy_watch = True
        parts = parts[1:]
        if not parts:
            raise NotFound("the server could not find the requested resource")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) >= 2:
        if len(parts) == 2 or parts[2] in _NAMESPACE_SUBRESOURCES:
            plural, name, sub = "namespaces", parts[1], (parts[2] if len(parts) > 2 else "")
            rest_len = len(parts)
            if rest_len > 3:
                raise NotFound("the server could not find the requested resource")
            return ResourceRequest(group, version, plural, "", name, sub, legacy_watch,
                                   _verb(method, name, sub, legacy_watch or query_watch))
        namespace = parts[1]
        parts = parts[2:]
    if len(parts) > 3:
        raise NotFound("the server could not find the requested resource")
    plural = parts[0]
    name = parts[1] if len(parts) > 1 else ""
    sub = parts[2] if len(parts) > 2 else ""
    return ResourceRequest(group, version, plural, namespace, name, sub, legacy_watch,
                           _verb(method, name, sub, legacy_watch or query_watch))


def _verb(method: str, name: str, sub: str, watch: bool) -> str:
    if method in ("GET", "HEAD"):
        if watch:
            return "watch"
        return "get" if name else "list"
    if method == "POST":
        if name and not sub:
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        return "create"
    if method == "PUT":
        if not name:
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        return "update"
    if method == "PATCH":
        if not name:
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        return "patch"
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    raise MethodNotAllowed(f"the server does not allow the {method} method")
