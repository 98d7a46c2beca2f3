"""An informer's local cache: objects by key, plus secondary indexes kept in step.

An index function maps an object to the values it is filed under (``by_namespace`` -> ``["ns"]``,
``by_node_name`` -> ``["node-1"]``, ``by_owner_uid`` -> one value per owner). ``by_index(name,
value)`` then answers "all pods on node-1" without a scan, which is how the kubelet, scheduler and
garbage collector stay cheap as the cluster grows.

Concurrency: the cache is only touched from the event loop, and every method is synchronous (no
``await`` inside), so each call is atomic with respect to other tasks: a reader never sees an
object half-indexed. It is not safe across threads.

The objects are shared with every reader (see ``client.objects`` on copies): ``get`` and
``list`` hand out the stored dicts themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from client.labels import Selector
from client.objects import controller_of, labels_of, namespace_of, object_key, owner_references

IndexFunc = Callable[[Mapping[str, Any]], Iterable[str]]

NAMESPACE_INDEX = "namespace"
NODE_NAME_INDEX = "spec.nodeName"
OWNER_UID_INDEX = "owner.uid"
CONTROLLER_UID_INDEX = "controller.uid"


def by_namespace(obj: Mapping[str, Any]) -> list[str]:
    return [namespace_of(obj)]


def by_node_name(obj: Mapping[str, Any]) -> list[str]:
    """Pods by the node they are bound to; unbound pods are filed under ``""``."""
    return [str((obj.get("spec") or {}).get("nodeName") or "")]


def by_owner_uid(obj: Mapping[str, Any]) -> list[str]:
    return [str(ref.get("uid")) for ref in owner_references(obj) if ref.get("uid")]


def by_controller_uid(obj: Mapping[str, Any]) -> list[str]:
    ref = controller_of(obj)
    return [str(ref["uid"])] if ref and ref.get("uid") else []


class Indexer:
    """Objects by key with named secondary indexes; all updates go through add/update/delete/replace."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None,
                 key_func: Callable[[Mapping[str, Any]], str] = object_key) -> None:
        self._key_func = key_func
        self._items: dict[str, dict[str, Any]] = {}
        self._index_funcs: dict[str, IndexFunc] = {NAMESPACE_INDEX: by_namespace, **(indexers or {})}
        # index name -> indexed value -> keys
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._index_funcs}

    # -- writes --------------------------------------------------------------------------------

    def add_indexer(self, name: str, func: IndexFunc) -> None:
        """Add an index; existing objects are filed at once."""
        if name in self._index_funcs:
            raise ValueError(f"index {name!r} already exists")
        self._index_funcs[name] = func
        self._indices[name] = {}
        for key, obj in self._items.items():
            self._file(name, key, obj)

    def add(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Store ``obj`` (insert or replace); returns the object it replaced, if any."""
        key = self._key_func(obj)
        old = self._items.get(key)
        if old is not None:
            self._unfile_all(key, old)
        self._items[key] = obj
        for name in self._index_funcs:
            self._file(name, key, obj)
        return old

    update = add

    def delete(self, obj_or_key: Mapping[str, Any] | str) -> dict[str, Any] | None:
        """Remove by object or key; returns what was stored (None when it was not there)."""
        key = obj_or_key if isinstance(obj_or_key, str) else self._key_func(obj_or_key)
        old = self._items.pop(key, None)
        if old is not None:
            self._unfile_all(key, old)
        return old

    def replace(self, objects: Iterable[dict[str, Any]]) -> None:
        """Swap the whole content for ``objects`` (what a fresh list says exists)."""
        self._items = {}
        self._indices = {name: {} for name in self._index_funcs}
        for obj in objects:
            self.add(obj)

    def _file(self, index: str, key: str, obj: Mapping[str, Any]) -> None:
        for value in self._index_funcs[index](obj):
            self._indices[index].setdefault(value, set()).add(key)

    def _unfile_all(self, key: str, obj: Mapping[str, Any]) -> None:
        for index, func in self._index_funcs.items():
            bucket = self._indices[index]
            for value in func(obj):
                keys = bucket.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del bucket[value]

    # -- reads ---------------------------------------------------------------------------------

    def key_of(self, obj: Mapping[str, Any]) -> str:
        return self._key_func(obj)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._items.get(key)

    def get_for(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._items.get(self._key_func(obj))

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return list(self._items)

    def index_names(self) -> list[str]:
        return list(self._index_funcs)

    def index_keys(self, index: str, value: str) -> list[str]:
        if index not in self._indices:
            raise KeyError(f"no index named {index!r}; have {sorted(self._indices)}")
        return sorted(self._indices[index].get(value, ()))

    def by_index(self, index: str, value: str) -> list[dict[str, Any]]:
        return [self._items[k] for k in self.index_keys(index, value)]

    def index_values(self, index: str) -> list[str]:
        """The values anything is filed under in ``index`` (e.g. every node that has pods)."""
        if index not in self._indices:
            raise KeyError(f"no index named {index!r}; have {sorted(self._indices)}")
        return sorted(self._indices[index])

    # Last in the class: once defined, ``list`` in later annotations would name this method.
    def list(self, namespace: str | None = None, selector: Selector | None = None) -> list[dict[str, Any]]:
        """Every object, or those in one namespace (through the namespace index), optionally only
        those whose labels ``selector`` matches (what a controller asks of its pods)."""
        objs = list(self._items.values()) if namespace is None else self.by_index(NAMESPACE_INDEX, namespace)
        if selector is None:
            return objs
        return [o for o in objs if selector.matches(labels_of(o))]
