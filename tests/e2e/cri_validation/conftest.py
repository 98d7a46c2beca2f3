"""One `kyb runtime` per test module (started once, torn down completely), and its CRI client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cri_validation_runtime import Cri, NetworkedKybRuntime


@pytest.fixture(scope="module")
def extra_archives() -> list[Path]:
    """Image archives imported next to busybox before the daemon starts; modules override this."""
    return []


@pytest.fixture(scope="module")
def runtime_args() -> tuple[str, ...]:
    """More `kyb runtime` arguments; modules override this."""
    return ()


@pytest.fixture(scope="module")
def harness(busybox_archive: Path, extra_archives: list[Path], runtime_args: tuple[str, ...]) -> Iterator[NetworkedKybRuntime]:
    if os.geteuid() != 0:
        pytest.fail("the CRI validation tests need root (network namespaces, cgroups, mounts)")
    runtime = NetworkedKybRuntime(extra_args=runtime_args)
    try:
        for archive in (busybox_archive, *extra_archives):
            runtime.import_archive(str(archive))
        runtime.start()
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture(scope="module")
def cri(harness: NetworkedKybRuntime) -> Iterator[Cri]:
    client = Cri(harness)
    try:
        yield client
    finally:
        client.close()
