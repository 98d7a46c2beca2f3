"""Objects on top of the revision-log store: keys, (de)serialisation and guaranteed updates.

The store holds opaque bytes; this layer decides that an object lives at
``/registry/<group|core>/<plural>/[<namespace>/]<name>``, is stored as compact JSON *without*
``metadata.resourceVersion`` (the revision of the write is only known after it), and gets its
``resourceVersion`` from the value's ``mod_revision`` when read back. Every read goes through
``decode`` so that rule holds everywhere, including watch events.

``guaranteed_update`` is the read-modify-write loop every mutating verb uses: read, let the
caller compute the new object, compare-and-swap on the mod_revision, retry on a lost race. A
caller-supplied precondition turns a lost race into 409 Conflict instead of a retry.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Awaitable, Callable
from typing import Any

from apiserver import errors
from apiserver.kinds.registry import ResourceType
from apiserver.storage.interface import KeyExists, KeyNotFound, KeyValue, RevisionConflict, Store
from apiserver.stored_versions import converted, from_storage, storage_prefix, to_storage

_MAX_UPDATE_ATTEMPTS = 16


def type_prefix(rt: ResourceType) -> str:
    return storage_prefix(rt)  # one prefix for every version a kind is served in


def object_prefix(rt: ResourceType, namespace: str = "") -> str:
    """The key prefix of a list: one namespace, or every object of the type."""
    if rt.namespaced and namespace:
        return f"{type_prefix(rt)}{namespace}/"
    return type_prefix(rt)


def object_key(rt: ResourceType, namespace: str, name: str) -> str:
    if rt.namespaced:
        return f"{type_prefix(rt)}{namespace}/{name}"
    return f"{type_prefix(rt)}{name}"


_LEADING_KEYS = ("apiVersion", "kind", "metadata")
_METADATA_KEY = b'"metadata":{'


def encode(obj: dict[str, Any], rt: ResourceType | None = None) -> bytes:
    """Compact JSON with apiVersion, kind, metadata first, so ``with_resource_version`` can splice."""
    if rt is not None and converted(rt):
        obj = to_storage(rt, obj)
    meta = obj.get("metadata") or {}
    rv = meta.pop("resourceVersion", None)
    try:
        ordered = {k: obj[k] for k in _LEADING_KEYS if k in obj}
        ordered.update((k, v) for k, v in obj.items() if k not in ordered)
        return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()
    finally:
        if rv is not None:
            meta["resourceVersion"] = rv


def with_resource_version(value: bytes, revision: int) -> bytes | None:
    """The stored JSON with ``metadata.resourceVersion`` spliced in, without parsing it.

    Only apiVersion and kind (plain strings, where a quote is always escaped) may precede the
    metadata key, so its first occurrence is the top-level one. None if the layout differs.
    """
    i = value.find(_METADATA_KEY, 0, 512)
    if i < 0 or not value.startswith((b'{"apiVersion":', b'{"kind":', b'{"metadata":')):
        return None
    head = value[1:i]
    if head:
        try:
            if not head.endswith(b",") or not set(json.loads(b"{" + head[:-1] + b"}")) <= {"apiVersion", "kind"}:
                return None
        except ValueError:
            return None
    j = i + len(_METADATA_KEY)
    sep = b"" if value[j:j + 1] == b"}" else b","
    return b'%s"resourceVersion":"%d"%s%s' % (value[:j], revision, sep, value[j:])


def decode(kv: KeyValue, rt: ResourceType | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(kv.value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
    if rt is not None and rt.custom:
        # Custom resources are stored once for all versions (conversion strategy None).
        obj["apiVersion"] = rt.api_version
    if rt is not None and converted(rt):
        obj = from_storage(rt, obj)
    return obj


def encode_served(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def resource_version(obj: dict[str, Any]) -> int:
    rv = (obj.get("metadata") or {}).get("resourceVersion") or ""
    return parse_resource_version(rv)


def parse_resource_version(rv: str) -> int:
    if rv in ("", None):
        return 0
    try:
        value = int(rv)
    except (TypeError, ValueError) as e:
        raise errors.BadRequest(f'invalid resource version "{rv}"') from e
    if value < 0:
        raise errors.BadRequest(f'invalid resource version "{rv}"')
    return value


UpdateFn = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


class ObjectStore:
    """Typed object CRUD for one apiserver; all methods raise ``errors.APIError`` subclasses."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, rt: ResourceType, namespace: str, name: str, revision: int = 0) -> dict[str, Any]:
        kv, _ = await self.store.get(object_key(rt, namespace, name), revision)
        if kv is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return decode(kv, rt)

    async def try_get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        kv, _ = await self.store.get(object_key(rt, namespace, name))
        return decode(kv, rt) if kv is not None else None

    async def list(
        self, rt: ResourceType, namespace: str = "", revision: int = 0, start_key: str = "", limit: int = 0
    ) -> tuple[builtins.list[tuple[str, dict[str, Any]]], int, bool]:
        """(key, object) pairs under the type (or one namespace), the revision, and whether more remain."""
        kvs, rev, more = await self.store.list(object_prefix(rt, namespace), revision, start_key, limit)
        return [(kv.key, decode(kv, rt)) for kv in kvs], rev, more

    async def list_raw(
        self, rt: ResourceType, namespace: str = "", revision: int = 0, start_key: str = "", limit: int = 0
    ) -> tuple[builtins.list[tuple[str, bytes]], int, bool]:
        """Like ``list`` but the objects as JSON bytes, for lists served without filtering."""
        kvs, rev, more = await self.store.list(object_prefix(rt, namespace), revision, start_key, limit)
        out = []
        for kv in kvs:
            raw = None if rt.custom or converted(rt) else with_resource_version(kv.value, kv.mod_revision)
            out.append((kv.key, raw if raw is not None else encode_served(decode(kv, rt))))
        return out, rev, more

    async def create(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        key = object_key(rt, meta.get("namespace", ""), meta["name"])
        try:
            kv = await self.store.create(key, encode(obj, rt))
        except KeyExists as e:
            raise errors.already_exists(rt.plural, rt.group, meta["name"]) from e
        return decode(kv, rt)

    async def delete(self, rt: ResourceType, namespace: str, name: str, expected_rv: int) -> dict[str, Any]:
        try:
            kv = await self.store.delete(object_key(rt, namespace, name), expected_rv)
        except KeyNotFound as e:
            raise errors.not_found(rt.plural, rt.group, name) from e
        except RevisionConflict as e:
            raise errors.conflict(rt.plural, rt.group, name, errors.STALE_OBJECT) from e
        return decode(kv, rt)

    async def guaranteed_update(
        self, rt: ResourceType, namespace: str, name: str, fn: UpdateFn, precondition_rv: int = 0,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(old, new) after applying ``fn`` to the current object and storing the result.

        ``fn`` gets a fresh copy each attempt and returns the new object, or None for "no
        change". An unchanged object is not written (no new revision), as upstream does.
        """
        key = object_key(rt, namespace, name)
        for _ in range(_MAX_UPDATE_ATTEMPTS):
            kv, _rev = await self.store.get(key)
            if kv is None:
                raise errors.not_found(rt.plural, rt.group, name)
            if precondition_rv and kv.mod_revision != precondition_rv:
                raise errors.conflict(rt.plural, rt.group, name, errors.STALE_OBJECT)
            old = decode(kv, rt)
            new = await fn(decode(kv, rt))
            if new is None or _same(new, old):
                return old, old
            if dry_run:
                return old, new
            try:
                stored = await self.store.update(key, encode(new, rt), kv.mod_revision)
            except RevisionConflict as e:
                if precondition_rv:
                    raise errors.conflict(rt.plural, rt.group, name, errors.STALE_OBJECT) from e
                continue
            except KeyNotFound as e:
                raise errors.not_found(rt.plural, rt.group, name) from e
            return old, decode(stored, rt)
        raise errors.conflict(rt.plural, rt.group, name, "too many concurrent writers; try again")


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal apart from resourceVersion (dict equality ignores key order)."""
    ma, mb = dict(a.get("metadata") or {}), dict(b.get("metadata") or {})
    ma.pop("resourceVersion", None)
    mb.pop("resourceVersion", None)
    return ma == mb and {k: v for k, v in a.items() if k != "metadata"} == {
        k: v for k, v in b.items() if k != "metadata"}
