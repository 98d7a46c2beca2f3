"""Discovery: which resource types the server serves, for code that must handle every type.

The garbage collector (owners of any kind), the namespace controller (delete everything in a
namespace) and quota need the full list of types, including custom resources that appear at run
time, so they ask the server instead of the built-in table in ``client.resources``. Discovery is
plain GETs of ``/api``, ``/api/v1``, ``/apis`` and ``/apis/<group>/<version>``; for each group
only its preferred version is used (client-go's ``ServerPreferredResources``), so a type served
in two versions is listed once. Subresources (``pods/status``) are folded into their parent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from client.api import ApiClient
from client.request import Request
from client.resources import Resource


@dataclass(frozen=True)
class APIResource:
    resource: Resource
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()

    def supports(self, *verbs: str) -> bool:
        return all(v in self.verbs for v in verbs)


async def server_version(api: ApiClient) -> dict[str, Any]:
    """``/version``: gitVersion, major, minor, platform."""
    return await api.send(Request("GET", "/version"))


def _parse_resource_list(group: str, version: str, doc: dict[str, Any]) -> list[APIResource]:
    entries = doc.get("resources") or []
    subs: dict[str, list[str]] = {}
    for e in entries:
        name = str(e.get("name", ""))
        if "/" in name:
            parent, sub = name.split("/", 1)
            subs.setdefault(parent, []).append(sub)
    out = []
    for e in entries:
        name = str(e.get("name", ""))
        if not name or "/" in name:
            continue
        res = Resource(e.get("group") or group, e.get("version") or version, name, str(e.get("kind", "")),
                       bool(e.get("namespaced")))
        out.append(APIResource(res, tuple(e.get("verbs") or ()), tuple(e.get("shortNames") or ()),
                               tuple(e.get("categories") or ()), tuple(sorted(subs.get(name, ())))))
    return out


async def discover(api: ApiClient) -> list[APIResource]:
    """Every resource type the server serves now, in its group's preferred version."""
    found: list[APIResource] = []
    core = await api.send(Request("GET", "/api"))
    for version in core.get("versions") or []:
        found += _parse_resource_list("", version, await api.send(Request("GET", f"/api/{version}")))
    groups = await api.send(Request("GET", "/apis"))
    for group in groups.get("groups") or []:
        preferred = (group.get("preferredVersion") or {}).get("version")
        if not preferred:
            versions = group.get("versions") or []
            if not versions:
                continue
            preferred = versions[0].get("version")
        doc = await api.send(Request("GET", f"/apis/{group['name']}/{preferred}"))
        found += _parse_resource_list(group["name"], preferred, doc)
    return found


def with_verbs(resources: Iterable[APIResource], *verbs: str) -> list[APIResource]:
    """Only the types supporting all ``verbs`` (the GC wants ``list``, ``watch``, ``delete``)."""
    return [r for r in resources if r.supports(*verbs)]
