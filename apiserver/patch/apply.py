"""Server-side apply (``application/apply-patch+yaml``) and field ownership.

Each field manager (``kubectl``, a controller, ...) owns a field set recorded in
``metadata.managedFields``. Applying a configuration as manager M:

1. the configuration's own field set is computed (lists merge per their list type: keyed lists
   by their keys, set-like lists by value, atomic lists as a whole);
2. a field M now applies that another manager owns *with a different value* is a conflict:
   409 unless ``force``, which moves ownership to M;
3. the configuration is merged into the live object;
4. fields M applied last time but no longer does, and that no one else owns, are removed;
5. M's ``Apply`` entry in managedFields is replaced by the new field set.

Ordinary writes (create, update, patch) record the fields they changed for their manager with
``record_update``, so an apply that would override, say, ``kubectl scale``'s replicas reports a
conflict, as upstream does.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from apiserver.kinds.registry import ResourceType, custom_schema
from apiserver.openapi.types import definition_for
from apiserver.patch.errors import PatchError
from apiserver.patch.fieldsets import (
    OBJECT,
    Path,
    Shape,
    changed_paths,
    decode,
    element_shape,
    encode,
    field_set,
    field_values,
    format_path,
    get_at,
    key_token,
    member_shape,
    remove_at,
    shape_of_schema,
)


class ApplyConflict(PatchError):
    """Applied fields are owned by other managers with other values (HTTP 409).

    ``conflicts`` pairs a manager, described as upstream prints it, with the contested path.
    """

    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        self.conflicts = conflicts
        lines = [f"conflict with {m}: {format_path(p)}" for m, p in conflicts]
        noun = "conflict" if len(conflicts) == 1 else "conflicts"
        super().__init__(f"Apply failed with {len(conflicts)} {noun}: " + "\n".join(lines))

    def causes(self) -> list[dict[str, str]]:
        return [{"reason": "FieldManagerConflict", "message": f"conflict with {m}", "field": format_path(p)}
                for m, p in self.conflicts]


def describe_manager(entry: dict) -> str:
    """``"kubectl" with subresource "scale" using apps/v1``: how a conflict names the other writer."""
    text = f'"{entry.get("manager", "")}"'
    if entry.get("subresource"):
        text += f' with subresource "{entry["subresource"]}"'
    if entry.get("operation") == "Update" and entry.get("apiVersion"):
        text += f" using {entry['apiVersion']}"
    return text


def root_shape(rt: ResourceType) -> Shape:
    if rt.custom:
        schema = custom_schema(rt.group, rt.version, rt.plural)
        base = shape_of_schema(schema) if schema else OBJECT
        return Shape("object", schema=_with_metadata(base.schema)) if base.schema is not None else OBJECT
    d = definition_for(rt.group, rt.version, rt.kind)
    return Shape("object", definition=d) if d is not None else OBJECT


def _with_metadata(schema: dict | None) -> dict:
    """A CRD schema with ``metadata`` typed like every object's, so labels merge key by key."""
    schema = dict(schema or {})
    props = dict(schema.get("properties") or {})
    props.setdefault("metadata", {"type": "object", "properties": {
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "ownerReferences": {"type": "array", "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["uid"], "items": {"type": "object"}}}})
    schema["properties"] = props
    return schema


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def merge(live: Any, applied: Any, shape: Shape) -> Any:
    """``applied`` merged into ``live`` according to ``shape``; inputs are not modified."""
    if shape.kind == "object" and isinstance(applied, dict):
        merged: dict[str, Any] = copy.deepcopy(live) if isinstance(live, dict) else {}
        for name, value in applied.items():
            merged[name] = merge(merged.get(name), value, member_shape(shape, name))
        return merged
    if shape.kind == "map-list" and isinstance(applied, list):
        result: list[Any] = copy.deepcopy(live) if isinstance(live, list) else []
        inner = element_shape(shape)
        for element in applied:
            if not isinstance(element, dict):
                result.append(copy.deepcopy(element))
                continue
            token = key_token(element, shape.keys, shape.key_defaults)
            index = next((i for i, e in enumerate(result)
                          if isinstance(e, dict) and key_token(e, shape.keys, shape.key_defaults) == token), None)
            if index is None:
                result.append(copy.deepcopy(element))
            else:
                result[index] = merge(result[index], element, inner)
        return result
    if shape.kind == "set-list" and isinstance(applied, list):
        members: list[Any] = copy.deepcopy(live) if isinstance(live, list) else []
        for item in applied:
            if item not in members:
                members.append(copy.deepcopy(item))
        return members
    return copy.deepcopy(applied)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entries(obj: dict) -> list[dict]:
    meta = obj.get("metadata")
    entries = meta.get("managedFields") if isinstance(meta, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _set_entries(obj: dict, entries: list[dict]) -> None:
    if obj.get("metadata") is None:
        obj["metadata"] = {}
    meta = obj["metadata"]
    if not isinstance(meta, dict):
        return  # an ill-typed object; validation refuses it
    kept = [e for e in entries if e.get("fieldsV1")]
    if kept:
        meta["managedFields"] = kept
    else:
        meta.pop("managedFields", None)


def _entry(manager: str, operation: str, api_version: str, paths: set[Path], now: str,
           subresource: str = "") -> dict:
    e = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now,
         "fieldsType": "FieldsV1", "fieldsV1": encode(paths)}
    if subresource:
        e["subresource"] = subresource
    return e


def _identity(e: dict) -> tuple[str, str, str]:
    return e.get("manager", ""), e.get("operation", ""), e.get("subresource", "")


def apply_server_side(live: dict | None, applied: dict, rt: ResourceType, manager: str, force: bool = False,
                      now: str | None = None) -> dict:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: the object is created)."""
    if not manager:
        raise PatchError("PATCH requests with application/apply-patch+yaml must set fieldManager", malformed=True)
    if not isinstance(applied, dict):
        raise PatchError("an apply patch must be an object", malformed=True)
    if applied.get("apiVersion") != rt.api_version or applied.get("kind") != rt.kind:
        raise PatchError(f"apply patches must name apiVersion {rt.api_version!r} and kind {rt.kind!r}",
                         malformed=True)
    if not isinstance(applied.get("metadata", {}), dict):
        raise PatchError("metadata of an apply patch must be an object", malformed=True)
    now = now or _now()
    shape = root_shape(rt)
    applied = _strip_nulls(applied)
    applied.get("metadata", {}).pop("managedFields", None)
    current = copy.deepcopy(live) if isinstance(live, dict) else {}
    entries = _entries(current)
    me = (manager, "Apply", "")
    previous = next((decode(e.get("fieldsV1")) for e in entries if _identity(e) == me), set())
    wanted = field_set(applied, shape)

    conflicts: list[tuple[str, Path]] = []
    for e in entries:
        if _identity(e) == me:
            continue
        for path in sorted(wanted & decode(e.get("fieldsV1"))):
            if path[-1].startswith("k:"):
                continue  # sharing a list element is not a conflict; its fields may be
            _, have = get_at(current, path, shape)
            _, want = get_at(applied, path, shape)
            if have != want:
                conflicts.append((describe_manager(e), path))
    if conflicts and not force:
        raise ApplyConflict(conflicts)

    taken = {p for _, p in conflicts}
    updated: list[dict] = []
    for e in entries:
        if _identity(e) == me:
            continue
        if taken:
            e = dict(e)
            e["fieldsV1"] = encode(decode(e.get("fieldsV1")) - taken)
        updated.append(e)
    others: set[Path] = set()
    for e in updated:
        others |= decode(e.get("fieldsV1"))

    result = merge(current, applied, shape)
    removed: list[Path] = []
    for path in sorted(previous - wanted, key=len):
        if any(path[:len(r)] == r for r in removed):
            continue  # inside something already removed
        if any(o[:len(path)] == path for o in others):
            continue  # someone else still owns it (or part of it)
        remove_at(result, path, shape)
        removed.append(path)
    if wanted:
        updated.append(_entry(manager, "Apply", rt.api_version, wanted, now))
    if _without_times(updated) == _without_times(entries) and _content(result) == _content(current):
        updated = entries  # a no-op apply changes nothing, not even a timestamp, so nothing is written
    _set_entries(result, updated)
    return result


def _without_times(entries: list[dict]) -> list[dict]:
    return sorted(({k: v for k, v in e.items() if k != "time"} for e in entries if e.get("fieldsV1")),
                  key=lambda e: (e.get("manager", ""), e.get("operation", ""), e.get("subresource", "")))


def _content(obj: dict) -> dict:
    """The object apart from its managedFields and resourceVersion."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in ("managedFields", "resourceVersion")}
    return {**obj, "metadata": meta}


def record_update(old: dict | None, new: dict, rt: ResourceType, manager: str, now: str | None = None,
                  subresource: str = "") -> None:
    """Give ``manager`` ownership of the fields this non-apply write set or changed (in place on ``new``);
    other managers keep only what they owned that still exists and was not changed."""
    if not manager or not isinstance(new, dict):
        return
    shape = root_shape(rt)
    if old is None:
        changed, removed = set(field_values(new, shape)), set[Path]()
    else:
        changed, removed = changed_paths(old, new, shape)
    if subresource == "status":
        changed = {p for p in changed if p[:1] == ("f:status",)}
    if not changed and not removed:
        return  # nothing changed: ownership and its timestamps stay as they are
    touched = changed | removed
    entries = _entries(new)
    me = (manager, "Update", subresource)
    mine: set[Path] = set()
    updated = []
    for e in entries:
        if _identity(e) == me:
            mine = decode(e.get("fieldsV1"))
            continue
        owned = decode(e.get("fieldsV1"))
        if owned & touched:
            e = dict(e)
            e["fieldsV1"] = encode(owned - touched)
        updated.append(e)
    owned = (mine | changed) - removed
    if owned:
        updated.append(_entry(manager, "Update", rt.api_version, owned, now or _now(), subresource))
    _set_entries(new, updated)
