"""A tiny eBPF assembler: the handful of instructions a device filter needs, with labels.

An eBPF instruction is eight little-endian bytes: opcode (u8), destination register in the low
nibble and source register in the high nibble of the next byte, a signed 16-bit offset and a
signed 32-bit immediate (``struct bpf_insn`` in ``linux/bpf.h``). The opcode packs the class
(ALU32, ALU64, JMP, LDX, ...), the operation and whether the operand is the immediate (``K``) or
a register (``X``).

Programs are written as a list of ``Instruction`` values and ``Label`` markers; a jump names its
target label and ``assemble`` turns the name into the offset the kernel expects (counted in
instructions from the one after the jump). Keeping the program as plain values lets the unit
tests check the bytes of known instructions and run the program through a reference interpreter
without a kernel.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# instruction classes
CLASS_LDX = 0x01
CLASS_ALU = 0x04  # 32-bit: the upper half of the destination is zeroed
CLASS_JMP = 0x05
CLASS_ALU64 = 0x07

# operand source
SRC_K = 0x00  # the 32-bit immediate
SRC_X = 0x08  # the source register

# load size and mode
SIZE_W = 0x00  # 32-bit word
MODE_MEM = 0x60

# ALU operations
ALU_AND = 0x50
ALU_RSH = 0x70
ALU_MOV = 0xB0

# jump operations
JMP_JA = 0x00
JMP_JEQ = 0x10
JMP_JNE = 0x50
JMP_JSET = 0x40
JMP_EXIT = 0x90

REGISTERS = range(11)  # r0 result, r1 context pointer, r2-r5 scratch, r10 frame pointer
_INT16 = range(-(1 << 15), 1 << 15)
_INT32 = range(-(1 << 31), 1 << 31)


class AssemblyError(ValueError):
    """A program that cannot be encoded: an operand out of range or an unknown label."""


@dataclass(frozen=True)
class Instruction:
    """One eBPF instruction; ``target`` names the label a jump goes to (resolved by ``assemble``)."""

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    target: str | None = None

    def encode(self, off: int | None = None) -> bytes:
        offset = self.off if off is None else off
        if self.dst not in REGISTERS or self.src not in REGISTERS:
            raise AssemblyError(f"register out of range in {self}")
        if offset not in _INT16:
            raise AssemblyError(f"offset {offset} does not fit 16 bits in {self}")
        if self.imm not in _INT32:
            raise AssemblyError(f"immediate {self.imm} does not fit 32 bits in {self}")
        return struct.pack("<BBhi", self.opcode, (self.src << 4) | self.dst, offset, self.imm)

    @classmethod
    def decode(cls, raw: bytes) -> Instruction:
        opcode, regs, off, imm = struct.unpack("<BBhi", raw)
        return cls(opcode, dst=regs & 0x0F, src=regs >> 4, off=off, imm=imm)


@dataclass(frozen=True)
class Label:
    """A position in the program that jumps can name."""

    name: str


def load_word(dst: int, base: int, offset: int) -> Instruction:
    """dst = *(u32 *)(base + offset), zero-extended."""
    return Instruction(CLASS_LDX | MODE_MEM | SIZE_W, dst=dst, src=base, off=offset)


def and32(dst: int, imm: int) -> Instruction:
    return Instruction(CLASS_ALU | ALU_AND | SRC_K, dst=dst, imm=imm)


def rsh32(dst: int, imm: int) -> Instruction:
    return Instruction(CLASS_ALU | ALU_RSH | SRC_K, dst=dst, imm=imm)


def mov32_reg(dst: int, src: int) -> Instruction:
    return Instruction(CLASS_ALU | ALU_MOV | SRC_X, dst=dst, src=src)


def mov64(dst: int, imm: int) -> Instruction:
    return Instruction(CLASS_ALU64 | ALU_MOV | SRC_K, dst=dst, imm=imm)


def jump_if_not_equal(dst: int, imm: int, target: str) -> Instruction:
    return Instruction(CLASS_JMP | JMP_JNE | SRC_K, dst=dst, imm=imm, target=target)


def jump_if_equal(dst: int, imm: int, target: str) -> Instruction:
    return Instruction(CLASS_JMP | JMP_JEQ | SRC_K, dst=dst, imm=imm, target=target)


def jump_if_any_bit(dst: int, imm: int, target: str) -> Instruction:
    """Jump when ``dst & imm`` is not zero."""
    return Instruction(CLASS_JMP | JMP_JSET | SRC_K, dst=dst, imm=imm, target=target)


def jump(target: str) -> Instruction:
    return Instruction(CLASS_JMP | JMP_JA, target=target)


def exit_() -> Instruction:
    return Instruction(CLASS_JMP | JMP_EXIT)


def resolve(program: list[Instruction | Label]) -> list[Instruction]:
    """The instructions with every label target replaced by its relative offset."""
    positions: dict[str, int] = {}
    count = 0
    for item in program:
        if isinstance(item, Label):
            if item.name in positions:
                raise AssemblyError(f"label {item.name!r} defined twice")
            positions[item.name] = count
        else:
            count += 1
    resolved: list[Instruction] = []
    for item in program:
        if isinstance(item, Label):
            continue
        if item.target is not None:
            if item.target not in positions:
                raise AssemblyError(f"jump to undefined label {item.target!r}")
            offset = positions[item.target] - (len(resolved) + 1)
            if offset < 0:
                raise AssemblyError(f"backward jump to {item.target!r}: the verifier refuses loops")
            item = Instruction(item.opcode, item.dst, item.src, offset, item.imm)
        resolved.append(item)
    return resolved


def assemble(program: list[Instruction | Label]) -> bytes:
    """The bytes ``BPF_PROG_LOAD`` takes as ``insns``."""
    return b"".join(insn.encode() for insn in resolve(program))


def disassemble(code: bytes) -> list[Instruction]:
    if len(code) % 8:
        raise AssemblyError(f"{len(code)} bytes is not a whole number of 8-byte instructions")
    return [Instruction.decode(code[i:i + 8]) for i in range(0, len(code), 8)]
