"""Loads every type module once, so ``model.DEFINITIONS`` holds the whole API."""

from __future__ import annotations

from apiserver.openapi import types_cluster, types_core, types_meta, types_pod, types_workloads  # noqa: F401
from apiserver.openapi.model import DEFINITIONS, Definition, list_definition

for _d in [d for d in DEFINITIONS.values() if d.gvk and not d.gvk[2].endswith("List")]:
    list_definition(_d)


_BY_GVK: dict[tuple[str, str, str], Definition] = {}
for _d in DEFINITIONS.values():
    if _d.gvk:
        _BY_GVK.setdefault(_d.gvk, _d)


def definition_for(group: str, version: str, kind: str) -> Definition | None:
    return _BY_GVK.get((group, version, kind))
