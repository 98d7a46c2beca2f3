"""Revision-log storage for the apiserver: one contract (interface.py), SQLite and etcd backends."""

from apiserver.storage.interface import (
    Compacted,
    Event,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
    StorageError,
    Store,
    Unavailable,
    open_store,
)

__all__ = [
    "Compacted",
    "Event",
    "FutureRevision",
    "KeyExists",
    "KeyNotFound",
    "KeyValue",
    "RevisionConflict",
    "StorageError",
    "Store",
    "Unavailable",
    "open_store",
]
