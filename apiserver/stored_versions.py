"""Kinds served through more than one API version but stored once, in one version.

Upstream keeps one stored object per resource and converts it on the way in and out of each
served version. Two built-in kinds need that here:

- ``events.k8s.io/v1`` Events are core/v1 Events with newer field names (``event_conversion``),
  stored under the core events prefix;
- ``autoscaling/v1`` HorizontalPodAutoscalers are ``autoscaling/v2`` ones (``hpa_conversion``),
  stored in the v2 shape with v2's defaults (the CPU target a v1 object leaves out becomes the
  default 80% metric, as upstream's conversion does).

Everything that reads or writes stored bytes (the object store, the watch handler) asks this
module, so a served version never leaks into storage and a watcher of either version sees its own.
"""

from __future__ import annotations

from typing import Any

from apiserver.event_conversion import from_core, is_new_event, to_core
from apiserver.kinds.defaults import apply_defaults
from apiserver.kinds.hpa_conversion import v1_to_v2, v2_to_v1
from apiserver.kinds.registry import ResourceType, lookup

Obj = dict[str, Any]


def is_hpa_v1(rt: ResourceType) -> bool:
    return rt.group == "autoscaling" and rt.version == "v1" and rt.plural == "horizontalpodautoscalers" \
        and not rt.custom


def converted(rt: ResourceType) -> bool:
    """Whether objects of ``rt`` are stored in another version than the one served."""
    return is_new_event(rt) or is_hpa_v1(rt)


def storage_prefix(rt: ResourceType) -> str:
    """The key prefix of the type's stored objects."""
    if is_new_event(rt):
        return "/registry/core/events/"
    return f"/registry/{rt.group or 'core'}/{rt.plural}/"


def to_storage(rt: ResourceType, obj: Obj) -> Obj:
    if is_new_event(rt):
        return to_core(obj)
    if is_hpa_v1(rt):
        stored = v1_to_v2(obj)
        v2 = lookup("autoscaling", "v2", "horizontalpodautoscalers")
        if v2 is not None:
            apply_defaults(v2, stored)
        return stored
    return obj


def from_storage(rt: ResourceType, obj: Obj) -> Obj:
    if is_new_event(rt):
        return from_core(obj)
    if is_hpa_v1(rt):
        return v2_to_v1(obj)
    return obj
