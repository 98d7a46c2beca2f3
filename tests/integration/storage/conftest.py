"""Fixtures for the storage suite: every contract test runs once per backend.

etcd is Debian's etcd-server, started once per test session (per xdist worker) on free loopback
ports in a temporary data dir and killed at the end. Tests sharing it keep apart by writing
under a key prefix unique to the test, and never assume absolute revisions.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from apiserver.storage.etcd import EtcdStore
from apiserver.storage.etcd_process import EtcdProcess
from apiserver.storage.interface import Store
from apiserver.storage.sqlite import SQLiteStore


@pytest.fixture(scope="session")
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdProcess]:
    server = EtcdProcess(tmp_path_factory.mktemp("etcd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Backend:
    """Opens stores of one backend and runs an async scenario against them."""

    def __init__(self, name: str, make: Callable[[], Store], prefix: str) -> None:
        self.name = name
        self.make = make
        self.prefix = prefix  # unique to the test: "/t-<hex>/"

    def key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)

    def run(self, scenario: Callable[..., Awaitable[None]], stores: int = 1, timeout: float = 30.0) -> None:
        async def main() -> None:
            opened: list[Store] = []
            try:
                for _ in range(stores):
                    store = self.make()
                    await store.start()
                    opened.append(store)
                await asyncio.wait_for(scenario(*opened), timeout)
            finally:
                for store in opened:
                    await store.close()

        asyncio.run(main())


@pytest.fixture(params=["sqlite", "etcd"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    prefix = f"/t-{uuid.uuid4().hex[:12]}/"
    if request.param == "sqlite":
        path = tmp_path / "state.db"
        return Backend("sqlite", lambda: SQLiteStore(path, poll_interval=0.05, compact_interval=None), prefix)
    server: EtcdProcess = request.getfixturevalue("etcd_server")
    return Backend("etcd", lambda: EtcdStore([("127.0.0.1", server.client_port)]), prefix)
