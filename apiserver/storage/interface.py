"""The storage contract the apiserver codes against.

The store is a revision log, the way k3s's kine and etcd model it: every create, update and
delete is one write with a new, strictly increasing, cluster-wide revision. A value's
``mod_revision`` becomes the object's ``metadata.resourceVersion``; reads can be pinned to a
revision; watches replay the log from a revision and then follow it live. Old revisions are
compacted away, after which asking for them raises ``Compacted`` (HTTP 410 Gone upstairs).

Backends (SQLite, etcd) implement ``Store`` and pass one shared contract suite, so the apiserver
never knows which one it runs on. Values are opaque bytes: the apiserver serialises objects and
writes ``resourceVersion`` itself from the revisions returned here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int  # the revision of the write that produced this value (-> resourceVersion)


@dataclass(frozen=True)
class Event:
    type: Literal["PUT", "DELETE"]
    kv: KeyValue  # for DELETE: the last value, with mod_revision = the delete's revision
    prev_kv: KeyValue | None  # for PUT: the previous value if it was an update, else None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


class StorageError(Exception):
    """Root of every error a store raises; the apiserver maps subclasses to HTTP codes."""


class KeyExists(StorageError):
    """Create of a key that already holds a live value."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} already exists")
        self.key = key


class KeyNotFound(StorageError):
    """Update or delete of a key that holds no live value."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} not found")
        self.key = key


class RevisionConflict(StorageError):
    """The caller's expected mod_revision is stale; ``current`` is what the store holds now."""

    def __init__(self, key: str, expected: int, current: KeyValue) -> None:
        super().__init__(f"key {key!r}: expected mod_revision {expected}, current is {current.mod_revision}")
        self.key = key
        self.expected = expected
        self.current = current


class Compacted(StorageError):
    """A revision at or below the compacted revision was asked for; the history is gone."""

    def __init__(self, requested: int, compact_revision: int, current_revision: int) -> None:
        super().__init__(
            f"revision {requested} has been compacted (compacted revision {compact_revision},"
            f" current revision {current_revision})"
        )
        self.requested = requested
        self.compact_revision = compact_revision
        self.current_revision = current_revision


class FutureRevision(StorageError):
    """A read was pinned to a revision the store has not reached yet."""

    def __init__(self, requested: int, current_revision: int) -> None:
        super().__init__(f"revision {requested} is newer than the current revision {current_revision}")
        self.requested = requested
        self.current_revision = current_revision


class Unavailable(StorageError):
    """The backend cannot be reached or failed to answer; the request may be retried."""


class Store(ABC):
    """A revision-log key-value store. All methods are safe to call concurrently."""

    @abstractmethod
    async def start(self) -> None:
        """Open connections, create schema, start background pollers."""

    @abstractmethod
    async def close(self) -> None:
        """Stop background work and end every open watch."""

    @abstractmethod
    async def current_revision(self) -> int:
        """The revision of the newest write (0 for an empty store)."""

    @abstractmethod
    async def get(self, key: str, revision: int = 0) -> tuple[KeyValue | None, int]:
        """The value of ``key`` at ``revision`` (0 = latest) and the revision the read was made at."""

    @abstractmethod
    async def list(
        self, prefix: str, revision: int = 0, start_key: str = "", limit: int = 0
    ) -> tuple[list[KeyValue], int, bool]:
        """Live values under ``prefix`` with key >= ``start_key``, sorted by key.

        Returns (items, revision read at, more): ``more`` says items were left off by ``limit``;
        continue with ``start_key`` just after the last key and the same revision.
        """

    @abstractmethod
    async def count(self, prefix: str) -> int:
        """The number of live keys under ``prefix`` at the latest revision."""

    @abstractmethod
    async def create(self, key: str, value: bytes) -> KeyValue:
        """Write a new key; raises KeyExists if it holds a live value."""

    @abstractmethod
    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        """Replace a live value; ``expected_mod_revision`` 0 means unconditional.

        Raises KeyNotFound if the key is absent, RevisionConflict if the expectation is stale.
        """

    @abstractmethod
    async def delete(self, key: str, expected_mod_revision: int = 0) -> KeyValue:
        """Delete a live key; returns its last value with mod_revision = the delete's revision."""

    @abstractmethod
    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[Event]:
        """Every event under ``prefix`` with revision >= ``start_revision``, in order, then live.

        ``start_revision`` 0 means only writes after the call. Raises Compacted at the first
        iteration if ``start_revision`` is at or below the compacted revision, and later if the
        watcher is still replaying history that a compaction removes (as etcd does); the caller
        re-lists and watches again. Raises Unavailable if the backend goes away. Runs until the
        iterator is closed or cancelled, or the store is closed (then it just ends).
        """

    @abstractmethod
    async def compact(self, revision: int) -> None:
        """Forget history before ``revision``.

        Afterwards get/list pinned below ``revision`` and watches starting at or below it raise
        Compacted; the state at ``revision`` itself stays readable (as in etcd).
        """

    @abstractmethod
    async def compacted_revision(self) -> int:
        """The revision of the last compaction (0 if never compacted)."""


def open_store(datastore: str, data_dir: Path) -> Store:
    """Build the store a ``--datastore`` value names: "sqlite" or "etcd://host:port[,host:port]"."""
    from apiserver.storage.factory import open_store as _open

    return _open(datastore, data_dir)
