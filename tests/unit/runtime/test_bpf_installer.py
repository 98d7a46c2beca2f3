"""How the device program is put on a cgroup, told by the bpf(2) calls made (a recording fake
stands in for the kernel): one program per cgroup, replaced atomically, every fd closed."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.cgroups import CgroupError
from runtime.cgroups.bpf import (
    BPF_CGROUP_DEVICE,
    BPF_F_ALLOW_MULTI,
    BPF_F_REPLACE,
    BpfDeviceInstaller,
    BpfError,
    BpfSyscalls,
)
from runtime.cgroups.device_filter import compile_allow_list

MULTI = BPF_F_ALLOW_MULTI


class FakeBpf(BpfSyscalls):
    """Programs attached to one cgroup, by id; fds are real (duplicates of /dev/null) so the
    test can tell which ones were left open."""

    def __init__(self, attached: list[int], refuse_replace: bool = False) -> None:
        self.attached = list(attached)
        self.refuse_replace = refuse_replace
        self.calls: list[tuple] = []
        self.fd_ids: dict[int, int] = {}
        self.next_id = 100
        self._null = os.open("/dev/null", os.O_RDONLY)

    def _fd(self, prog_id: int) -> int:
        fd = os.dup(self._null)
        self.fd_ids[fd] = prog_id
        return fd

    def open_fds(self) -> list[int]:
        still = []
        for fd in self.fd_ids:
            try:
                os.fstat(fd)
                still.append(fd)
            except OSError:
                pass
        return still

    def prog_load(self, code: bytes, prog_type: int = 15) -> int:
        self.next_id += 1
        self.calls.append(("load", self.next_id))
        return self._fd(self.next_id)

    def prog_query(self, target_fd: int, attach_type: int) -> tuple[int, list[int]]:
        return (MULTI if self.attached else 0), list(self.attached)

    def prog_fd_by_id(self, prog_id: int) -> int:
        if prog_id not in self.attached:
            raise BpfError(errno.ENOENT, f"get fd of {prog_id}")
        return self._fd(prog_id)

    def prog_attach(self, target_fd: int, prog_fd: int, attach_type: int, flags: int, replace_fd: int = 0) -> None:
        assert attach_type == BPF_CGROUP_DEVICE
        if flags & BPF_F_REPLACE:
            if self.refuse_replace:
                raise BpfError(errno.EINVAL, "attach with replace")
            old = self.fd_ids[replace_fd]
            self.calls.append(("replace", old, self.fd_ids[prog_fd], flags))
            self.attached[self.attached.index(old)] = self.fd_ids[prog_fd]
            return
        self.calls.append(("attach", self.fd_ids[prog_fd], flags))
        self.attached.append(self.fd_ids[prog_fd])

    def prog_detach(self, target_fd: int, prog_fd: int, attach_type: int) -> None:
        self.calls.append(("detach", self.fd_ids[prog_fd]))
        self.attached.remove(self.fd_ids[prog_fd])

    def close(self) -> None:
        os.close(self._null)


@pytest.fixture
def cgroup(tmp_path: Path) -> str:
    return str(tmp_path)


@pytest.fixture
def fake() -> Iterator[FakeBpf]:
    bpf = FakeBpf([])
    yield bpf
    bpf.close()


PROGRAM = compile_allow_list(["c 1:3 rwm"])


def test_a_first_program_is_attached_in_multi_mode(fake: FakeBpf, cgroup: str) -> None:
    BpfDeviceInstaller(fake).install(cgroup, PROGRAM)
    assert fake.calls == [("load", 101), ("attach", 101, MULTI)]
    assert fake.attached == [101]
    assert fake.open_fds() == []


def test_a_single_old_program_is_swapped_for_the_new_one_in_one_step(fake: FakeBpf, cgroup: str) -> None:
    fake.attached = [7]
    BpfDeviceInstaller(fake).install(cgroup, PROGRAM)
    assert fake.calls == [("load", 101), ("replace", 7, 101, MULTI | BPF_F_REPLACE)]
    assert fake.attached == [101]
    assert fake.open_fds() == []


def test_without_replace_support_the_new_program_is_attached_before_the_old_is_detached(cgroup: str) -> None:
    fake = FakeBpf([7], refuse_replace=True)
    try:
        BpfDeviceInstaller(fake).install(cgroup, PROGRAM)
        assert fake.calls == [("load", 101), ("attach", 101, MULTI), ("detach", 7)]
        assert fake.attached == [101]
        assert fake.open_fds() == []
    finally:
        fake.close()


def test_several_old_programs_are_all_detached_after_the_new_one_is_on(fake: FakeBpf, cgroup: str) -> None:
    fake.attached = [7, 8]
    BpfDeviceInstaller(fake).install(cgroup, PROGRAM)
    assert fake.calls == [("load", 101), ("attach", 101, MULTI), ("detach", 7), ("detach", 8)]
    assert fake.attached == [101]


def test_no_program_takes_every_one_off(fake: FakeBpf, cgroup: str) -> None:
    fake.attached = [7, 8]
    BpfDeviceInstaller(fake).install(cgroup, None)
    assert fake.calls == [("detach", 7), ("detach", 8)]
    assert fake.attached == []
    assert fake.open_fds() == []


def test_a_refused_attach_names_the_cgroup_and_closes_every_fd(fake: FakeBpf, cgroup: str) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise BpfError(errno.EBADF, "bpf(BPF_PROG_ATTACH, ...)")

    fake.prog_attach = refuse  # type: ignore[method-assign]
    with pytest.raises(BpfError, match="not a cgroup2 directory") as caught:
        BpfDeviceInstaller(fake).install(cgroup, PROGRAM)
    assert caught.value.errno == errno.EBADF
    assert cgroup in str(caught.value)
    assert fake.open_fds() == []


def test_a_missing_cgroup_directory_is_a_cgroup_error(fake: FakeBpf, tmp_path: Path) -> None:
    with pytest.raises(CgroupError, match="cannot open cgroup"):
        BpfDeviceInstaller(fake).install(str(tmp_path / "gone"), PROGRAM)
