"""Compile a seccomp profile into the classic-BPF program the kernel runs on every syscall.

The program reads ``struct seccomp_data`` (``nr`` at 0, ``arch`` at 4, ``args[i]`` at 16 + 8i,
little-endian, so an argument's low 32 bits come first) and returns an action. Its shape::

    arch != the node's        -> KILL_PROCESS        (foreign ABI: its numbers mean other calls)
    nr has the x32 bit        -> KILL_PROCESS        (x86_64 only: x32 rules are not compiled)
    nr > largest listed nr    -> ERRNO(ENOSYS)       (only for deny-by-default profiles, as runc)
    binary search on nr       -> RET action | JA to the syscall's argument block
    not found                 -> default action

Semantics follow runc over libseccomp: a rule whose action equals the default action is dropped;
names this node does not know are skipped; a rule's conditions are ANDed, except that several
conditions on one argument become one rule each (ORed), as runc does; for one syscall, rules
with conditions are tried in profile order before its unconditional rule, and of two
unconditional rules the later wins (profiles rely on it: a capability-gated ERRNO rule after a
general allow-list, as in the containers-common default profile). 64-bit comparisons
are done on both 32-bit halves, unsigned, as libseccomp does.

Classic BPF conditional jumps carry 8-bit offsets, which a long profile overflows: the
assembler lays jumps out by branch relaxation, turning a conditional jump whose target is out of
reach into the inverted test over a ``JA`` (32-bit offset). The result must still fit the
kernel's 4096-instruction limit.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass

from runtime.linux.seccomp_profile import Action, Condition, Profile, ProfileError
from runtime.linux.seccomp_syscalls import X86_64, X86_64_ARCH, SyscallArch

AUDIT_ARCH_X86_64 = X86_64_ARCH.audit
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


def compile_profile(profile: Profile, arch: SyscallArch = X86_64_ARCH) -> bytes:
    """The BPF program (``struct sock_filter`` array, native endian) enforcing ``profile`` for
    processes of architecture ``arch``."""
    table = arch.table
    asm = Assembler()
    asm.load(OFFSET_ARCH)
    asm.if_false_return(BPF_JEQ_K, arch.audit, SECCOMP_RET_KILL_PROCESS)
    asm.load(OFFSET_NR)
    if arch.x32:
        asm.if_true_return(BPF_JGE_K, X32_SYSCALL_BIT, SECCOMP_RET_KILL_PROCESS)
    default = return_value(profile.default_action)
    largest = largest_listed(profile, table)
    if arch.scmp in profile.architectures and profile.default_action.name not in PERMISSIVE and largest:
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

    __slots__ = ("item",)

    def __init__(self) -> None:
        self.item: int | None = None


class Assembler:
    """Instructions with labels, laid out by branch relaxation.

    A conditional jump to a label is first assumed near (one instruction, 8-bit offset); any
    whose target ends up more than 255 instructions away becomes the inverted test skipping a
    ``JA`` (32-bit offset). Growing one jump can only push others further, so the loop widens
    jumps until none is out of range, and then every offset fits.
    """

    def __init__(self) -> None:
        # (code, jt, jf, k) for plain instructions; for a conditional jump to a label, jt or jf
        # is the Label and the other side falls through (0).
        self.items: list[tuple[int, int | Label, int | Label, int | Label]] = []

    def label(self) -> Label:
        return Label()

    def place(self, label: Label) -> None:
        assert label.item is None, "label placed twice"
        label.item = len(self.items)

    def load(self, offset: int) -> None:
        self.items.append((BPF_LD_W_ABS, 0, 0, offset))

    def mask(self, bits: int) -> None:
        self.items.append((BPF_ALU_AND_K, 0, 0, bits))

    def ret(self, value: int) -> None:
        self.items.append((BPF_RET_K, 0, 0, value))

    def jump(self, label: Label) -> None:
        self.items.append((BPF_JA, 0, 0, label))

    def if_true_goto(self, op: int, k: int, label: Label) -> None:
        """Jump to ``label`` when ``A op k`` holds, else fall through."""
        self.items.append((op, label, 0, k))

    def if_false_goto(self, op: int, k: int, label: Label) -> None:
        """Fall through when ``A op k`` holds, else jump to ``label``."""
        self.items.append((op, 0, label, k))

    def if_true_return(self, op: int, k: int, value: int) -> None:
        self.items.append((op, 0, 1, k))
        self.ret(value)

    def if_false_return(self, op: int, k: int, value: int) -> None:
        self.items.append((op, 1, 0, k))
        self.ret(value)

    def assemble(self) -> bytes:
        far: set[int] = set()
        while True:
            addresses = self._addresses(far)
            widened = {i for i, (_, jt, jf, _) in enumerate(self.items) if i not in far
                       for target in (jt, jf) if isinstance(target, Label)
                       and self._distance(addresses, i, target, 1) > 255}
            if not widened:
                break
            far |= widened
        out = bytearray()
        for i, (code, jt, jf, k) in enumerate(self.items):
            if isinstance(k, Label):  # JA
                out += struct.pack("=HBBI", code, 0, 0, self._distance(addresses, i, k, 1))
            elif isinstance(jt, Label) or isinstance(jf, Label):
                target = jt if isinstance(jt, Label) else jf
                assert isinstance(target, Label)
                if i in far:  # the inverted test skips the JA that reaches the target
                    out += struct.pack("=HBBI", code, 0 if jt is target else 1, 0 if jf is target else 1, k)
                    out += struct.pack("=HBBI", BPF_JA, 0, 0, self._distance(addresses, i, target, 2))
                else:
                    offset = self._distance(addresses, i, target, 1)
                    out += struct.pack("=HBBI", code, offset if jt is target else 0, offset if jf is target else 0, k)
            else:
                assert isinstance(jt, int) and isinstance(jf, int)
                out += struct.pack("=HBBI", code, jt, jf, k)
        return bytes(out)

    def _addresses(self, far: set[int]) -> list[int]:
        addresses, address = [], 0
        for i in range(len(self.items)):
            addresses.append(address)
            address += 2 if i in far else 1
        addresses.append(address)
        return addresses

    def _distance(self, addresses: list[int], item: int, target: Label, width: int) -> int:
        """Instructions skipped from the end of ``item``'s ``width`` instructions to ``target``."""
        assert target.item is not None and target.item > item, "jump to an unplaced or earlier label"
        return addresses[target.item] - addresses[item] - width
