"""Revision-log storage for the apiserver: one contract, two backends.

- ``interface.py``: the Store contract (KeyValue, Event, the error tree, ``open_store``).
- ``sqlite.py`` over ``sqlite_log.py`` (SQL) and ``sqlite_writer.py`` (the one writer thread):
  the embedded default, a kine-style append-only table in one WAL-mode file.
- ``etcd.py``: etcd's v3 gRPC API; ``etcd_process.py`` runs a loopback etcd for tests/benches.

Durability: a write returns only after its transaction is committed. SQLite runs with
``journal_mode=WAL`` and ``synchronous=FULL``, so the commit has fsynced the WAL: the write
survives a process kill and a power loss. (``NORMAL`` would fsync only at checkpoints and could
lose the newest commits on power loss; we do not use it.) Writers that arrive together share one
commit and one fsync (group commit), which is why the store can beat a naive one-fsync-per-row
writer. On etcd, a write returns after the Raft entry is committed and applied, which etcd
fsyncs to its WAL before acknowledging.

Compaction is driven by the caller (the apiserver's compactor calls ``compact``), on both
backends alike.
"""

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
