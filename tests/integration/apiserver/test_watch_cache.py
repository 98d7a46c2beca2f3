"""The watch cache: many watchers from one store watch, memory for recent starts, store for old ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

from apiserver.storage.sqlite import SQLiteStore
from apiserver.watch_cache import WatchCache

PREFIX = "/registry/core/configmaps/"


def run(tmp: Path, scenario) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp / "state.db")
        await store.start()
        cache = WatchCache(store, capacity=4)
        await cache.start()
        try:
            await asyncio.wait_for(scenario(store, cache), 20)
        finally:
            await cache.close()
            await store.close()

    asyncio.run(main())


async def _write(store: SQLiteStore, n: int, start: int = 0) -> list[int]:
    revs = []
    for i in range(start, start + n):
        kv = await store.create(f"{PREFIX}ns/c{i}", b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}')
        revs.append(kv.mod_revision)
    return revs


async def _drain(stream, count: int) -> list[int]:
    got = []
    while len(got) < count:
        ev = await stream.get(5)
        assert ev is not None, f"only {len(got)} of {count} events arrived"
        got.append(ev.revision)
    return got


def test_recent_starts_are_served_from_memory_in_order(tmp_path: Path) -> None:
    async def scenario(store, cache) -> None:
        revs = await _write(store, 3)
        while cache.progress < revs[-1]:
            await asyncio.sleep(0.01)
        stream = cache.open_stream(PREFIX, PREFIX, revs[0])
        assert stream.cached
        assert await _drain(stream, 2) == revs[1:]
        more = await _write(store, 2, 10)
        assert await _drain(stream, 2) == more
        stream.close()

    run(tmp_path, scenario)


def test_starts_older_than_the_ring_fall_back_to_the_store(tmp_path: Path) -> None:
    async def scenario(store, cache) -> None:
        revs = await _write(store, 8)
        while cache.progress < revs[-1]:
            await asyncio.sleep(0.01)
        stream = cache.open_stream(PREFIX, PREFIX, revs[0])
        assert not stream.cached
        assert await _drain(stream, 7) == revs[1:]
        stream.close()

    run(tmp_path, scenario)


def test_one_store_event_reaches_every_watcher_under_its_prefix(tmp_path: Path) -> None:
    async def scenario(store, cache) -> None:
        start = await store.current_revision()
        streams = [cache.open_stream(PREFIX, PREFIX, start) for _ in range(50)]
        other = cache.open_stream(PREFIX, PREFIX + "elsewhere/", start)
        revs = await _write(store, 2)
        for s in streams:
            assert await _drain(s, 2) == revs
        assert await other.get(0.2) is None
        for s in [*streams, other]:
            s.close()

    run(tmp_path, scenario)
