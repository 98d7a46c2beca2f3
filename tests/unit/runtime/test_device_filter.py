"""The device filter compiler: rules in v1's syntax become an eBPF program that decides every
(type, major, minor, access) request exactly as cgroup v1's device controller would.

The programs run here in a small eBPF interpreter that knows only the instructions the compiler
may emit; its verdicts are compared with a reference model of the v1 kernel's rules written
independently below (exceptions keyed by device, as ``dev_exception_add``/``_rm`` merge them).
"""

from __future__ import annotations

import itertools
import random
import struct

import pytest

from runtime.cgroups import bpf_asm
from runtime.cgroups.bpf_asm import AssemblyError, Instruction, Label
from runtime.cgroups.device_filter import (
    DeviceRule,
    InvalidDeviceRule,
    compile_allow_list,
    compile_rules,
    parse_rule,
)
from runtime.container.spec import DEFAULT_DEVICE_RULES

BLOCK, CHAR = 1, 2
MKNOD, READ, WRITE = 1, 2, 4
TYPE_CODES = {"b": BLOCK, "c": CHAR}


# --- an interpreter for the instructions the compiler emits ----------------------------------

def run(instructions: tuple[Instruction, ...] | list[Instruction], dev_type: int, major: int, minor: int,
        access: int) -> int:
    ctx = struct.pack("<III", (access << 16) | dev_type, major, minor)
    regs = [0] * 11
    pc = 0
    for _step in range(4096):
        insn = instructions[pc]
        pc += 1
        op, dst, src, off, imm = insn.opcode, insn.dst, insn.src, insn.off, insn.imm
        if op == 0x61:  # ldx w: the context is the only memory a device program reads
            assert src == 1 and off in (0, 4, 8), f"load outside the context: {insn}"
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif op == 0x54:  # and32 k
            regs[dst] = (regs[dst] & imm) & 0xFFFFFFFF
        elif op == 0x74:  # rsh32 k
            regs[dst] = (regs[dst] & 0xFFFFFFFF) >> imm
        elif op == 0xBC:  # mov32 x
            regs[dst] = regs[src] & 0xFFFFFFFF
        elif op == 0xB7:  # mov64 k
            regs[dst] = imm & 0xFFFFFFFFFFFFFFFF
        elif op == 0x55:  # jne k
            pc += off if regs[dst] != imm & 0xFFFFFFFFFFFFFFFF else 0
        elif op == 0x15:  # jeq k
            pc += off if regs[dst] == imm & 0xFFFFFFFFFFFFFFFF else 0
        elif op == 0x45:  # jset k
            pc += off if regs[dst] & imm else 0
        elif op == 0x05:  # ja
            pc += off
        elif op == 0x95:  # exit
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {op:#x} in {insn}")
        assert 0 <= pc < len(instructions), "jumped outside the program"
    raise AssertionError("the program did not finish")


# --- the reference: cgroup v1's device controller ---------------------------------------------

def reference(rules: list[DeviceRule], dev_type: int, major: int, minor: int, access: int) -> bool:
    allow_by_default = True
    exceptions: dict[tuple[int, int | None, int | None], int] = {}
    for rule in rules:
        if rule.type == "a":
            allow_by_default, exceptions = rule.allow, {}
            continue
        key = (TYPE_CODES[rule.type], rule.major, rule.minor)
        if rule.allow == allow_by_default:
            remaining = exceptions.get(key, 0) & ~rule.access
            if remaining:
                exceptions[key] = remaining
            else:
                exceptions.pop(key, None)
        else:
            exceptions[key] = exceptions.get(key, 0) | rule.access
    matching = [bits for (t, ma, mi), bits in exceptions.items()
                if t == dev_type and ma in (None, major) and mi in (None, minor)]
    if allow_by_default:
        return not any(bits & access for bits in matching)
    return any(access & ~bits == 0 for bits in matching)


REQUESTS = list(itertools.product((BLOCK, CHAR), (1, 5, 8, 136, 4000), (0, 3, 5, 9), range(1, 8)))


def assert_program_matches_reference(rules: list[DeviceRule]) -> None:
    program = compile_rules(rules)
    for dev_type, major, minor, access in REQUESTS:
        got = run(program.instructions, dev_type, major, minor, access)
        want = reference(rules, dev_type, major, minor, access)
        assert got == int(want), f"{[str(r) for r in rules]} on {(dev_type, major, minor, access)}: {got}"


def allow(text: str) -> DeviceRule:
    return parse_rule(text, allow=True)


def deny(text: str) -> DeviceRule:
    return parse_rule(text, allow=False)


CASES = {
    "the runtime's default allow-list": [deny("a")] + [allow(r) for r in DEFAULT_DEVICE_RULES],
    "an allow-list with a block device and a read-only char device":
        [deny("a"), allow("b 8:0 r"), allow("c 1:5 r"), allow("c 136:* rw")],
    "deny everything": [deny("a")],
    "allow everything": [allow("a")],
    "allow-all after deny-all resets the exceptions": [deny("a"), allow("c 1:3 r"), allow("a")],
    "deny-all after allow-all resets the exceptions": [allow("a"), deny("c 1:3 r"), deny("a"), allow("c 5:0 m")],
    "a deny under default-deny removes bits from the identical exception":
        [deny("a"), allow("c 1:3 rwm"), deny("c 1:3 w")],
    "a deny of a narrower device does not punch a hole in a wildcard allow":
        [deny("a"), allow("c 1:* rwm"), deny("c 1:3 rwm")],
    "deny rules after allow-all": [allow("a"), deny("c 1:3 w"), deny("b *:* m")],
    "an allow under default-allow removes bits from a deny": [allow("a"), deny("c 1:* rwm"), allow("c 1:* r")],
    "separate grants on one device merge": [deny("a"), allow("c 1:3 r"), allow("c 1:3 w")],
    "grants on different keys never add up for one request": [deny("a"), allow("c 1:* r"), allow("c 1:3 w")],
    "wildcard majors": [deny("a"), allow("c *:3 r"), allow("b *:* m")],
    "wildcard minors under default allow": [allow("a"), deny("c 136:* rw")],
}


@pytest.mark.parametrize("rules", CASES.values(), ids=CASES.keys())
def test_the_program_decides_every_request_as_cgroup_v1_would(rules: list[DeviceRule]) -> None:
    assert_program_matches_reference(rules)


def test_random_rule_sequences_compile_to_programs_that_agree_with_cgroup_v1() -> None:
    rng = random.Random(4)
    for _ in range(150):
        rules = []
        for _ in range(rng.randint(0, 8)):
            if rng.random() < 0.12:
                rules.append(DeviceRule(rng.random() < 0.5, "a"))
                continue
            rules.append(DeviceRule(rng.random() < 0.5, rng.choice("bc"), rng.choice([None, 1, 5, 136]),
                                    rng.choice([None, 0, 3, 9]), rng.randint(1, 7)))
        assert_program_matches_reference(rules)


def test_the_default_allow_list_refuses_writing_a_block_device_and_allows_dev_null() -> None:
    program = compile_allow_list(DEFAULT_DEVICE_RULES)
    assert run(program.instructions, CHAR, 1, 3, READ | WRITE) == 1
    assert run(program.instructions, CHAR, 1, 3, MKNOD) == 1
    assert run(program.instructions, BLOCK, 8, 0, READ) == 0
    assert run(program.instructions, BLOCK, 8, 0, MKNOD) == 1  # "b *:* m"
    assert run(program.instructions, CHAR, 136, 7, WRITE) == 1  # "c 136:* rwm"
    assert run(program.instructions, CHAR, 4, 1, READ) == 0


def test_a_read_only_rule_refuses_write_and_read_write_requests() -> None:
    program = compile_allow_list(["c 1:3 r"])
    assert [run(program.instructions, CHAR, 1, 3, a) for a in (READ, WRITE, READ | WRITE, MKNOD)] == [1, 0, 0, 0]


def test_an_allow_list_compiles_to_a_program_that_starts_by_loading_the_context() -> None:
    program = compile_allow_list([])
    assert not program.allows_everything
    assert [insn.opcode for insn in program.instructions] == [0x61, 0x54, 0x61, 0x74, 0x61, 0x61, 0xB7, 0x95]
    assert program.instructions[-2].imm == 0  # nothing is allowed


def test_only_an_empty_allow_all_policy_needs_no_program() -> None:
    assert compile_rules([]).allows_everything
    assert compile_rules([deny("a"), allow("a")]).allows_everything
    assert not compile_rules([deny("c 1:3 w")]).allows_everything


def test_the_program_bytes_are_the_instructions_in_order() -> None:
    program = compile_allow_list(["c 1:3 rwm"])
    code = program.code
    assert len(code) == 8 * len(program.instructions)
    assert bpf_asm.disassemble(code) == list(program.instructions)


# --- rule parsing -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,rule", [
    ("c 1:3 rwm", DeviceRule(True, "c", 1, 3, 7)),
    ("b *:* m", DeviceRule(True, "b", None, None, 1)),
    ("c 136:* rw", DeviceRule(True, "c", 136, None, 6)),
    ("c *:5 wr", DeviceRule(True, "c", None, 5, 6)),
    ("a", DeviceRule(True, "a")),
    ("a *:* rwm", DeviceRule(True, "a")),
])
def test_rules_parse_from_the_v1_syntax(text: str, rule: DeviceRule) -> None:
    assert parse_rule(text) == rule


def test_a_rule_prints_back_in_the_v1_syntax() -> None:
    assert str(parse_rule("c 1:3 mwr")) == "c 1:3 rwm"
    assert str(parse_rule("b *:7 m", allow=False)) == "b *:7 m"


@pytest.mark.parametrize("text", ["", "x 1:3 rwm", "c 1:3 rwq", "c 1 rwm", "c a:3 r", "c 1:3", "a 1:3 r",
                                  "c 1:3:4 r", "c 4294967296:1 r", "c -1:3 r"])
def test_malformed_rules_are_refused_with_the_rule_named(text: str) -> None:
    with pytest.raises(InvalidDeviceRule, match="device rule"):
        parse_rule(text)


def test_a_malformed_rule_in_an_allow_list_is_refused() -> None:
    with pytest.raises(InvalidDeviceRule, match="'c 1:3 rwx'"):
        compile_allow_list(["c 1:3 rw", "c 1:3 rwx"])


# --- the assembler ------------------------------------------------------------------------------

@pytest.mark.parametrize("insn,raw", [
    (bpf_asm.load_word(2, 1, 0), "6112000000000000"),
    (bpf_asm.load_word(5, 1, 8), "6115080000000000"),
    (bpf_asm.and32(2, 0xFFFF), "54020000ffff0000"),
    (bpf_asm.rsh32(3, 16), "7403000010000000"),
    (bpf_asm.mov32_reg(1, 3), "bc31000000000000"),
    (bpf_asm.mov64(0, 1), "b700000001000000"),
    (Instruction(0x55, dst=4, off=3, imm=136), "5504030088000000"),
    (Instruction(0x45, dst=3, off=2, imm=6), "4503020006000000"),
    (Instruction(0x05, off=1), "0500010000000000"),
    (bpf_asm.exit_(), "9500000000000000"),
    (bpf_asm.mov64(0, -1), "b7000000ffffffff"),
])
def test_known_instructions_encode_to_the_kernels_bytes(insn: Instruction, raw: str) -> None:
    assert insn.encode().hex() == raw
    assert Instruction.decode(bytes.fromhex(raw)) == Instruction(insn.opcode, insn.dst, insn.src, insn.off, insn.imm)


def test_jumps_to_labels_become_offsets_from_the_next_instruction() -> None:
    program = bpf_asm.resolve([
        bpf_asm.jump_if_not_equal(2, 1, "skip"),
        bpf_asm.mov64(0, 1),
        bpf_asm.exit_(),
        Label("skip"),
        bpf_asm.jump("end"),
        Label("end"),
        bpf_asm.mov64(0, 0),
        bpf_asm.exit_(),
    ])
    assert [insn.off for insn in program] == [2, 0, 0, 0, 0, 0]
    assert all(insn.target is None for insn in program)


@pytest.mark.parametrize("program,message", [
    ([bpf_asm.jump("nowhere"), bpf_asm.exit_()], "undefined label"),
    ([Label("top"), bpf_asm.jump("top")], "backward jump"),
    ([Label("x"), Label("x"), bpf_asm.exit_()], "defined twice"),
    ([bpf_asm.mov64(0, 1 << 31)], "does not fit 32 bits"),
    ([bpf_asm.mov64(11, 0)], "register out of range"),
])
def test_programs_the_kernel_could_not_take_are_refused_when_assembling(
        program: list[Instruction | Label], message: str) -> None:
    with pytest.raises(AssemblyError, match=message):
        bpf_asm.assemble(program)


def test_disassembling_refuses_a_partial_instruction() -> None:
    with pytest.raises(AssemblyError, match="whole number"):
        bpf_asm.disassemble(b"\x95\x00\x00")
