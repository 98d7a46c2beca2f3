"""Fixtures for the runtime integration tests; the harness itself is in runtime_harness.py."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_harness import POD_CIDR, RuntimeUnderTest

from cri.client import RuntimeClient
from runtime.cgroups import detect_version
from runtime.cgroups.v1 import V1Driver


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


@pytest.fixture
def v1_top() -> Iterator[tuple[V1Driver, str]]:
    """The machine's cgroup v1 driver and a fresh top-level cgroup path, removed with all below it."""
    if detect_version() != 1:
        pytest.skip("this machine mounts cgroup v2 at /sys/fs/cgroup")
    driver = V1Driver.from_mountinfo()
    top = f"/kybt-v1-{secrets.token_hex(4)}"
    try:
        yield driver, top
    finally:
        driver.remove(top)
