"""A real ``kyb apiserver`` per test module (or per test, for crash tests) for the client's
integration tests, and ``async def`` test support."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import pytest
from client_apiserver_process import ApiServerProcess

ASYNC_TEST_TIMEOUT = 60.0


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**args), ASYNC_TEST_TIMEOUT))
    return True


def _server(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Iterator[ApiServerProcess]:
    server = ApiServerProcess(tmp_path_factory.mktemp("apiserver"), *args)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServerProcess]:
    """One apiserver per test module (tests use their own namespaces), compacting every second and
    sending bookmarks every half second so those paths are exercised quickly."""
    yield from _server(tmp_path_factory, "--compaction-interval", "1", "--watch-bookmark-interval", "0.5")


@pytest.fixture
def private_apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServerProcess]:
    """An apiserver of the test's own, for tests that kill and restart it."""
    yield from _server(tmp_path_factory, "--compaction-interval", "0")
