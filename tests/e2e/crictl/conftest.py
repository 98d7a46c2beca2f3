"""Fixtures for the `kyb cri` end-to-end tests: one module-scoped runtime per kind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from crictl_runtimes import BUSYBOX, RuntimeUnderTest, start_containerd, start_kyb

from bench.references import busybox_image


@pytest.fixture(scope="module")
def busybox_image_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """busybox as an OCI archive whose hard-linked applets carry the binary's 0755 mode.

    containerd applies a hard link's header mode to the shared inode, so every applet entry
    must say 0755 or the binary loses its execute bit; this archive is built to work there.
    """
    path = tmp_path_factory.mktemp("busybox") / "busybox-oci.tar"
    busybox_image.write_oci_archive(str(path), BUSYBOX, cmd=["sh"])
    return path


@pytest.fixture(scope="module", params=["containerd", "kyb"])
def cri_runtime(request: pytest.FixtureRequest, busybox_image_archive: Path) -> Iterator[RuntimeUnderTest]:
    if os.geteuid() != 0:
        pytest.fail("these tests need root (network namespaces, cgroups, mounts)")
    start = start_containerd if request.param == "containerd" else start_kyb
    runtime, harness = start(busybox_image_archive)
    try:
        yield runtime
    finally:
        harness.stop()
