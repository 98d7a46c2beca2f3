"""Seccomp filters for aarch64 nodes: the generic syscall table, the AArch64 audit value and no
x32 check, checked by running the programs in the compiler tests' BPF interpreter."""

from __future__ import annotations

import errno
import json

from seccomp_interpreter import run

from runtime.linux import capabilities, seccomp
from runtime.linux.seccomp_bpf import (
    SECCOMP_RET_ALLOW,
    SECCOMP_RET_ERRNO,
    SECCOMP_RET_KILL_PROCESS,
    compile_profile,
)
from runtime.linux.seccomp_profile import Profile, parse
from runtime.linux.seccomp_syscalls import AARCH64, AARCH64_ARCH, FIRST_SHARED_NUMBER, X86_64, X86_64_ARCH

EPERM = SECCOMP_RET_ERRNO | errno.EPERM
AUDIT_ARCH_AARCH64 = 0xC00000B7
AUDIT_ARCH_ARM = 0x40000028


def test_the_generic_table_has_the_kernels_numbers_and_no_legacy_calls() -> None:
    known = {"io_setup": 0, "openat": 56, "close": 57, "read": 63, "exit_group": 94, "clone": 220, "execve": 221,
             "mmap": 222, "recvmmsg": 243, "wait4": 260, "seccomp": 277, "kexec_file_load": 294,
             "pidfd_open": 434, "clone3": 435, "mount_setattr": 442}
    assert {name: AARCH64[name] for name in known} == known
    assert not {"open", "fork", "mkdir", "stat", "iopl", "arch_prctl"} & AARCH64.keys()
    assert len(set(AARCH64.values())) == len(AARCH64)  # one name per number
    assert {n for n in AARCH64.values() if 244 <= n < 260 or 295 <= n < FIRST_SHARED_NUMBER} == set()
    shared = {name: n for name, n in X86_64.items() if n >= FIRST_SHARED_NUMBER}
    assert shared.items() <= AARCH64.items()


def aarch64_profile(**fields: object) -> bytes:
    profile = parse(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", **fields}))
    assert isinstance(profile, Profile)
    return compile_profile(profile, AARCH64_ARCH)


def test_a_profile_compiled_for_aarch64_resolves_names_with_the_generic_numbers() -> None:
    program = aarch64_profile(syscalls=[{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO"}])
    assert run(program, AARCH64["mkdirat"], arch=AUDIT_ARCH_AARCH64) == EPERM
    assert run(program, X86_64["mkdirat"], arch=AUDIT_ARCH_AARCH64) == SECCOMP_RET_ALLOW  # 258: unused here
    assert run(program, AARCH64["openat"], arch=AUDIT_ARCH_AARCH64) == SECCOMP_RET_ALLOW


def test_an_aarch64_filter_kills_calls_of_another_architecture() -> None:
    program = aarch64_profile(syscalls=[{"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    for arch in (AUDIT_ARCH_ARM, X86_64_ARCH.audit):
        assert run(program, AARCH64["read"], arch=arch) == SECCOMP_RET_KILL_PROCESS


def test_an_aarch64_filter_has_no_x32_check() -> None:
    program = aarch64_profile(defaultAction="SCMP_ACT_ERRNO", syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW"}])
    assert run(program, 0x40000000 | AARCH64["read"], arch=AUDIT_ARCH_AARCH64) != SECCOMP_RET_KILL_PROCESS


def test_runtime_default_on_aarch64_refuses_mount_unless_sys_admin_is_held() -> None:
    denied = seccomp.denied_syscalls(capabilities.DEFAULT, AARCH64_ARCH)
    program = seccomp.build_filter(denied, AARCH64_ARCH)
    for name in ("mount", "umount2", "ptrace", "bpf", "kexec_load", "keyctl"):
        assert run(program, AARCH64[name], arch=AUDIT_ARCH_AARCH64) == EPERM, name
    for name in ("openat", "read", "clone", "execve", "setuid"):
        assert run(program, AARCH64[name], arch=AUDIT_ARCH_AARCH64) == SECCOMP_RET_ALLOW, name
    assert run(program, AARCH64["read"], arch=X86_64_ARCH.audit) == EPERM
    admin = seccomp.build_filter(seccomp.denied_syscalls([*capabilities.DEFAULT, "CAP_SYS_ADMIN"], AARCH64_ARCH),
                                 AARCH64_ARCH)
    assert run(admin, AARCH64["mount"], arch=AUDIT_ARCH_AARCH64) == SECCOMP_RET_ALLOW


def test_runtime_default_on_x86_64_is_unchanged_by_the_name_tables() -> None:
    denied = seccomp.denied_syscalls(capabilities.DEFAULT, X86_64_ARCH)
    assert {165, 166, 155, 101, 321, 172, 173} <= set(denied)  # mount, umount2, pivot_root, ptrace, bpf, iopl, ioperm
