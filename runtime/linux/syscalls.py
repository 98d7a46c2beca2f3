"""The Linux syscalls the runtime needs, behind one small interface.

Python 3.11 wraps neither unshare, setns, mount, pivot_root, capset nor most of prctl, so they
are called through libc with ctypes. Every call goes through a ``Kernel`` object: the container
setup code takes one as a parameter, which lets unit tests pass a recording fake and assert the
exact flags without root, while the real ``LibcKernel`` is exercised by the root integration
tests. Each failure raises ``SyscallError`` naming the call, its arguments and the errno, so a
failed container start says precisely what the kernel refused.

This module imports only the standard library: it is loaded by the fork server and every shim,
whose memory footprint we keep small.
"""

from __future__ import annotations

import ctypes
import functools
import os
from typing import Protocol

# clone/unshare/setns namespace flags (linux/sched.h)
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

NAMESPACE_FLAGS = {
    "mnt": CLONE_NEWNS,
    "uts": CLONE_NEWUTS,
    "ipc": CLONE_NEWIPC,
    "pid": CLONE_NEWPID,
    "net": CLONE_NEWNET,
    "cgroup": CLONE_NEWCGROUP,
}

# mount flags (linux/mount.h)
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_DETACH = 0x2

# prctl options (linux/prctl.h)
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_SYSCALL_NUMBERS = {
    "x86_64": {"pivot_root": 155, "capget": 125, "capset": 126},
    "aarch64": {"pivot_root": 41, "capget": 90, "capset": 91},
}


class SyscallError(OSError):
    """A syscall failed; ``call`` says what was attempted, ``errno`` what the kernel answered."""

    def __init__(self, err: int, call: str) -> None:
        super().__init__(err, f"{call}: {os.strerror(err)}")
        self.call = call


class Capabilities(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class Kernel(Protocol):
    """What container setup asks of the kernel; ``LibcKernel`` is the real one."""

    def unshare(self, flags: int) -> None: ...
    def setns(self, fd: int, nstype: int) -> None: ...
    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None: ...
    def umount2(self, target: str, flags: int) -> None: ...
    def pivot_root(self, new_root: str, put_old: str) -> None: ...
    def sethostname(self, name: str) -> None: ...
    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int: ...
    def capset(self, effective: int, permitted: int, inheritable: int) -> None: ...
    def capget(self) -> tuple[int, int, int]: ...


class LibcKernel:
    """The real kernel, reached through libc."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._numbers = _SYSCALL_NUMBERS.get(os.uname().machine, _SYSCALL_NUMBERS["x86_64"])
        self._libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        self._libc.syscall.restype = ctypes.c_long
        self._libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

    def _check(self, result: int, call: str) -> int:
        if result < 0:
            raise SyscallError(ctypes.get_errno(), call)
        return result

    def unshare(self, flags: int) -> None:
        self._check(self._libc.unshare(flags), f"unshare({flags:#x})")

    def setns(self, fd: int, nstype: int) -> None:
        self._check(self._libc.setns(fd, nstype), f"setns(fd={fd}, {nstype:#x})")

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
        self._check(
            self._libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)),
            f"mount({source!r}, {target!r}, {fstype!r}, {flags:#x}, {data!r})",
        )

    def umount2(self, target: str, flags: int) -> None:
        self._check(self._libc.umount2(_b(target), flags), f"umount2({target!r}, {flags:#x})")

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self._check(
            self._libc.syscall(self._numbers["pivot_root"], _b(new_root), _b(put_old)),
            f"pivot_root({new_root!r}, {put_old!r})",
        )

    def sethostname(self, name: str) -> None:
        raw = name.encode()
        self._check(self._libc.sethostname(raw, len(raw)), f"sethostname({name!r})")

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        return self._check(self._libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl({option}, {arg2})")

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (Capabilities * 2)()
        for i in range(2):
            shift = 32 * i
            data[i].effective = (effective >> shift) & 0xFFFFFFFF
            data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
            data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
        self._check(
            self._libc.syscall(self._numbers["capset"], ctypes.byref(header), ctypes.byref(data)),
            f"capset(effective={effective:#x}, permitted={permitted:#x})",
        )

    def capget(self) -> tuple[int, int, int]:
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (Capabilities * 2)()
        self._check(self._libc.syscall(self._numbers["capget"], ctypes.byref(header), ctypes.byref(data)), "capget()")
        eff = data[0].effective | (data[1].effective << 32)
        prm = data[0].permitted | (data[1].permitted << 32)
        inh = data[0].inheritable | (data[1].inheritable << 32)
        return eff, prm, inh


PROC_SUPER_MAGIC = 0x9FA0


def filesystem_type(path: str) -> int:
    """The filesystem type statfs(2) reports for ``path``: a ``*_SUPER_MAGIC`` number."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(256)  # struct statfs starts with f_type, a long
    if libc.statfs(os.fsencode(path), buf) != 0:
        raise SyscallError(ctypes.get_errno(), f"statfs({path!r})")
    return ctypes.c_long.from_buffer(buf).value


def _b(value: str | None) -> bytes | None:
    return None if value is None else value.encode()


def set_process_name(kernel: Kernel, name: str) -> None:
    """Name the process (``comm``) so operators can tell holders and shims apart in ``ps``."""
    buf = ctypes.create_string_buffer(name.encode()[:15])
    kernel.prctl(PR_SET_NAME, ctypes.addressof(buf))


@functools.cache
def last_capability() -> int:
    """The highest capability number this kernel knows. Read once per process: the fork server
    reads it before forking, so no container start pays for opening /proc."""
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
            return int(f.read())
    except OSError:
        return 40
