"""events.k8s.io/v1 Events are the core/v1 Events seen through newer field names.

Upstream stores one Event and serves it through both groups; so does this server. Objects are
stored in the core shape (under the core events prefix) and converted on the way in and out of
``events.k8s.io/v1``: ``regarding`` is ``involvedObject``, ``note`` is ``message``,
``reportingController`` is ``reportingComponent``, and the old counters and source carry a
``deprecated`` prefix. Fields with the same name in both pass through.
"""

from __future__ import annotations

from typing import Any

from apiserver.kinds.registry import ResourceType

CORE_TO_NEW = {
    "involvedObject": "regarding",
    "message": "note",
    "reportingComponent": "reportingController",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
}
NEW_TO_CORE = {v: k for k, v in CORE_TO_NEW.items()}


def is_new_event(rt: ResourceType) -> bool:
    return rt.group == "events.k8s.io" and rt.plural == "events" and not rt.custom


def _rename(obj: dict[str, Any], names: dict[str, str], api_version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": api_version, "kind": "Event"}
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        out[names.get(key, key)] = value
    return out


def to_core(obj: dict[str, Any]) -> dict[str, Any]:
    return _rename(obj, NEW_TO_CORE, "v1")


def from_core(obj: dict[str, Any]) -> dict[str, Any]:
    return _rename(obj, CORE_TO_NEW, "events.k8s.io/v1")
