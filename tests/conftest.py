"""Fixtures shared by the whole test suite.

``busybox_archive`` is built once per test run, even when pytest-xdist runs many workers: the
workers share one directory (the parent of their per-worker temp dirs) and the first to take
an exclusive flock(2) builds the archive; the others wait on the lock and then find it there.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.images.busybox import build_busybox_archive
from runtime.images.store import ImageStore


def _run_shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every worker of this test run sees (and only this run)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def busybox_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Path of the offline busybox OCI archive (docker.io/library/busybox:latest)."""
    shared = _run_shared_dir(tmp_path_factory)
    archive = shared / "busybox-oci.tar"
    with open(shared / "busybox-oci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not archive.exists():
                build_busybox_archive(archive)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield archive


@pytest.fixture
def image_root(tmp_path: Path, busybox_archive: Path) -> Path:
    """A fresh image store root (what ``ImageStore`` takes) with busybox:latest imported."""
    root = tmp_path / "images"
    ImageStore(root).import_archive(busybox_archive)
    return root
