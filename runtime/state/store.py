"""Records of sandboxes or containers, one directory each, changed only through ``update(fn)``.

``<kind dir>/<id>/record.json`` holds the record. ``update`` takes a per-id lock, reads the
record, lets ``fn`` change the dict, and writes it back atomically, so concurrent CRI calls on
one object serialize and a crash leaves the old or the new record, never a torn one (for a
machine crash: if the write was flushed; see ``UnreadableRecord`` for one that was not). The
daemon keeps no other truth: a restarted daemon lists the directories and knows everything again.

Ids are 64 hex characters; callers may pass any unique prefix, as with crictl and containerd.

Records are read far more often than written (every CRI call and event refreshes one), so the
store keeps the last record it read or wrote for each id, with the file's version: a read whose
``stat`` still shows that version returns the record kept instead of parsing the file again.
Every write replaces the file, so any other writer (none should exist) is noticed too. A read
returns a copy of the top level, which callers may change; nested values (the config, the
spec) are shared and must be left as they are.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtime.atomic_json import read_json, write_json
from runtime.errors import InvalidArgument, NotFound, UnreadableRecord
from runtime.small_file import file_version
from runtime.state import RECORD

UNREADABLE_SUFFIX = ".unreadable"
log = logging.getLogger(__name__)


class RecordStore:
    def __init__(self, directory: Path, kind: str) -> None:
        self.directory = directory
        self._root = str(directory)  # paths built as strings: pathlib's joins cost more than the reads
        self.kind = kind
        directory.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.RLock] = {}
        self._kept: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}
        self._locks_guard = threading.Lock()

    def lock(self, object_id: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(object_id, threading.RLock())

    def path(self, object_id: str) -> Path:
        return self.directory / object_id

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if os.path.exists(self._record(n)))

    def resolve(self, id_or_prefix: str) -> str:
        """The full id for an id or unique prefix; NotFound otherwise."""
        if not id_or_prefix:
            raise InvalidArgument(f"{self.kind} id must not be empty")
        if "/" not in id_or_prefix and os.path.exists(self._record(id_or_prefix)):
            return id_or_prefix
        matches = [i for i in self.ids() if i.startswith(id_or_prefix)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidArgument(f"{self.kind} id prefix {id_or_prefix!r} is ambiguous")
        raise NotFound(f"{self.kind} {id_or_prefix!r} not found")

    def _record(self, object_id: str) -> str:
        return f"{self._root}/{object_id}/{RECORD}"

    def read(self, object_id: str) -> dict[str, Any]:
        version = self.version(object_id)  # before the read: a write in between only costs a re-read
        kept = self._kept.get(object_id)
        if kept is not None and kept[0] == version:
            return dict(kept[1])
        try:
            record = read_json(self._record(object_id))
        except ValueError:  # torn (see UnreadableRecord); writers replace files whole, never part
            raise self._set_aside(object_id) from None
        if record is None:
            raise NotFound(f"{self.kind} {object_id!r} not found")
        if not isinstance(record, dict):
            raise self._set_aside(object_id)
        self._kept[object_id] = (version, dict(record))
        return record

    def _set_aside(self, object_id: str) -> UnreadableRecord:
        """Rename an unreadable record out of the way, so that listing and restarting still work
        for every other object, and keep it for a person to look at."""
        aside = f"{self._record(object_id)}{UNREADABLE_SUFFIX}"
        with contextlib.suppress(FileNotFoundError):  # another reader set it aside first
            os.replace(self._record(object_id), aside)
        self._kept.pop(object_id, None)
        log.error("record unreadable, set aside", extra={self.kind: object_id, "kept_as": aside})
        return UnreadableRecord(
            f"{self.kind} {object_id!r}: its record does not parse (a machine crash may have torn it); "
            f"it was set aside (the runtime's log says where) and the {self.kind} is no longer served"
        )

    def version(self, object_id: str) -> tuple[int, int, int]:
        """What changes whenever the record is rewritten (every write replaces the file): lets
        readers keep what they derived from a record until it changes."""
        try:
            return file_version(self._record(object_id))
        except (FileNotFoundError, NotADirectoryError) as e:
            raise NotFound(f"{self.kind} {object_id!r} not found") from e

    def _keep_written(self, object_id: str, record: dict[str, Any]) -> None:
        try:
            self._kept[object_id] = (self.version(object_id), dict(record))
        except NotFound:
            self._kept.pop(object_id, None)

    def create(self, object_id: str, record: dict[str, Any]) -> Path:
        directory = self.directory / object_id
        directory.mkdir(parents=True)
        write_json(str(directory / RECORD), record)
        self._keep_written(object_id, record)
        return directory

    def update(self, object_id: str, fn: Callable[[dict[str, Any]], None], durable: bool = True,
               before_write: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """``durable=False`` only for changes that can be derived again, after a crash, from
        files that are themselves durable (an exit status the shim recorded): the write is still
        atomic, it only skips the flush. ``before_write(record)`` runs, under the record's lock,
        once ``fn`` has changed it: for news that may go out before the write, because readers
        wait for the lock and a crash loses nothing that cannot be derived again."""
        with self.lock(object_id):
            record = self.read(object_id)
            fn(record)
            if before_write is not None:
                before_write(record)
            write_json(self._record(object_id), record, durable=durable)
            self._keep_written(object_id, record)
            return record

    def delete(self, object_id: str) -> None:
        """Remove the record first (so the object is gone at once), then its directory."""
        directory = f"{self._root}/{object_id}"
        try:
            os.unlink(self._record(object_id))
        except FileNotFoundError:
            pass
        self._kept.pop(object_id, None)
        shutil.rmtree(directory, ignore_errors=True)
        with self._locks_guard:
            self._locks.pop(object_id, None)
