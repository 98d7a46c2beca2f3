"""Fixtures: one real `kyb apiserver` (SQLite, temp data dir, free loopback port) per test module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from apiserver_process import ApiserverProcess, start_apiserver, stop_apiserver


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiserverProcess]:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not on PATH (Debian: apt-get install kubernetes-client)")
    server = start_apiserver(tmp_path_factory.mktemp("kyb-apiserver"))
    try:
        yield server
    finally:
        stop_apiserver(server)
