"""The single writer of the SQLite backend: one thread, one connection, group commit.

SQLite allows one writer at a time anyway, so all writes of a process go through one thread.
It takes whatever writes are queued (up to a batch limit), runs them in one BEGIN IMMEDIATE
transaction, each inside its own SAVEPOINT so a failed compare-and-swap undoes only itself,
and commits once. With ``synchronous=FULL`` that commit is one fsync of the WAL for the whole
batch, and only after it returns does any caller get its answer: an acknowledged write is on
disk. Under concurrency this turns N fsyncs into one; alone, a write costs one commit.

Ids are handed out inside the write lock and become visible at commit, in id order, so readers
(the watch poller included) never see a higher revision before a lower one. After each commit
``on_commit`` gets the results of the batch's successful writes, in commit order.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from apiserver.storage import sqlite_log
from apiserver.storage.interface import StorageError, Unavailable

log = logging.getLogger(__name__)

WriteOp = Callable[[sqlite3.Connection], Any]

_STOP = object()


class SQLiteWriter:
    def __init__(self, path: str, on_commit: Callable[[list[Any]], None], max_batch: int = 256) -> None:
        self._path = path
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"sqlite-writer:{path}", daemon=True)
        self._conn: sqlite3.Connection | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            raise Unavailable(f"cannot open {self._path}: {self._start_error}") from self._start_error

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=30)

    async def submit(self, op: WriteOp) -> Any:
        """Run ``op`` in the next transaction; return its result once the commit is durable."""
        if not self._thread.is_alive():
            raise Unavailable("the SQLite writer is not running")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._queue.put((op, loop, fut))
        return await fut

    def _run(self) -> None:
        try:
            self._conn = sqlite_log.connect(self._path)
            sqlite_log.create_schema(self._conn)
        except BaseException as e:  # reported to start()
            self._start_error = e
            self._started.set()
            return
        self._started.set()
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch = [first]
                stop = False
                while len(batch) < self._max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)
                try:
                    self._commit_batch(batch)
                except Exception as e:  # the writer must outlive one bad batch
                    log.exception("sqlite writer batch failed", extra={"path": self._path})
                    if self._conn.in_transaction:
                        try:
                            self._conn.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass
                    for _, loop, fut in batch:
                        _answer(loop, fut, None, Unavailable(f"sqlite write failed: {e}"))
                if stop:
                    return
        finally:
            self._conn.close()

    def _commit_batch(
        self, batch: list[tuple[WriteOp, asyncio.AbstractEventLoop, asyncio.Future[Any]]]
    ) -> None:
        conn = self._conn
        assert conn is not None
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op, _, _ in batch:
                conn.execute("SAVEPOINT write_op")
                try:
                    result = op(conn)
                except Exception as e:  # one failed op must not fail its batch
                    conn.execute("ROLLBACK TO write_op")
                    conn.execute("RELEASE write_op")
                    outcomes.append((None, _as_storage_error(e)))
                else:
                    conn.execute("RELEASE write_op")
                    outcomes.append((result, None))
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            log.error("sqlite write transaction failed", extra={"path": self._path, "error": str(e)})
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            err = Unavailable(f"sqlite write failed: {e}")
            err.__cause__ = e
            outcomes = [(None, err)] * len(batch)
        else:
            self._on_commit([result for result, error in outcomes if error is None])
        for (_, loop, fut), (result, error) in zip(batch, outcomes, strict=True):
            _answer(loop, fut, result, error)


def _as_storage_error(e: Exception) -> StorageError:
    if isinstance(e, StorageError):
        return e
    err = Unavailable(f"sqlite write failed: {e}")
    err.__cause__ = e
    return err


def _answer(
    loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any], result: Any, error: BaseException | None
) -> None:
    try:
        loop.call_soon_threadsafe(_resolve, fut, result, error)
    except RuntimeError:  # the caller's event loop is gone; nobody is waiting any more
        pass


def _resolve(fut: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if fut.done():  # the caller was cancelled; the write still happened
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)
