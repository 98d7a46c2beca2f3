"""The embedded SQLite backend: a revision log in one WAL-mode file (see sqlite_log.py).

Threads: writes go to one writer thread (sqlite_writer.py, group commit, durable on return);
reads run on a small pool of reader threads, each with its own connection, every read inside
one BEGIN ... COMMIT so that the revision it reports and the rows it returns are one snapshot.

Watch: one poller task per store fans log rows with id > the last id it has seen out to every
watcher whose prefix matches. After a commit by this process the writer hands it the rows it
appended; when they follow the last seen id without a hole they go out as they are, otherwise
(another process wrote in between) the poller reads the table. It also reads the table every
``poll_interval``, which is how writes from other processes sharing the file are picked up.
SQLite serialises writers, ids are assigned under the write lock and become visible in id
order, so reading "id > last" can never skip a row that commits later; the only holes in the
id sequence are rows deleted by compaction. Compaction in this process
waits for the poller to pass the target first; a hole left by another process's compaction
ends the affected watchers with Compacted, the way etcd cancels a watcher that fell behind.

A new watcher registers for live events before it replays history from the table up to the
poller's position, so nothing falls between history and live. A watcher that stops consuming
is cut off from live delivery once its backlog is long and later catches up from the table
(or gets Compacted if the history it needs is gone) instead of holding memory without bound.

Compaction: ``compact(rev)`` records the compact revision, then deletes superseded rows and
tombstones below it in slices. The apiserver drives compaction itself (as Kubernetes does on
etcd); for embedded use without it, ``compact_interval`` starts a background task compacting to
``current - compact_retain`` periodically (kine uses 5 minutes and 1000 revisions).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from apiserver.storage import sqlite_log
from apiserver.storage.interface import (
    Compacted,
    Event,
    FutureRevision,
    KeyValue,
    StorageError,
    Store,
    Unavailable,
)
from apiserver.storage.sqlite_writer import SQLiteWriter

log = logging.getLogger(__name__)

T = TypeVar("T")

_CLOSED = object()
_LAGGED = object()
_BATCH = 1000
_MAX_PENDING_BATCHES = 1000
_COMPACT_SLICE = 1000


class _Watcher:
    """One watch's live inbox; the poller fills it, the watch generator drains it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.lagging = False

    def deliver(self, events: list[Event]) -> None:
        if self.lagging:
            return
        matching = [e for e in events if e.kv.key.startswith(self.prefix)]
        if not matching:
            return
        if self.queue.qsize() >= _MAX_PENDING_BATCHES:
            self.lagging = True
            self.queue.put_nowait(_LAGGED)
            return
        self.queue.put_nowait(matching)


class SQLiteStore(Store):
    def __init__(
        self,
        path: Path | str,
        poll_interval: float = 0.5,
        compact_interval: float | None = None,
        compact_retain: int = 1000,
        reader_threads: int = 3,
    ) -> None:
        self.path = str(path)
        self._poll_interval = poll_interval
        self._compact_interval = compact_interval
        self._compact_retain = compact_retain
        self._readers = ThreadPoolExecutor(max_workers=reader_threads, thread_name_prefix="sqlite-reader")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._writer: SQLiteWriter | None = None
        self._watchers: set[_Watcher] = set()
        self._last_seen = 0
        self._poll_wakeup = asyncio.Event()
        self._advanced = asyncio.Event()
        self._local_rows: list[sqlite_log.Row] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # ---- lifecycle ----

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = SQLiteWriter(self.path, on_commit=self._committed)
        await asyncio.to_thread(self._writer.start)
        self._last_seen = await self._read(sqlite_log.current_revision)
        self._tasks.append(asyncio.create_task(self._poll_loop(), name="sqlite-watch-poller"))
        if self._compact_interval:
            self._tasks.append(asyncio.create_task(self._compact_loop(), name="sqlite-compactor"))
        log.debug("sqlite store started", extra={"path": self.path, "revision": self._last_seen})

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        for w in list(self._watchers):
            w.queue.put_nowait(_CLOSED)
        if self._writer is not None:
            await asyncio.to_thread(self._writer.stop)
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()

    # ---- plumbing ----

    def _committed(self, results: Sequence[Any]) -> None:
        """Called on the writer thread after each durable commit: hand the rows to the poller."""
        rows = [r for r in results if isinstance(r, sqlite_log.Row)]
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._local_commit, rows)
            except RuntimeError:  # loop closed meanwhile
                pass

    def _local_commit(self, rows: Sequence[sqlite_log.Row]) -> None:
        self._local_rows.extend(rows)
        self._poll_wakeup.set()

    def _reader_conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite_log.connect(self.path)
            self._local.conn = conn
            with self._reader_lock:
                self._reader_conns.append(conn)
        return conn

    def _snapshot(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._reader_conn()
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            conn.execute("COMMIT")

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise Unavailable("store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._readers, self._snapshot, fn)
        except sqlite3.Error as e:
            raise Unavailable(f"sqlite read failed: {e}") from e

    async def _write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed or self._writer is None:
            raise Unavailable("store is closed")
        return await self._writer.submit(op)

    # ---- reads ----

    async def current_revision(self) -> int:
        return await self._read(sqlite_log.current_revision)

    async def compacted_revision(self) -> int:
        return await self._read(sqlite_log.compacted_revision)

    async def get(self, key: str, revision: int = 0) -> tuple[KeyValue | None, int]:
        def read(conn: sqlite3.Connection) -> tuple[KeyValue | None, int]:
            rev = sqlite_log.read_revision(conn, revision)
            row = sqlite_log.latest_row(conn, key, rev)
            return (row.key_value() if row is not None and not row.deleted else None), rev

        return await self._read(read)

    async def list(
        self, prefix: str, revision: int = 0, start_key: str = "", limit: int = 0
    ) -> tuple[list[KeyValue], int, bool]:
        def read(conn: sqlite3.Connection) -> tuple[list[KeyValue], int, bool]:
            rev = sqlite_log.read_revision(conn, revision)
            rows = sqlite_log.list_rows(conn, prefix, rev, start_key, limit + 1 if limit > 0 else 0)
            more = limit > 0 and len(rows) > limit
            return [r.key_value() for r in rows[: limit if more else None]], rev, more

        return await self._read(read)

    async def count(self, prefix: str) -> int:
        return await self._read(lambda conn: sqlite_log.count_live(conn, prefix))

    # ---- writes ----

    async def create(self, key: str, value: bytes) -> KeyValue:
        row = await self._write(lambda conn: sqlite_log.insert_create(conn, key, value))
        return row.key_value()

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        row = await self._write(
            lambda conn: sqlite_log.insert_update(conn, key, value, expected_mod_revision)
        )
        return row.key_value()

    async def delete(self, key: str, expected_mod_revision: int = 0) -> KeyValue:
        row = await self._write(lambda conn: sqlite_log.insert_delete(conn, key, expected_mod_revision))
        return row.key_value()

    # ---- compaction ----

    async def compact(self, revision: int) -> None:
        current, compacted = await self._read(
            lambda conn: (sqlite_log.current_revision(conn), sqlite_log.compacted_revision(conn))
        )
        if revision > current:
            raise FutureRevision(revision, current)
        if revision <= compacted:
            return
        await self._wait_poller(revision, timeout=30.0)
        await self._write(lambda conn: sqlite_log.set_compacted(conn, revision))
        deleted = 0
        lo = compacted
        while lo < revision:
            hi = min(lo + _COMPACT_SLICE, revision)
            deleted += await self._write(functools.partial(sqlite_log.delete_superseded, after=lo, upto=hi))
            lo = hi
        log.info("sqlite store compacted", extra={"revision": revision, "rows_deleted": deleted})

    async def _wait_poller(self, revision: int, timeout: float) -> None:
        """Compaction must not delete rows the poller has yet to hand to live watchers."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._last_seen < revision:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise Unavailable(f"watch poller did not reach revision {revision} in {timeout}s")
            self._advanced.clear()
            self._poll_wakeup.set()
            try:
                await asyncio.wait_for(self._advanced.wait(), min(remaining, 0.1))
            except TimeoutError:
                pass

    async def _compact_loop(self) -> None:
        assert self._compact_interval
        while not self._closed:
            await asyncio.sleep(self._compact_interval)
            try:
                target = await self.current_revision() - self._compact_retain
                if target > await self.compacted_revision():
                    await self.compact(target)
            except StorageError as e:
                log.warning("periodic compaction failed", extra={"error": str(e)})

    # ---- watch ----

    async def _poll_loop(self) -> None:
        while not self._closed:
            try:
                async with asyncio.timeout(self._poll_interval):
                    await self._poll_wakeup.wait()
            except TimeoutError:
                pass
            self._poll_wakeup.clear()
            try:
                await self._poll_once()
            except StorageError as e:
                log.warning("watch poll failed", extra={"error": str(e)})
                await asyncio.sleep(self._poll_interval)

    async def _poll_once(self) -> None:
        local = [r for r in self._local_rows if r.id > self._last_seen]
        self._local_rows = []
        if local and all(r.id == self._last_seen + 1 + i for i, r in enumerate(local)):
            # Our own commits, directly after what watchers have: no need to read them back.
            # Rows of other processes in between would show up as a hole here, and the read
            # below picks up theirs and ours together.
            self._dispatch(local)
            return
        while True:
            after = self._last_seen
            rows, compacted, current = await self._read(
                functools.partial(sqlite_log.log_page, after=after, upto=None, limit=_BATCH)
            )
            newest = rows[-1].id if rows else current
            if newest <= after:
                return
            expected = after + 1
            for row in rows or ():
                if row.id != expected:
                    break
                expected += 1
            if expected <= newest and expected <= compacted:
                # Another process compacted rows this poller had not read yet.
                self._fail_watchers(Compacted(expected, compacted, current))
            self._dispatch(rows)
            self._advance(newest)
            if len(rows) < _BATCH:
                return

    def _dispatch(self, rows: Sequence[sqlite_log.Row]) -> None:
        if rows:
            events = [r.event() for r in rows]
            for w in list(self._watchers):
                w.deliver(events)
            self._advance(rows[-1].id)

    def _advance(self, revision: int) -> None:
        if revision > self._last_seen:
            self._last_seen = revision
            self._advanced.set()

    def _fail_watchers(self, error: Compacted) -> None:
        log.warning("watch history compacted by another writer", extra={"error": str(error)})
        for w in list(self._watchers):
            w.queue.put_nowait(error)
            w.lagging = True

    async def _replay(self, prefix: str, start: int, upto: int) -> AsyncIterator[Event]:
        """Events under ``prefix`` with start <= revision <= upto, read from the table."""
        cursor = start
        while cursor <= upto:
            rows, compacted, current = await self._read(
                functools.partial(
                    sqlite_log.log_page, after=cursor - 1, upto=upto, limit=_BATCH, prefix=prefix
                )
            )
            if cursor <= compacted:
                raise Compacted(cursor, compacted, current)
            for row in rows:
                yield row.event()
            if len(rows) < _BATCH:
                return
            cursor = rows[-1].id + 1

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[Event]:
        return self._watch(prefix, start_revision)

    async def _watch(self, prefix: str, start_revision: int) -> AsyncIterator[Event]:
        if self._closed:
            raise Unavailable("store is closed")
        w = _Watcher(prefix)
        upto = self._last_seen  # live delivery covers everything after this, from now on
        self._watchers.add(w)
        try:
            if start_revision == 0:
                # "From now" means after the newest commit, which the poller may not have read yet.
                next_rev = max(upto, await self.current_revision()) + 1
            else:
                next_rev = start_revision
                if start_revision > upto:
                    compacted = await self.compacted_revision()
                    if start_revision <= compacted:
                        raise Compacted(start_revision, compacted, await self.current_revision())
                async for ev in self._replay(prefix, start_revision, upto):
                    yield ev
                next_rev = max(next_rev, upto + 1)
            while True:
                item = await w.queue.get()
                if item is _CLOSED:
                    return
                if isinstance(item, StorageError):
                    raise item
                if item is _LAGGED:
                    upto = self._last_seen
                    w.lagging = False
                    async for ev in self._replay(prefix, next_rev, upto):
                        if ev.revision >= next_rev:
                            next_rev = ev.revision + 1
                            yield ev
                    next_rev = max(next_rev, upto + 1)
                    continue
                for ev in item:
                    if ev.revision >= next_rev:
                        next_rev = ev.revision + 1
                        yield ev
        except Unavailable:
            if self._closed:
                return  # the store closed under a replay: end like any watch on close
            raise
        finally:
            self._watchers.discard(w)
