"""Seccomp for container processes: which filter a process gets, and loading it.

A container's spec (``process.seccomp``, decided at CreateContainer) names one of three things:

- ``"unconfined"``: no filter (also every privileged container, as containerd does).
- ``"runtime/default"``: the built-in default profile. Docker's and containerd's default is an
  allow-list of ~350 syscalls; this runtime builds the equivalent deny-list of the syscalls that
  profile leaves out, each answered with EPERM, except where the container holds the capability
  that the default profile lets unlock them (``mount`` with CAP_SYS_ADMIN, ``ptrace`` with
  CAP_SYS_PTRACE, ...). It is compiled in the shim from the container's capabilities. Calls from
  another ABI (x32 or i386 on x86_64, 32-bit ARM on aarch64) are refused too, since their
  numbers mean other syscalls.
- a Localhost profile: ``{"profile": "localhost/<path>", "program": <base64 BPF>, "flags": n}``.
  The JSON file is read, checked (``seccomp_profile``), narrowed to this node and the
  container's capabilities, and compiled to BPF (``seccomp_bpf``) in the daemon at
  CreateContainer, so a missing or invalid file fails that call and later edits of the file do
  not change a created container, as with containerd, which copies the profile into the OCI spec.

The shim loads the filter in ``runtime.shim.process`` for the container's first process and for
every exec'd process alike, following runc's order: without no_new_privs, loading a filter needs
CAP_SYS_ADMIN, so it is loaded before the uid change and capability drop (the profile must then
allow setuid/capset/execve, as it must with runc); with no_new_privs it is loaded last, just
before ``execve``, so the profile need not allow the runtime's own set-up calls. Filter flags
(SECCOMP_FILTER_FLAG_LOG, ..._SPEC_ALLOW) need the ``seccomp(2)`` syscall; without flags the
filter is loaded through ``prctl``. Filters are built for x86_64 and aarch64
(``seccomp_syscalls``); elsewhere RuntimeDefault is not applied and a Localhost profile is
refused at CreateContainer.
"""

from __future__ import annotations

import base64
import ctypes
import errno
import os
import struct

from runtime.linux.seccomp_syscalls import ARCHES, X86_64_ARCH, SyscallArch, native
from runtime.linux.syscalls import Kernel, SyscallError

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_SET_MODE_FILTER = 1
LOCALHOST_PREFIX = "localhost/"
X32_SYSCALL_BIT = 0x40000000

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000

# What the default profile refuses, keyed by the capability that allows it (None: refused
# whatever the capabilities). Names an architecture lacks (iopl on aarch64) are left out there.
DENIED: dict[str | None, tuple[str, ...]] = {
    None: ("create_module", "get_kernel_syms", "query_module", "nfsservctl", "uselib", "ustat", "sysfs",
           "_sysctl", "userfaultfd", "add_key", "request_key", "keyctl"),
    "CAP_SYS_ADMIN": ("mount", "umount2", "pivot_root", "setns", "unshare", "quotactl", "lookup_dcookie",
                      "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
                      "swapon", "swapoff"),
    "CAP_DAC_READ_SEARCH": ("open_by_handle_at", "name_to_handle_at"),
    "CAP_SYS_BOOT": ("reboot", "kexec_load", "kexec_file_load"),
    "CAP_SYS_MODULE": ("init_module", "finit_module", "delete_module"),
    "CAP_SYS_PACCT": ("acct",),
    "CAP_SYS_PTRACE": ("ptrace", "kcmp", "process_vm_readv", "process_vm_writev"),
    "CAP_SYS_RAWIO": ("iopl", "ioperm"),
    "CAP_SYS_TIME": ("settimeofday", "clock_settime", "clock_adjtime"),
    "CAP_SYS_TTY_CONFIG": ("vhangup",),
    "CAP_SYS_NICE": ("mbind", "set_mempolicy", "get_mempolicy", "move_pages"),
    "CAP_BPF": ("bpf",),
    "CAP_PERFMON": ("perf_event_open",),
}


def supported() -> bool:
    return native() is not None


def denied_syscalls(capabilities: list[str], arch: SyscallArch = X86_64_ARCH) -> list[int]:
    held = set(capabilities)
    numbers: set[int] = set()
    for cap, names in DENIED.items():
        if cap is None or cap not in held:
            numbers.update(arch.table[name] for name in names if name in arch.table)
    return sorted(numbers)


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def build_filter(denied: list[int], arch: SyscallArch = X86_64_ARCH) -> bytes:
    """The BPF program: wrong arch or x32 -> EPERM; a denied number -> EPERM; else allow."""
    eperm = SECCOMP_RET_ERRNO | errno.EPERM
    program = [
        _insn(BPF_LD_W_ABS, 0, 0, 4),                    # seccomp_data.arch
        _insn(BPF_JEQ_K, 1, 0, arch.audit),
        _insn(BPF_RET_K, 0, 0, eperm),
        _insn(BPF_LD_W_ABS, 0, 0, 0),                    # seccomp_data.nr
    ]
    if arch.x32:
        program += [
            _insn(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT),
            _insn(BPF_RET_K, 0, 0, eperm),
        ]
    for number in denied:
        program.append(_insn(BPF_JEQ_K, 0, 1, number))
        program.append(_insn(BPF_RET_K, 0, 0, eperm))
    program.append(_insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    return b"".join(program)


def localhost(path: str, capabilities: list[str]) -> dict | str:
    """The spec's seccomp setting for the profile file at ``path``, compiled for a container
    holding ``capabilities``. Raises OSError when the file cannot be read and
    ``seccomp_profile.ProfileError`` when its content cannot be used."""
    # Imported here: only the daemon compiles profiles; shims, which import this module to load
    # filters, stay small.
    from runtime.linux import seccomp_bpf, seccomp_profile

    arch = native()
    if arch is None:
        raise seccomp_profile.ProfileError(f"Localhost seccomp profiles are compiled for {', '.join(ARCHES)} only; "
                                           f"this node is {os.uname().machine}")
    with open(path, "rb") as f:
        text = f.read()
    profile = seccomp_profile.parse(text)
    if profile is None:
        return "unconfined"  # an empty profile asks for no filter, as Docker reads it
    narrowed = seccomp_profile.for_node(profile, seccomp_profile.this_node(capabilities))
    program = seccomp_bpf.compile_profile(narrowed, arch)
    return {"profile": LOCALHOST_PREFIX + path, "program": base64.b64encode(program).decode(),
            "flags": narrowed.flag_bits}


def filter_for(setting: str | dict | None, capabilities: list[str]) -> tuple[bytes, int] | None:
    """The (program, flags) a process with this spec setting gets, or None for no filter."""
    if isinstance(setting, dict):
        return base64.b64decode(setting["program"]), int(setting.get("flags", 0))
    arch = native()
    if setting == "runtime/default" and arch is not None:
        return build_filter(denied_syscalls(capabilities, arch), arch), 0
    return None


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(kernel: Kernel, program: bytes, flags: int = 0) -> None:
    """Load the filter for this process and its children (needs CAP_SYS_ADMIN or no_new_privs)."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
    if not flags:
        kernel.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
        return
    # Flags need seccomp(2), which the Kernel interface does not wrap (prctl cannot pass them).
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    arch = native() or X86_64_ARCH
    result = libc.syscall(ctypes.c_long(arch.nr_seccomp), ctypes.c_ulong(SECCOMP_SET_MODE_FILTER),
                          ctypes.c_ulong(flags), ctypes.c_void_p(ctypes.addressof(fprog)))
    if result < 0:
        raise SyscallError(ctypes.get_errno(), f"seccomp(SECCOMP_SET_MODE_FILTER, flags={flags:#x})")
