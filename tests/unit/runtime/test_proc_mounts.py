"""A volume may cover /proc only with a procfs, and land inside /proc only on what lxcfs
emulates (runc's rule), whether the destination is written so or reached through a symlink."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cri import api_pb2
from runtime.container.spec import mounts_of
from runtime.errors import InvalidArgument
from runtime.shim.proc_mounts import EMULATED_BY_LXCFS, ProcMountRefused, check_destination
from runtime.shim.process import ExecFailed
from runtime.shim.rootfs import _volume_target


def bind(container_path: str, host_path: str = "/tmp") -> api_pb2.ContainerConfig:
    return api_pb2.ContainerConfig(mounts=[api_pb2.Mount(container_path=container_path, host_path=host_path)])


@pytest.mark.parametrize("destination", ["/proc", "//proc", "/proc/", "/tmp/../proc"])
def test_a_host_directory_cannot_cover_proc(destination: str) -> None:
    with pytest.raises(InvalidArgument, match="only a procfs may be mounted on top of /proc"):
        mounts_of(bind(destination))


def test_the_hosts_procfs_may_cover_proc() -> None:
    assert mounts_of(bind("/proc", "/proc"))[0]["destination"] == "/proc"


@pytest.mark.parametrize("destination", ["/proc/sys/kernel", "/proc/kcore", "/proc/self/../sysrq-trigger", "//proc/keys"])
def test_a_volume_cannot_land_inside_proc(destination: str) -> None:
    with pytest.raises(InvalidArgument, match="is inside /proc"):
        mounts_of(bind(destination))


@pytest.mark.parametrize("destination", sorted(EMULATED_BY_LXCFS))
def test_what_lxcfs_emulates_may_be_replaced(destination: str) -> None:
    assert mounts_of(bind(destination, "/etc/hostname"))[0]["destination"] == destination


@pytest.mark.parametrize("destination", ["/procfs", "/data/proc", "/"])
def test_paths_outside_proc_are_not_its_concern(destination: str) -> None:
    check_destination(destination, "/tmp")


def test_an_image_volume_cannot_cover_proc() -> None:
    with pytest.raises(ProcMountRefused):
        check_destination("/proc", None)


def test_a_symlink_in_the_image_cannot_lead_a_volume_into_proc(tmp_path: Path) -> None:
    root = str(tmp_path)
    os.mkdir(os.path.join(root, "proc"))
    os.symlink("/proc/sys", os.path.join(root, "link"))
    with pytest.raises(ExecFailed, match="'/link/kernel' resolves to '/proc/sys/kernel'"):
        _volume_target(root, {"destination": "/link/kernel"}, "/tmp")
    assert _volume_target(root, {"destination": "/data"}, "/tmp") == os.path.join(root, "data")
