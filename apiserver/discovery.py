"""Discovery documents: what groups, versions and resources this server serves.

Built from the kinds registry on every request, so custom resources appear the moment their
CRD is stored. Two forms are served:

- the legacy one: ``/api`` (APIVersions), ``/apis`` (APIGroupList), ``/api/v1`` and
  ``/apis/<g>/<v>`` (APIResourceList, subresources listed as ``pods/status``);
- the aggregated one (``apidiscovery.k8s.io/v2`` APIGroupDiscoveryList) that kubectl 1.30+ asks
  for first on ``/api`` and ``/apis``: every group, version and resource in one response. The
  Content-Type of the answer tells the client which form it got.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from apiserver.codec import parse_media_types
from apiserver.kinds.registry import ResourceType, group_versions, types_in

GIT_VERSION = "v1.32.0-kyb"
AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"

_SUBRESOURCE_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "binding": ["create"],
    "eviction": ["create"],
    "finalize": ["update"],
    "log": ["get"],
    "exec": ["create", "get"],
    "attach": ["create", "get"],
    "portforward": ["create", "get"],
    "proxy": ["create", "delete", "get", "patch", "update"],
    "token": ["create"],
    "ephemeralcontainers": ["get", "patch", "update"],
}
_SUBRESOURCE_KIND = {
    "scale": ("autoscaling", "v1", "Scale"),
    "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
    "token": ("authentication.k8s.io", "v1", "TokenRequest"),
}


def version_info() -> dict[str, str]:
    major, minor = GIT_VERSION.lstrip("v").split(".")[:2]
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    return {
        "major": major,
        "minor": minor,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}",
        "compiler": "cpython",
        "platform": f"{platform.system().lower()}/{arch}",
    }


def wants_aggregated(accept: str) -> str:
    """"v2" or "v2beta1" when the client asks for aggregated discovery first-or-at-all, else ""."""
    for mt in parse_media_types(accept):
        if mt.params.get("as") == "APIGroupDiscoveryList" and mt.params.get("g") == "apidiscovery.k8s.io":
            if mt.params.get("v") in ("v2", "v2beta1"):
                return mt.params["v"]
        elif mt.type in ("application/json", "*/*"):
            return ""
    return ""


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list() -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for group, version in group_versions():
        if group:
            groups.setdefault(group, []).append(version)
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_entry(g, _ordered_versions(vs)) for g, vs in groups.items()]}


def api_group(group: str) -> dict[str, Any] | None:
    versions = [v for g, v in group_versions() if g == group]
    if not versions:
        return None
    entry = _group_entry(group, _ordered_versions(versions))
    return {"kind": "APIGroup", "apiVersion": "v1", **entry}


def _ordered_versions(versions: list[str]) -> list[str]:
    """Kubernetes' version priority: GA before beta before alpha, higher numbers first."""
    import re

    def key(v: str) -> tuple[int, int, int]:
        m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
        if not m:
            return (3, 0, 0)
        stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
        return (stage, -int(m.group(1)), -int(m.group(3) or 0))

    return sorted(versions, key=key)


def _resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    entries = [{
        "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
        "verbs": list(rt.verbs),
        **({"shortNames": list(rt.short_names)} if rt.short_names else {}),
        **({"categories": list(rt.categories)} if rt.categories else {}),
    }]
    for sub in rt.subresources:
        group, version, kind = _SUBRESOURCE_KIND.get(sub, (rt.group, rt.version, rt.kind))
        entry = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced, "kind": kind,
                 "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"])}
        if sub in _SUBRESOURCE_KIND:
            entry["group"], entry["version"] = group, version
        entries.append(entry)
    return entries


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    types = types_in(group, version)
    if not types:
        return None
    resources = [e for rt in types for e in _resource_entries(rt)]
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


def _discovery_resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        group, version, kind = _SUBRESOURCE_KIND.get(sub, (rt.group, rt.version, rt.kind))
        subs.append({"subresource": sub, "responseKind": {"group": group, "version": version, "kind": kind},
                     "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"])})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(core: bool, version: str = "v2") -> dict[str, Any]:
    """The APIGroupDiscoveryList for ``/api`` (core=True) or ``/apis``."""
    by_group: dict[str, list[str]] = {}
    for group, ver in group_versions():
        if (group == "") == core:
            by_group.setdefault(group, []).append(ver)
    items = []
    for group, versions in by_group.items():
        items.append({
            "metadata": {"name": group, "creationTimestamp": None},
            "versions": [{"version": v, "resources": [_discovery_resource(rt) for rt in types_in(group, v)],
                          "freshness": "Current"} for v in _ordered_versions(versions)],
        })
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}
