"""SQLite backend across processes: acknowledged writes survive SIGKILL, and a store sees the
writes another process makes to the same file (through its poller)."""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from apiserver.storage.sqlite import SQLiteStore

WRITER = """
import asyncio, sys
from apiserver.storage.sqlite import SQLiteStore

async def writer(store, lane, count):
    for i in range(count):
        kv = await store.create(f"/registry/pods/ns/{lane}-{i:06d}", b'{"lane": %d}' % lane)
        print(f"ACK {kv.key} {kv.mod_revision}", flush=True)

async def main(path, lanes, count):
    store = SQLiteStore(path, compact_interval=None)
    await store.start()
    await asyncio.gather(*(writer(store, lane, count) for lane in range(lanes)))
    await store.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def start_writer(path: Path, lanes: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(lanes), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )


def read_acks(proc: subprocess.Popen[str], want: int, timeout: float) -> dict[str, int]:
    acks: dict[str, int] = {}
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while len(acks) < want and time.monotonic() < deadline:
        if not sel.select(timeout=0.5):
            continue
        line = proc.stdout.readline()
        if not line:
            break
        _, key, rev = line.split()
        acks[key] = int(rev)
    return acks


def test_writes_acknowledged_before_sigkill_are_there_after_reopening(tmp_path: Path):
    path = tmp_path / "state.db"
    proc = start_writer(path, lanes=4, count=100_000)
    try:
        acks = read_acks(proc, want=300, timeout=30)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: more writes are in flight
        proc.wait(timeout=10)
        # lines the child printed before dying are acknowledgements too
        assert proc.stdout is not None
        for line in proc.stdout.read().splitlines():
            _, key, rev = line.split()
            acks[key] = int(rev)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert len(acks) >= 300, proc.stderr.read() if proc.stderr else ""

    async def check() -> None:
        store = SQLiteStore(path, compact_interval=None)
        await store.start()
        try:
            items, _, _ = await store.list("/registry/pods/")
            stored = {kv.key: kv.mod_revision for kv in items}
            missing = {k: r for k, r in acks.items() if stored.get(k) != r}
            assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {list(missing.items())[:3]}"
            revs = sorted(stored.values())
            assert len(revs) == len(set(revs))
        finally:
            await store.close()

    asyncio.run(asyncio.wait_for(check(), 30))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_store_watch_sees_writes_made_by_another_process_on_the_same_file(tmp_path: Path):
    path = tmp_path / "state.db"

    async def scenario() -> None:
        store = SQLiteStore(path, poll_interval=0.05, compact_interval=None)
        await store.start()
        try:
            start = await store.current_revision() + 1
            watch = store.watch("/registry/pods/", start)
            proc = await asyncio.to_thread(start_writer, path, 2, 25)
            try:
                events = []
                async with asyncio.timeout(20):
                    async for ev in watch:
                        events.append(ev)
                        if len(events) == 50:
                            break
            finally:
                await asyncio.to_thread(proc.wait, 20)
            revs = [e.revision for e in events]
            assert revs == list(range(start, start + 50))
            assert all(e.type == "PUT" for e in events)
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_watcher_that_stops_reading_catches_up_from_the_log_without_gaps(tmp_path: Path, monkeypatch):
    import apiserver.storage.sqlite as sqlite_backend

    monkeypatch.setattr(sqlite_backend, "_MAX_PENDING_BATCHES", 5)

    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "state.db", compact_interval=None)
        await store.start()
        try:
            start = await store.current_revision() + 1
            watch = store.watch("/registry/", start)
            first = await asyncio.wait_for(asyncio.ensure_future(_first_after_write(store, watch)), 10)
            for i in range(60):  # one write at a time: one live batch each, far past the limit
                await store.create(f"/registry/k{i:03d}", b"v")
                await asyncio.sleep(0.005)
            rest = []
            async with asyncio.timeout(10):
                async for ev in watch:
                    rest.append(ev)
                    if len(rest) == 60:
                        break
            assert [e.revision for e in [first, *rest]] == list(range(start, start + 61))
        finally:
            await store.close()

    asyncio.run(scenario())


async def _first_after_write(store: SQLiteStore, watch):
    pending = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(0.1)
    await store.create("/registry/first", b"v")
    return await pending
