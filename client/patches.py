"""Building patches from two versions of an object, so a writer sends only what it changed.

A controller usually holds the object it read and a modified deep copy. Sending the whole copy
with PUT fails with Conflict whenever anything else changed meanwhile; sending a JSON merge
patch (RFC 7386) of just the difference applies cleanly on top of other writers' changes to
other fields (status updates from the kubelet, labels from a person). ``merge_patch(old, new)``
computes that difference: changed or added keys carry their new value, removed keys become
``null``, nested objects are diffed recursively, and lists (which merge patch cannot address
element by element) are sent whole when they differ.

``with_precondition`` pins the patch to the resourceVersion it was computed from, for changes
that are only correct against that exact version (the server then answers Conflict instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from client.objects import deep_copy


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The RFC 7386 merge patch turning ``old`` into ``new`` (``{}`` when they are equal)."""
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = deep_copy(value)
            continue
        before = old[key]
        if isinstance(before, Mapping) and isinstance(value, Mapping):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif before != value or type(before) is not type(value):
            if value is None:
                raise ValueError(f"field {key!r} set to null cannot be expressed in a merge patch "
                                 "(null means delete); remove the key instead")
            patch[key] = deep_copy(value)
    return patch


def with_precondition(patch: Mapping[str, Any], resource_version: str) -> dict[str, Any]:
    """``patch`` that applies only if the object is still at ``resource_version``."""
    out = dict(patch)
    out["metadata"] = {**(patch.get("metadata") or {}), "resourceVersion": resource_version}
    return out
