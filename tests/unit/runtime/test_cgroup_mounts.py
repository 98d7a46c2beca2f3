"""The mounts that show a container its cgroup at /sys/fs/cgroup, in runc's order and flags."""

from __future__ import annotations

from pathlib import Path

from runtime.linux.syscalls import (
    CLONE_NEWCGROUP,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
)
from runtime.shim.rootfs import mount_cgroups

FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME


class RecordingKernel:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def unshare(self, flags: int) -> None:
        self.calls.append(("unshare", flags))

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
        self.calls.append(("mount", source, target, fstype, flags, data))


def _root(tmp_path: Path) -> str:
    (tmp_path / "sys/fs/cgroup").mkdir(parents=True)
    return str(tmp_path)


def test_v2_unshares_a_cgroup_namespace_then_mounts_cgroup2_read_only(tmp_path: Path) -> None:
    kernel = RecordingKernel()
    root = _root(tmp_path)
    mount_cgroups(kernel, root, {"version": 2}, writable=False)  # type: ignore[arg-type]
    assert kernel.calls == [("unshare", CLONE_NEWCGROUP),
                            ("mount", "cgroup2", f"{root}/sys/fs/cgroup", "cgroup2", FLAGS | MS_RDONLY, None)]


def test_v2_privileged_gets_it_writable(tmp_path: Path) -> None:
    kernel = RecordingKernel()
    root = _root(tmp_path)
    mount_cgroups(kernel, root, {"version": 2}, writable=True)  # type: ignore[arg-type]
    assert kernel.calls[-1] == ("mount", "cgroup2", f"{root}/sys/fs/cgroup", "cgroup2", FLAGS, None)


def test_v1_binds_each_hierarchy_read_only_on_a_tmpfs_with_links(tmp_path: Path) -> None:
    kernel = RecordingKernel()
    root = _root(tmp_path)
    target = f"{root}/sys/fs/cgroup"
    view = {"version": 1, "binds": [["/h/cpu,cpuacct/c1", "cpu,cpuacct"], ["/h/memory/c1", "memory"]],
            "links": [["cpu", "cpu,cpuacct"], ["cpuacct", "cpu,cpuacct"]]}
    mount_cgroups(kernel, root, view, writable=False)  # type: ignore[arg-type]
    assert kernel.calls == [
        ("mount", "tmpfs", target, "tmpfs", FLAGS, "mode=755"),
        ("mount", "/h/cpu,cpuacct/c1", f"{target}/cpu,cpuacct", None, MS_BIND | MS_REC, None),
        ("mount", None, f"{target}/cpu,cpuacct", None, MS_BIND | MS_REMOUNT | FLAGS | MS_RDONLY, None),
        ("mount", "/h/memory/c1", f"{target}/memory", None, MS_BIND | MS_REC, None),
        ("mount", None, f"{target}/memory", None, MS_BIND | MS_REMOUNT | FLAGS | MS_RDONLY, None),
        ("mount", None, target, None, MS_REMOUNT | FLAGS | MS_RDONLY, "mode=755"),
    ]
    assert {p.name: p.readlink().name for p in Path(target).iterdir() if p.is_symlink()} == {
        "cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct"}


def test_nothing_is_mounted_where_sysfs_has_no_cgroup_directory(tmp_path: Path) -> None:
    kernel = RecordingKernel()
    mount_cgroups(kernel, str(tmp_path), {"version": 2}, writable=False)  # type: ignore[arg-type]
    assert kernel.calls == []
