"""A classic-BPF interpreter for the subset seccomp filters use, run over ``struct seccomp_data``
values as the kernel would: how the unit tests check what a compiled filter answers."""

from __future__ import annotations

import struct

from runtime.linux.seccomp_bpf import AUDIT_ARCH_X86_64


def run(program: bytes, nr: int, args: tuple[int, ...] = (), arch: int = AUDIT_ARCH_X86_64) -> int:
    """Interpret the classic-BPF subset the compiler emits, as the kernel would."""
    padded = (list(args) + [0] * 6)[:6]
    data = struct.pack("<iIQ6Q", nr, arch, 0, *padded)
    code = [struct.unpack_from("=HBBI", program, 8 * i) for i in range(len(program) // 8)]
    acc, pc, steps = 0, 0, 0
    while True:
        steps += 1
        assert steps <= len(code), "a seccomp program never loops; it ran longer than its length"
        op, jt, jf, k = code[pc]
        pc += 1
        if op == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif op == 0x54:
            acc &= k
        elif op == 0x05:
            pc += k
        elif op in (0x15, 0x25, 0x35):
            taken = {0x15: acc == k, 0x25: acc > k, 0x35: acc >= k}[op]
            pc += jt if taken else jf
        elif op == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")
