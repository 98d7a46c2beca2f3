"""Fixtures: one in-process apiserver per test module (see apiserver_harness)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apiserver_harness import RunningServer, start_server


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("apiserver"), bookmark_interval=0.5)
    try:
        yield server
    finally:
        server.stop()
