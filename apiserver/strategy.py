"""What the server, not the client, decides about an object on create and update.

Upstream calls these "strategies": on create the server assigns ``uid``, ``creationTimestamp``
and ``generation`` and throws away anything a client may not set (a ``deletionTimestamp``, the
status of a kind whose status is only written through ``/status``). On update it keeps the
system fields of the stored object, keeps the stored status on the main resource (and the
stored spec on ``/status``) for kinds with a status subresource, and bumps ``generation`` when
the desired state changed, so controllers can tell "spec changed" from "someone wrote status".
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from apiserver.kinds import strategy as kind_strategy
from apiserver.kinds.registry import ResourceType

_SYSTEM_METADATA = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # upstream's: no vowels, no look-alikes


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_after(seconds: int) -> str:
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(prefix: str) -> str:
    return prefix[:58] + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))


def prepare_for_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Server-owned metadata, then the kind's own create rules (status reset, generation)."""
    meta = obj.setdefault("metadata", {})
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_rfc3339()
    for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generation"):
        meta.pop(k, None)
    if rt.custom:
        if "status" in rt.subresources:
            obj.pop("status", None)
        meta["generation"] = 1
    kind_strategy.prepare_for_create(rt, obj)


def prepare_for_update(rt: ResourceType, new: dict[str, Any], old: dict[str, Any], subresource: str = "") -> \
        dict[str, Any]:
    """The object to store when ``new`` replaces ``old`` through the main resource or ``/status``."""
    if subresource == "status":
        return kind_strategy.prepare_for_status_update(rt, new, old)
    meta = new.setdefault("metadata", {})
    old_meta = old.get("metadata") or {}
    for k in _SYSTEM_METADATA:
        if k in old_meta:
            meta[k] = old_meta[k]
        else:
            meta.pop(k, None)
    meta.pop("selfLink", None)
    if rt.group == "" and rt.plural == "namespaces":
        # Namespace finalizers change only through /finalize.
        new.setdefault("spec", {})["finalizers"] = (old.get("spec") or {}).get("finalizers", [])
    kind_strategy.prepare_for_update(rt, new, old)
    return new
