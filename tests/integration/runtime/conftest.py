"""Fixtures for the runtime integration tests; the harness itself is in runtime_harness.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_harness import POD_CIDR, RuntimeUnderTest

from cri.client import RuntimeClient


@pytest.fixture
def runtime(tmp_path: Path, busybox_archive: Path) -> Iterator[RuntimeUnderTest]:
    rt = RuntimeUnderTest(tmp_path, busybox_archive)
    try:
        rt.start()
        yield rt
    finally:
        rt.teardown()


@pytest.fixture
def networked(tmp_path: Path, busybox_archive: Path) -> Iterator[RuntimeUnderTest]:
    """A runtime whose pods get an eth0 on a bridge (each runtime has a network namespace of its
    own, so every test may use the same CIDR)."""
    rt = RuntimeUnderTest(tmp_path, busybox_archive, extra_args=("--pod-cidr", POD_CIDR, "--cluster-cidr", "10.244.0.0/16"))
    try:
        rt.start()
        yield rt
    finally:
        rt.teardown()


@pytest.fixture
def cri(runtime: RuntimeUnderTest) -> RuntimeClient:
    assert runtime.client is not None
    return runtime.client
