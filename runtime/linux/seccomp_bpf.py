"""Compile a seccomp profile into the classic-BPF program the kernel runs on every syscall.

The program reads ``struct seccomp_data`` (``nr`` at 0, ``arch`` at 4, ``args[i]`` at 16 + 8i,
little-endian, so an argument's low 32 bits come first) and returns an action. Its shape::

    arch != x86_64            -> KILL_PROCESS        (foreign ABI: its numbers mean other calls)
    nr has the x32 bit        -> KILL_PROCESS        (x32 rules are not compiled)
    nr > largest listed nr    -> ERRNO(ENOSYS)       (only for deny-by-default profiles, as runc)
    binary search on nr       -> RET action | JA to the syscall's argument block
    not found                 -> default action

Semantics follow runc over libseccomp: a rule whose action equals the default action is dropped;
names this node does not know are skipped; a rule's conditions are ANDed, except that several
conditions on one argument become one rule each (ORed), as runc does; for one syscall, rules
with conditions are tried in profile order before its unconditional rule. 64-bit comparisons
are done on both 32-bit halves, unsigned, as libseccomp does.

Classic BPF conditional jumps carry 8-bit offsets, which a long profile overflows. So every
conditional jump here only ever skips 0 or 1 instruction, and real targets are reached through
``JA``, whose offset is 32 bits: correct for any profile length, at the cost of one extra
instruction per branch. The result must still fit the kernel's 4096-instruction limit.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass

from runtime.linux.seccomp_profile import Action, Condition, Profile, ProfileError
from runtime.linux.seccomp_syscalls import X86_64

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
BPF_MAXINSNS = 4096

BPF_LD_W_ABS = 0x20
BPF_ALU_AND_K = 0x54
BPF_JA = 0x05
BPF_JEQ_K = 0x15
BPF_JGT_K = 0x25
BPF_JGE_K = 0x35
BPF_RET_K = 0x06

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_KILL_THREAD = 0x00000000
SECCOMP_RET_TRAP = 0x00030000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_TRACE = 0x7FF00000
SECCOMP_RET_LOG = 0x7FFC0000
SECCOMP_RET_ALLOW = 0x7FFF0000

OFFSET_NR = 0
OFFSET_ARCH = 4
OFFSET_ARGS = 16
LEAF_SIZE = 4  # syscalls compared one by one at the bottom of the search tree
PERMISSIVE = frozenset({"SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"})


def return_value(action: Action) -> int:
    """The 32-bit value a BPF ``RET`` gives the kernel for ``action``."""
    code = errno.EPERM if action.errno is None else action.errno
    return {
        "SCMP_ACT_KILL": SECCOMP_RET_KILL_THREAD,
        "SCMP_ACT_KILL_THREAD": SECCOMP_RET_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS": SECCOMP_RET_KILL_PROCESS,
        "SCMP_ACT_TRAP": SECCOMP_RET_TRAP,
        "SCMP_ACT_ERRNO": SECCOMP_RET_ERRNO | code,
        "SCMP_ACT_TRACE": SECCOMP_RET_TRACE | code,
        "SCMP_ACT_LOG": SECCOMP_RET_LOG,
        "SCMP_ACT_ALLOW": SECCOMP_RET_ALLOW,
    }[action.name]


@dataclass
class SyscallPlan:
    """What one syscall does: conditional alternatives first, then ``otherwise``."""

    alternatives: list[tuple[tuple[Condition, ...], int]]
    otherwise: int


def plan(profile: Profile, table: dict[str, int] = X86_64) -> dict[int, SyscallPlan]:
    """Per syscall number, the decision the filter takes; numbers absent take the default."""
    default = return_value(profile.default_action)
    plans: dict[int, SyscallPlan] = {}
    unconditional: dict[int, tuple[int, str]] = {}
    for rule in profile.rules:
        value = return_value(rule.action)
        if value == default:
            continue
        for name in rule.names:
            number = table.get(name)
            if number is None:
                continue
            entry = plans.setdefault(number, SyscallPlan([], default))
            if not rule.conditions:
                previous = unconditional.get(number)
                if previous is not None and previous[0] != value:
                    raise ProfileError(f"syscall {name!r} has two unconditional rules with different actions "
                                       f"({previous[1]} and {rule.action.name})")
                unconditional[number] = (value, rule.action.name)
                entry.otherwise = value
            else:
                for conditions in _alternatives(rule.conditions):
                    entry.alternatives.append((conditions, value))
    return plans


def _alternatives(conditions: tuple[Condition, ...]) -> list[tuple[Condition, ...]]:
    """runc's reading: conditions are ANDed unless two test one argument, then each stands alone."""
    indexes = [c.index for c in conditions]
    if len(set(indexes)) == len(indexes):
        return [conditions]
    return [(c,) for c in conditions]


def largest_listed(profile: Profile, table: dict[str, int] = X86_64) -> int:
    numbers = [table[name] for rule in profile.rules for name in rule.names if name in table]
    return max(numbers, default=0)


def compile_profile(profile: Profile, table: dict[str, int] = X86_64) -> bytes:
    """The BPF program (``struct sock_filter`` array, native endian) enforcing ``profile``."""
    asm = Assembler()
    asm.load(OFFSET_ARCH)
    asm.if_false_return(BPF_JEQ_K, AUDIT_ARCH_X86_64, SECCOMP_RET_KILL_PROCESS)
    asm.load(OFFSET_NR)
    asm.if_true_return(BPF_JGE_K, X32_SYSCALL_BIT, SECCOMP_RET_KILL_PROCESS)
    default = return_value(profile.default_action)
    largest = largest_listed(profile, table)
    if "SCMP_ARCH_X86_64" in profile.architectures and profile.default_action.name not in PERMISSIVE and largest:
        # Calls newer than anything the profile names get ENOSYS, so libc falls back to older
        # ones (clone3 -> clone) instead of failing on the default EPERM.
        asm.if_true_return(BPF_JGT_K, largest, SECCOMP_RET_ERRNO | errno.ENOSYS)
    plans = plan(profile, table)
    blocks: list[tuple[Label, SyscallPlan]] = []
    targets: list[tuple[int, int | Label]] = []
    for number in sorted(plans):
        entry = plans[number]
        if entry.alternatives:
            block = asm.label()
            blocks.append((block, entry))
            targets.append((number, block))
        else:
            targets.append((number, entry.otherwise))
    _search(asm, targets, default)
    for block, entry in blocks:
        asm.place(block)
        for conditions, value in entry.alternatives:
            next_rule = asm.label()
            for condition in conditions:
                _condition(asm, condition, next_rule)
            asm.ret(value)
            asm.place(next_rule)
        asm.ret(entry.otherwise)
    program = asm.assemble()
    if len(program) // 8 > BPF_MAXINSNS:
        raise ProfileError(f"the compiled filter has {len(program) // 8} instructions, more than the kernel's "
                           f"limit of {BPF_MAXINSNS}; split or simplify the profile")
    return program


def _search(asm: Assembler, targets: list[tuple[int, int | Label]], default: int) -> None:
    """Binary search over sorted syscall numbers; the accumulator holds ``nr`` throughout."""
    if len(targets) <= LEAF_SIZE:
        for number, target in targets:
            if isinstance(target, Label):
                asm.if_true_goto(BPF_JEQ_K, number, target)
            else:
                asm.if_true_return(BPF_JEQ_K, number, target)
        asm.ret(default)
        return
    middle = len(targets) // 2
    upper = asm.label()
    asm.if_true_goto(BPF_JGE_K, targets[middle][0], upper)
    _search(asm, targets[:middle], default)
    asm.place(upper)
    _search(asm, targets[middle:], default)


def _condition(asm: Assembler, condition: Condition, fail: Label) -> None:
    """Fall through when the argument satisfies ``condition``, else jump to ``fail``."""
    low_offset = OFFSET_ARGS + 8 * condition.index
    high_offset = low_offset + 4
    value = condition.value
    high, low = value >> 32, value & 0xFFFFFFFF
    op = condition.op
    if op == "SCMP_CMP_EQ":
        asm.load(high_offset)
        asm.if_false_goto(BPF_JEQ_K, high, fail)
        asm.load(low_offset)
        asm.if_false_goto(BPF_JEQ_K, low, fail)
    elif op == "SCMP_CMP_NE":
        differs = asm.label()
        asm.load(high_offset)
        asm.if_false_goto(BPF_JEQ_K, high, differs)
        asm.load(low_offset)
        asm.if_true_goto(BPF_JEQ_K, low, fail)
        asm.place(differs)
    elif op == "SCMP_CMP_MASKED_EQ":
        datum = condition.value_two
        asm.load(high_offset)
        asm.mask(high)
        asm.if_false_goto(BPF_JEQ_K, datum >> 32, fail)
        asm.load(low_offset)
        asm.mask(low)
        asm.if_false_goto(BPF_JEQ_K, datum & 0xFFFFFFFF, fail)
    elif op in ("SCMP_CMP_GT", "SCMP_CMP_GE"):
        passed = asm.label()
        asm.load(high_offset)
        asm.if_true_goto(BPF_JGT_K, high, passed)
        asm.if_false_goto(BPF_JEQ_K, high, fail)
        asm.load(low_offset)
        asm.if_false_goto(BPF_JGT_K if op == "SCMP_CMP_GT" else BPF_JGE_K, low, fail)
        asm.place(passed)
    elif op in ("SCMP_CMP_LT", "SCMP_CMP_LE"):
        passed = asm.label()
        asm.load(high_offset)
        asm.if_true_goto(BPF_JGT_K, high, fail)
        asm.if_false_goto(BPF_JEQ_K, high, passed)
        asm.load(low_offset)
        asm.if_true_goto(BPF_JGE_K if op == "SCMP_CMP_LT" else BPF_JGT_K, low, fail)
        asm.place(passed)
    else:  # parse() admits only the operators above
        raise ProfileError(f"unknown operator {op!r}")


class Label:
    """A forward jump target, placed once."""

    __slots__ = ("position",)

    def __init__(self) -> None:
        self.position: int | None = None


class Assembler:
    """Instructions with labels; ``JA`` is the only jump that reaches a label."""

    def __init__(self) -> None:
        self.code: list[tuple[int, int, int, int | Label]] = []

    def label(self) -> Label:
        return Label()

    def place(self, label: Label) -> None:
        assert label.position is None, "label placed twice"
        label.position = len(self.code)

    def load(self, offset: int) -> None:
        self.code.append((BPF_LD_W_ABS, 0, 0, offset))

    def mask(self, bits: int) -> None:
        self.code.append((BPF_ALU_AND_K, 0, 0, bits))

    def ret(self, value: int) -> None:
        self.code.append((BPF_RET_K, 0, 0, value))

    def jump(self, label: Label) -> None:
        self.code.append((BPF_JA, 0, 0, label))

    def if_true_goto(self, op: int, k: int, label: Label) -> None:
        """Jump to ``label`` when ``A op k`` holds, else fall through."""
        self.code.append((op, 0, 1, k))
        self.jump(label)

    def if_false_goto(self, op: int, k: int, label: Label) -> None:
        """Fall through when ``A op k`` holds, else jump to ``label``."""
        self.code.append((op, 1, 0, k))
        self.jump(label)

    def if_true_return(self, op: int, k: int, value: int) -> None:
        self.code.append((op, 0, 1, k))
        self.ret(value)

    def if_false_return(self, op: int, k: int, value: int) -> None:
        self.code.append((op, 1, 0, k))
        self.ret(value)

    def assemble(self) -> bytes:
        out = bytearray()
        for position, (code, jt, jf, k) in enumerate(self.code):
            if isinstance(k, Label):
                assert k.position is not None and k.position > position, "jump to an unplaced or earlier label"
                k = k.position - position - 1
            out += struct.pack("=HBBI", code, jt, jf, k)
        return bytes(out)
