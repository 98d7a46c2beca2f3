"""The bpf(2) calls that put a device program on a cgroup v2 directory, and take it off.

Python has no bpf(2) wrapper, so ``BpfSyscalls`` calls it through libc's ``syscall`` with a
zero-filled ``union bpf_attr`` laid out by hand for the four commands we need (offsets from
``linux/bpf.h``, identical on every 64-bit architecture):

- ``BPF_PROG_LOAD``: prog_type@0 u32, insn_cnt@4 u32, insns@8 u64, license@16 u64,
  log_level@24 u32, log_size@28 u32, log_buf@32 u64, kern_version@40, prog_flags@44,
  prog_name@48 (16 bytes). The program calls no helper, so the license need not be GPL.
- ``BPF_PROG_ATTACH``/``BPF_PROG_DETACH``: target_fd@0, attach_bpf_fd@4, attach_type@8,
  attach_flags@12, replace_bpf_fd@16 (all u32).
- ``BPF_PROG_QUERY``: target_fd@0, attach_type@4, query_flags@8, attach_flags@12 (out),
  prog_ids@16 u64, prog_cnt@24 u32 (in: room, out: count).
- ``BPF_PROG_GET_FD_BY_ID``: prog_id@0.

``BpfDeviceInstaller`` is what the v2 driver uses. It attaches with ``BPF_F_ALLOW_MULTI``, as
runc and crun do, so a parent's program (systemd's, say) keeps applying: the kernel allows an
access only when every program on the path from the root allows it. Replacing the cgroup's
program swaps it atomically with ``BPF_F_REPLACE`` when there is exactly one, otherwise attaches
the new one before detaching the old (for a moment both apply, which only refuses more). The
program fd is closed right after attaching: the cgroup holds the program, and removing the
cgroup releases it, so nothing outlives the container.

Every failure raises ``BpfError`` with the errno and the call attempted; a refused load carries
the verifier's log.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from typing import Protocol

from runtime.cgroups import CgroupError
from runtime.cgroups.device_filter import DeviceProgram

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16

BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6  # attach type

BPF_F_ALLOW_MULTI = 1 << 1
BPF_F_REPLACE = 1 << 2

LICENSE = b"Apache-2.0"
PROGRAM_NAME = b"kyb_devices"  # at most 15 characters plus the NUL
_ATTR_SIZE = 128  # more than any command here reads; the kernel wants the unused tail zero
_LOG_SIZE = 1 << 16
_QUERY_ROOM = 64

_SYSCALL_NUMBERS = {"x86_64": 321, "aarch64": 280}


class BpfError(CgroupError):
    """bpf(2) failed: ``call`` says what was attempted, ``errno`` what the kernel answered."""

    def __init__(self, err: int, call: str, detail: str = "") -> None:
        message = f"{call}: {os.strerror(err)}"
        super().__init__(message + (f"\n{detail}" if detail else ""))
        self.errno = err
        self.call = call
        self.detail = detail


class BpfSyscalls:
    """The real kernel; one method per bpf(2) command the device filter needs."""

    def __init__(self) -> None:
        machine = platform.machine()
        if machine not in _SYSCALL_NUMBERS:
            raise CgroupError(f"bpf(2): no syscall number known for {machine}")
        self._number = _SYSCALL_NUMBERS[machine]
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.syscall.restype = ctypes.c_long
        self._libc.syscall.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]

    def _bpf(self, command: int, attr: ctypes.Array[ctypes.c_char], call: str, detail: str = "") -> int:
        result = self._libc.syscall(self._number, command, ctypes.addressof(attr), _ATTR_SIZE)
        if result < 0:
            raise BpfError(ctypes.get_errno(), call, detail)
        return int(result)

    def prog_load(self, code: bytes, prog_type: int = BPF_PROG_TYPE_CGROUP_DEVICE) -> int:
        """Load the program; returns its fd. On refusal, loads again with the verifier log on."""
        insns = ctypes.create_string_buffer(code, len(code))
        license = ctypes.create_string_buffer(LICENSE)
        attr = ctypes.create_string_buffer(_ATTR_SIZE)
        struct.pack_into("<IIQQ", attr, 0, prog_type, len(code) // 8, ctypes.addressof(insns), ctypes.addressof(license))
        struct.pack_into("16s", attr, 48, PROGRAM_NAME)
        call = f"bpf(BPF_PROG_LOAD, type={prog_type}, {len(code) // 8} instructions)"
        try:
            return self._bpf(BPF_PROG_LOAD, attr, call)
        except BpfError as e:
            if e.errno not in (errno.EACCES, errno.EINVAL):
                raise
        log = ctypes.create_string_buffer(_LOG_SIZE)
        struct.pack_into("<IIQ", attr, 24, 1, _LOG_SIZE, ctypes.addressof(log))
        try:
            return self._bpf(BPF_PROG_LOAD, attr, call)
        except BpfError as e:
            verifier = log.value.decode(errors="replace").strip()
            raise BpfError(e.errno, call, f"verifier: {verifier[-2000:]}" if verifier else "") from None

    def prog_attach(self, target_fd: int, prog_fd: int, attach_type: int, flags: int, replace_fd: int = 0) -> None:
        attr = ctypes.create_string_buffer(_ATTR_SIZE)
        struct.pack_into("<IIIII", attr, 0, target_fd, prog_fd, attach_type, flags, replace_fd)
        self._bpf(BPF_PROG_ATTACH, attr,
                  f"bpf(BPF_PROG_ATTACH, cgroup fd {target_fd}, program fd {prog_fd}, type {attach_type}, "
                  f"flags {flags:#x}" + (f", replacing fd {replace_fd})" if flags & BPF_F_REPLACE else ")"))

    def prog_detach(self, target_fd: int, prog_fd: int, attach_type: int) -> None:
        attr = ctypes.create_string_buffer(_ATTR_SIZE)
        struct.pack_into("<III", attr, 0, target_fd, prog_fd, attach_type)
        self._bpf(BPF_PROG_DETACH, attr, f"bpf(BPF_PROG_DETACH, cgroup fd {target_fd}, program fd {prog_fd}, type {attach_type})")

    def prog_query(self, target_fd: int, attach_type: int) -> tuple[int, list[int]]:
        """(attach flags, ids of the programs attached to this cgroup itself, in run order)."""
        room = _QUERY_ROOM
        for _attempt in range(4):  # more room each time the kernel reports more programs
            ids = (ctypes.c_uint32 * room)()
            attr = ctypes.create_string_buffer(_ATTR_SIZE)
            struct.pack_into("<IIIIQI", attr, 0, target_fd, attach_type, 0, 0, ctypes.addressof(ids), room)
            try:
                self._bpf(BPF_PROG_QUERY, attr, f"bpf(BPF_PROG_QUERY, cgroup fd {target_fd}, type {attach_type})")
            except BpfError as e:
                count = struct.unpack_from("<I", attr, 24)[0]
                if e.errno == errno.ENOSPC and count > room:
                    room = count
                    continue
                raise
            flags, = struct.unpack_from("<I", attr, 12)
            count, = struct.unpack_from("<I", attr, 24)
            return flags, list(ids[:count])
        raise BpfError(errno.ENOSPC, f"bpf(BPF_PROG_QUERY, cgroup fd {target_fd}, type {attach_type})",
                       "the number of attached programs kept growing")

    def prog_fd_by_id(self, prog_id: int) -> int:
        attr = ctypes.create_string_buffer(_ATTR_SIZE)
        struct.pack_into("<I", attr, 0, prog_id)
        return self._bpf(BPF_PROG_GET_FD_BY_ID, attr, f"bpf(BPF_PROG_GET_FD_BY_ID, id {prog_id})")


class DeviceFilterInstaller(Protocol):
    """Puts a compiled device program on a cgroup directory (``None``: take every one off)."""

    def install(self, directory: str, program: DeviceProgram | None) -> None: ...


class BpfDeviceInstaller:
    """The real installer: loads the program and attaches it to the cgroup2 directory."""

    def __init__(self, syscalls: BpfSyscalls | None = None) -> None:
        self._syscalls = syscalls

    @property
    def syscalls(self) -> BpfSyscalls:
        if self._syscalls is None:
            self._syscalls = BpfSyscalls()
        return self._syscalls

    def attached(self, directory: str) -> list[int]:
        """Ids of the device programs attached to ``directory`` itself."""
        fd = _open_cgroup(directory)
        try:
            return self.syscalls.prog_query(fd, BPF_CGROUP_DEVICE)[1]
        except BpfError as e:
            raise _explain(e, directory) from None
        finally:
            os.close(fd)

    def install(self, directory: str, program: DeviceProgram | None) -> None:
        """Make ``program`` the only device program of ``directory``, replacing what is there."""
        bpf = self.syscalls
        cgroup_fd = _open_cgroup(directory)
        old_fds: list[int] = []
        prog_fd = -1
        try:
            _flags, old_ids = bpf.prog_query(cgroup_fd, BPF_CGROUP_DEVICE)
            for prog_id in old_ids:
                try:
                    old_fds.append(bpf.prog_fd_by_id(prog_id))
                except BpfError as e:
                    if e.errno != errno.ENOENT:  # detached and freed meanwhile
                        raise
            if program is not None:
                prog_fd = bpf.prog_load(program.code)
                if not self._replace(cgroup_fd, prog_fd, old_fds):
                    bpf.prog_attach(cgroup_fd, prog_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
                    self._detach(cgroup_fd, old_fds)
            else:
                self._detach(cgroup_fd, old_fds)
        except BpfError as e:
            raise _explain(e, directory) from None
        finally:
            for fd in [*old_fds, prog_fd, cgroup_fd]:
                if fd >= 0:
                    os.close(fd)

    def _replace(self, cgroup_fd: int, prog_fd: int, old_fds: list[int]) -> bool:
        """Swap the single old program for the new one in one step; False when that cannot be
        done (no or several old programs, or a kernel before 5.6 without BPF_F_REPLACE)."""
        if len(old_fds) != 1:
            return False
        try:
            self.syscalls.prog_attach(cgroup_fd, prog_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, old_fds[0])
        except BpfError as e:
            if e.errno == errno.EINVAL:
                return False
            raise
        return True

    def _detach(self, cgroup_fd: int, fds: list[int]) -> None:
        for fd in fds:
            try:
                self.syscalls.prog_detach(cgroup_fd, fd, BPF_CGROUP_DEVICE)
            except BpfError as e:
                if e.errno != errno.ENOENT:  # already gone
                    raise


def _open_cgroup(directory: str) -> int:
    try:
        return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise CgroupError(f"cannot open cgroup {directory}: {e.strerror}", e.errno) from e


def _explain(error: BpfError, directory: str) -> BpfError:
    """Name the cgroup and, for the answers a person can act on, what they mean."""
    hints = {
        errno.EBADF: "it is not a cgroup2 directory (a plain directory tree takes the driver option devices=DevicesNotEnforced())",
        errno.EPERM: "needs CAP_SYS_ADMIN (CAP_BPF), or another program is attached without BPF_F_ALLOW_MULTI",
    }
    hint = hints.get(error.errno, "")
    where = f"device filter for cgroup {directory}" + (f": {hint}" if hint else "")
    return BpfError(error.errno, error.call, where + (f"\n{error.detail}" if error.detail else ""))
