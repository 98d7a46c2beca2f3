"""The profile compiler, checked by running its BPF programs in a small interpreter over
``struct seccomp_data`` values: what each syscall, argument and architecture gets."""

from __future__ import annotations

import errno
import json

import pytest
from seccomp_interpreter import run

from runtime.linux import seccomp_bpf
from runtime.linux.seccomp_bpf import (
    BPF_MAXINSNS,
    SECCOMP_RET_ALLOW,
    SECCOMP_RET_ERRNO,
    SECCOMP_RET_KILL_PROCESS,
    SECCOMP_RET_KILL_THREAD,
    SECCOMP_RET_LOG,
    SECCOMP_RET_TRACE,
    SECCOMP_RET_TRAP,
    X32_SYSCALL_BIT,
    compile_profile,
)
from runtime.linux.seccomp_profile import Profile, ProfileError, parse
from runtime.linux.seccomp_syscalls import X86_64

AUDIT_ARCH_I386 = 0x40000003
EPERM = SECCOMP_RET_ERRNO | errno.EPERM


def compiled(default: str = "SCMP_ACT_ALLOW", **fields: object) -> bytes:
    profile = parse(json.dumps({"defaultAction": default, **fields}))
    assert isinstance(profile, Profile)
    return compile_profile(profile)


def test_listed_syscalls_get_the_rule_action_and_others_the_default() -> None:
    program = compiled(syscalls=[{"names": ["mkdir", "chmod", "sethostname"], "action": "SCMP_ACT_ERRNO"}])
    for name in ("mkdir", "chmod", "sethostname"):
        assert run(program, X86_64[name]) == EPERM
    for name in ("read", "write", "mkdirat", "execve", "file_setattr"):
        assert run(program, X86_64[name]) == SECCOMP_RET_ALLOW


def test_each_action_maps_to_its_kernel_return_value() -> None:
    rules = [
        {"names": ["mkdir"], "action": "SCMP_ACT_KILL"},
        {"names": ["rmdir"], "action": "SCMP_ACT_KILL_THREAD"},
        {"names": ["chmod"], "action": "SCMP_ACT_KILL_PROCESS"},
        {"names": ["chown"], "action": "SCMP_ACT_TRAP"},
        {"names": ["link"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES},
        {"names": ["unlink"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
        {"names": ["rename"], "action": "SCMP_ACT_LOG"},
        {"names": ["symlink"], "action": "SCMP_ACT_TRACE"},
    ]
    program = compiled(default="SCMP_ACT_ERRNO", syscalls=rules + [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}])
    assert run(program, X86_64["mkdir"]) == SECCOMP_RET_KILL_THREAD
    assert run(program, X86_64["rmdir"]) == SECCOMP_RET_KILL_THREAD
    assert run(program, X86_64["chmod"]) == SECCOMP_RET_KILL_PROCESS
    assert run(program, X86_64["chown"]) == SECCOMP_RET_TRAP
    assert run(program, X86_64["link"]) == SECCOMP_RET_ERRNO | errno.EACCES
    assert run(program, X86_64["unlink"]) == SECCOMP_RET_TRACE | 7
    assert run(program, X86_64["symlink"]) == SECCOMP_RET_TRACE | errno.EPERM
    assert run(program, X86_64["rename"]) == SECCOMP_RET_LOG
    assert run(program, X86_64["getpid"]) == SECCOMP_RET_ALLOW
    assert run(program, X86_64["read"]) == EPERM


def test_default_errno_ret_sets_the_default_errno() -> None:
    program = compiled(default="SCMP_ACT_ERRNO", defaultErrnoRet=errno.ENOTSUP,
                       syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW"}])
    assert run(program, X86_64["write"]) == SECCOMP_RET_ERRNO | errno.ENOTSUP


def test_a_foreign_architecture_or_x32_call_kills_the_process() -> None:
    program = compiled(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}])
    assert run(program, X86_64["read"], arch=AUDIT_ARCH_I386) == SECCOMP_RET_KILL_PROCESS
    assert run(program, X32_SYSCALL_BIT | X86_64["read"]) == SECCOMP_RET_KILL_PROCESS


def test_unknown_syscall_names_are_skipped() -> None:
    program = compiled(syscalls=[{"names": ["no_such_call", "socketcall", "mkdir"], "action": "SCMP_ACT_ERRNO"}])
    assert run(program, X86_64["mkdir"]) == EPERM
    assert run(program, X86_64["read"]) == SECCOMP_RET_ALLOW


def test_a_rule_with_the_default_action_changes_nothing() -> None:
    program = compiled(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"}])
    assert run(program, X86_64["mkdir"]) == SECCOMP_RET_ALLOW


def test_newer_syscalls_than_a_deny_by_default_profile_names_get_enosys() -> None:
    rules = [{"names": ["read", "write", "openat"], "action": "SCMP_ACT_ALLOW"}]
    program = compiled(default="SCMP_ACT_ERRNO", architectures=["SCMP_ARCH_X86_64"], syscalls=rules)
    assert run(program, X86_64["openat"]) == SECCOMP_RET_ALLOW
    assert run(program, X86_64["mkdir"]) == EPERM  # older than openat: the default
    assert run(program, X86_64["clone3"]) == SECCOMP_RET_ERRNO | errno.ENOSYS
    without_arch = compiled(default="SCMP_ACT_ERRNO", syscalls=rules)  # runc adds the stub per listed arch
    assert run(without_arch, X86_64["clone3"]) == EPERM
    permissive = compiled(default="SCMP_ACT_ALLOW", architectures=["SCMP_ARCH_X86_64"],
                          syscalls=[{"names": ["read"], "action": "SCMP_ACT_ERRNO"}])
    assert run(permissive, X86_64["clone3"]) == SECCOMP_RET_ALLOW


def arg_rule(op: str, value: int, value_two: int = 0, index: int = 1) -> bytes:
    return compiled(syscalls=[{"names": ["lseek"], "action": "SCMP_ACT_ERRNO",
                               "args": [{"index": index, "value": value, "valueTwo": value_two, "op": op}]}])


BIG = (5 << 32) | 7  # differs from its neighbours in the high half, the low half, or both
CASES = [BIG - 1, BIG, BIG + 1, BIG - (1 << 32), BIG + (1 << 32), 7, 0, (1 << 64) - 1, (5 << 32) | 0xFFFFFFFF]


@pytest.mark.parametrize(("op", "holds"), [
    ("SCMP_CMP_EQ", lambda a: a == BIG),
    ("SCMP_CMP_NE", lambda a: a != BIG),
    ("SCMP_CMP_GT", lambda a: a > BIG),
    ("SCMP_CMP_GE", lambda a: a >= BIG),
    ("SCMP_CMP_LT", lambda a: a < BIG),
    ("SCMP_CMP_LE", lambda a: a <= BIG),
])
def test_64_bit_argument_comparisons_use_both_halves(op: str, holds) -> None:  # type: ignore[no-untyped-def]
    program = arg_rule(op, BIG)
    for arg in CASES:
        expected = EPERM if holds(arg) else SECCOMP_RET_ALLOW
        assert run(program, X86_64["lseek"], (3, arg, 0)) == expected, (op, hex(arg))


def test_masked_eq_compares_the_masked_argument_with_value_two() -> None:
    mask, datum = 0xFFFF_0000_0000_00F0, 0x1234_0000_0000_0010
    program = arg_rule("SCMP_CMP_MASKED_EQ", mask, datum)
    assert run(program, X86_64["lseek"], (3, 0x1234_5678_9ABC_DE1F, 0)) == EPERM
    assert run(program, X86_64["lseek"], (3, 0x1234_5678_9ABC_DE2F, 0)) == SECCOMP_RET_ALLOW
    assert run(program, X86_64["lseek"], (3, 0x1235_0000_0000_0010, 0)) == SECCOMP_RET_ALLOW


def test_conditions_on_different_arguments_must_all_hold() -> None:
    program = compiled(syscalls=[{"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "args": [
        {"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 1, "op": "SCMP_CMP_EQ"}]}])
    assert run(program, X86_64["lseek"], (3, 0, 1)) == EPERM
    assert run(program, X86_64["lseek"], (3, 0, 0)) == SECCOMP_RET_ALLOW
    assert run(program, X86_64["lseek"], (4, 0, 1)) == SECCOMP_RET_ALLOW


def test_conditions_on_one_argument_each_stand_alone_as_runc_reads_them() -> None:
    program = compiled(syscalls=[{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
        {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 0x20000, "op": "SCMP_CMP_EQ"}]}])
    assert run(program, X86_64["personality"], (8,)) == EPERM
    assert run(program, X86_64["personality"], (0x20000,)) == EPERM
    assert run(program, X86_64["personality"], (0,)) == SECCOMP_RET_ALLOW


def test_conditional_rules_are_tried_before_the_unconditional_one() -> None:
    program = compiled(default="SCMP_ACT_ERRNO", syscalls=[
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EINVAL,
         "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
    ])
    assert run(program, X86_64["socket"], (40,)) == SECCOMP_RET_ERRNO | errno.EINVAL
    assert run(program, X86_64["socket"], (2,)) == SECCOMP_RET_ALLOW


def test_a_later_unconditional_rule_overrides_an_earlier_one() -> None:
    program = compiled(default="SCMP_ACT_ERRNO", defaultErrnoRet=errno.ENOSYS, syscalls=[
        {"names": ["read", "setns"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM},
    ])
    assert run(program, X86_64["setns"]) == EPERM
    assert run(program, X86_64["read"]) == SECCOMP_RET_ALLOW


def test_a_long_profile_with_argument_rules_everywhere_still_jumps_right() -> None:
    names = sorted(X86_64, key=lambda name: X86_64[name])
    rules = [{"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": X86_64[name] % 4000 + 1,
              "args": [{"index": 0, "value": X86_64[name], "op": "SCMP_CMP_EQ"}]} for name in names]
    program = compiled(syscalls=rules)
    assert 255 < len(program) // 8 <= BPF_MAXINSNS  # far beyond an 8-bit conditional jump
    for name in names:
        number = X86_64[name]
        assert run(program, number, (number,)) == SECCOMP_RET_ERRNO | (number % 4000 + 1), name
        assert run(program, number, (number + 1,)) == SECCOMP_RET_ALLOW, name


def test_a_profile_beyond_the_kernel_limit_is_refused() -> None:
    rules = [{"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": i, "op": "SCMP_CMP_EQ"},
                                                                       {"index": 1, "value": i, "op": "SCMP_CMP_EQ"}]}
             for i in range(600)]
    with pytest.raises(ProfileError, match="more than the kernel's limit of 4096"):
        compiled(syscalls=rules)


def test_the_syscall_table_has_unique_numbers() -> None:
    assert len(set(X86_64.values())) == len(X86_64)
    assert seccomp_bpf.largest_listed(parse(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read", "clone3", "bogus"], "action": "SCMP_ACT_ERRNO"}]})) or Profile(None)) == X86_64["clone3"]  # type: ignore[arg-type]


@pytest.mark.parametrize("jump_when", ["true", "false"])
def test_the_assembler_widens_a_conditional_jump_beyond_255_instructions(jump_when: str) -> None:
    asm = seccomp_bpf.Assembler()
    far = asm.label()
    asm.load(seccomp_bpf.OFFSET_NR)
    if jump_when == "true":
        asm.if_true_goto(seccomp_bpf.BPF_JEQ_K, 5, far)
    else:
        asm.if_false_goto(seccomp_bpf.BPF_JEQ_K, 5, far)
    asm.ret(111)
    for _ in range(300):
        asm.ret(0)
    asm.place(far)
    asm.ret(222)
    program = asm.assemble()
    assert len(program) // 8 == 1 + 2 + 1 + 300 + 1
    assert run(program, 5) == (222 if jump_when == "true" else 111)
    assert run(program, 6) == (111 if jump_when == "true" else 222)
