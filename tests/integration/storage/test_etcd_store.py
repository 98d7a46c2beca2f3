"""etcd backend behaviour beyond the shared contract: reaching etcd, and losing it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from apiserver.storage.etcd import EtcdStore
from apiserver.storage.etcd_process import EtcdProcess, free_port
from apiserver.storage.interface import Unavailable, open_store


def test_open_store_with_an_etcd_url_talks_to_that_etcd(etcd_server: EtcdProcess, tmp_path: Path):
    async def scenario() -> None:
        store = open_store(etcd_server.datastore, tmp_path)
        await store.start()
        try:
            kv = await store.create("/open-store-check/a", b"1")
            assert (await store.get("/open-store-check/a"))[0] == kv
        finally:
            await store.close()

    asyncio.run(scenario())


def test_starting_against_an_unreachable_etcd_raises_unavailable():
    async def scenario() -> None:
        store = EtcdStore([("127.0.0.1", free_port())], timeout=1.0)
        with pytest.raises(Unavailable):
            await store.start()

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_requests_and_watches_fail_with_unavailable_when_etcd_dies(tmp_path: Path):
    server = EtcdProcess(tmp_path / "etcd")
    server.start()

    async def scenario() -> None:
        store = EtcdStore([("127.0.0.1", server.client_port)], timeout=2.0)
        await store.start()
        try:
            await store.create("/dying/a", b"1")
            watch = store.watch("/dying/", 0)
            pending = asyncio.ensure_future(anext(watch))
            await asyncio.sleep(0.5)
            await asyncio.to_thread(server.stop)
            with pytest.raises(Unavailable):
                await asyncio.wait_for(pending, 10)
            with pytest.raises(Unavailable):
                await store.create("/dying/b", b"2")
        finally:
            await store.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        server.stop()


def test_a_dead_endpoint_in_the_list_is_skipped_for_a_live_one(etcd_server: EtcdProcess):
    async def scenario() -> None:
        store = EtcdStore([("127.0.0.1", free_port()), ("127.0.0.1", etcd_server.client_port)], timeout=5.0)
        await store.start()
        try:
            kv = await store.create("/failover-check/a", b"1")
            assert (await store.get("/failover-check/a"))[0] == kv
        finally:
            await store.close()

    asyncio.run(asyncio.wait_for(scenario(), 20))
