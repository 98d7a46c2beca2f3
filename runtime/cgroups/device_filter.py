"""Device rules compiled to a cgroup v2 device program (eBPF), with cgroup v1's semantics.

cgroup v1 keeps a device policy per cgroup: a default (allow or deny everything) plus a list
of *exceptions*, edited by writing rules such as ``c 1:3 rwm`` to ``devices.allow`` or
``devices.deny``. cgroup v2 has no such files; the kernel instead runs a
``BPF_PROG_TYPE_CGROUP_DEVICE`` program attached to the cgroup for every device access and
refuses it (EPERM) when the program returns 0. To give both drivers one meaning, we replay the
rules exactly as the v1 kernel applies them (``security/device_cgroup.c``), then compile the
resulting policy into a program:

- ``a`` (all) resets the policy: default allow (on ``allow``) or deny (on ``deny``), no
  exceptions;
- a rule whose verdict equals the default removes those access bits from the exception with the
  very same type/major/minor (v1 silently ignores it otherwise);
- any other rule adds an exception, merging its access bits into an identical one.

Checking a request (type, major, minor, access) against the policy, like v1 does:

- default deny: allowed when one exception matches type, major (or ``*``), minor (or ``*``) and
  grants *every* requested access bit (opening ``O_RDWR`` asks for read and write at once);
- default allow: refused when one exception matches the device and shares *any* access bit.

The program reads the context ``struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
u32 minor; }`` where ``access_type = (access << 16) | type`` (type 1 block / 2 char; access
1 mknod / 2 read / 4 write), keeps type/access/major/minor in r2-r5, then tests each exception
in turn: a failed comparison jumps to the next exception, a full match returns the
exception's verdict, and falling off the end returns the default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.cgroups import CgroupError
from runtime.cgroups.bpf_asm import (
    Instruction,
    Label,
    and32,
    assemble,
    exit_,
    jump,
    jump_if_any_bit,
    jump_if_not_equal,
    load_word,
    mov64,
    resolve,
    rsh32,
)

DEV_BLOCK = 1
DEV_CHAR = 2
ACC_MKNOD = 1
ACC_READ = 2
ACC_WRITE = 4
ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE

DEVICE_TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR}
ACCESS_BITS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
MAX_NUMBER = (1 << 31) - 1  # majors and minors are compared as 32-bit immediates

# registers holding the request while the program runs
_CTX, _TYPE, _ACCESS, _MAJOR, _MINOR = 1, 2, 3, 4, 5


class InvalidDeviceRule(CgroupError):
    """A device rule that is not ``<a|b|c> <major|*>:<minor|*> <r|w|m...>``."""


@dataclass(frozen=True)
class DeviceRule:
    """One line written to v1's ``devices.allow`` (``allow``) or ``devices.deny``.

    ``type`` is ``"a"`` (every device: resets the policy), ``"b"`` or ``"c"``; ``None`` for
    ``major``/``minor`` is the ``*`` wildcard; ``access`` is a bit set of ``ACC_*``."""

    allow: bool
    type: str
    major: int | None = None
    minor: int | None = None
    access: int = ACC_ALL

    def __str__(self) -> str:
        if self.type == "a":
            return "a"
        access = "".join(letter for letter in "rwm" if self.access & ACCESS_BITS[letter])
        return f"{self.type} {_number_text(self.major)}:{_number_text(self.minor)} {access}"


def parse_rule(text: str, allow: bool = True) -> DeviceRule:
    """Parse a v1 rule string (``"c 1:3 rwm"``, ``"b *:* m"``, ``"a"``)."""
    parts = text.split()
    if not parts or parts[0] not in ("a", "b", "c"):
        raise InvalidDeviceRule(f"device rule {text!r}: the type must be a, b or c")
    if parts[0] == "a":
        if parts[1:] not in ([], ["*:*"], ["*:*", "rwm"]):
            raise InvalidDeviceRule(f"device rule {text!r}: 'a' means every device and access; write it alone")
        return DeviceRule(allow, "a")
    if len(parts) != 3 or parts[1].count(":") != 1:
        raise InvalidDeviceRule(f"device rule {text!r}: expected '<b|c> <major|*>:<minor|*> <rwm>'")
    major_text, minor_text = parts[1].split(":")
    access = 0
    for letter in parts[2]:
        if letter not in ACCESS_BITS:
            raise InvalidDeviceRule(f"device rule {text!r}: access {letter!r} is not one of r, w, m")
        access |= ACCESS_BITS[letter]
    return DeviceRule(allow, parts[0], _parse_number(major_text, text), _parse_number(minor_text, text), access)


def _parse_number(value: str, text: str) -> int | None:
    if value == "*":
        return None
    if not value.isdigit() or int(value) > MAX_NUMBER:
        raise InvalidDeviceRule(f"device rule {text!r}: {value!r} is not a device number or *")
    return int(value)


def _number_text(value: int | None) -> str:
    return "*" if value is None else str(value)


@dataclass(frozen=True)
class DeviceException:
    """An entry of v1's exception list: the device(s) and the access bits it covers."""

    type: str
    major: int | None
    minor: int | None
    access: int


@dataclass
class DevicePolicy:
    """v1's per-cgroup device state: a default verdict and the exceptions to it, in order."""

    default_allow: bool = True
    exceptions: list[DeviceException] = field(default_factory=list)

    def apply(self, rule: DeviceRule) -> None:
        if rule.type == "a":
            self.default_allow = rule.allow
            self.exceptions = []
        elif rule.allow == self.default_allow:
            self._remove(rule)
        else:
            self._add(rule)

    def _add(self, rule: DeviceRule) -> None:
        for i, ex in enumerate(self.exceptions):
            if (ex.type, ex.major, ex.minor) == (rule.type, rule.major, rule.minor):
                self.exceptions[i] = DeviceException(ex.type, ex.major, ex.minor, ex.access | rule.access)
                return
        self.exceptions.append(DeviceException(rule.type, rule.major, rule.minor, rule.access))

    def _remove(self, rule: DeviceRule) -> None:
        kept = []
        for ex in self.exceptions:
            if (ex.type, ex.major, ex.minor) == (rule.type, rule.major, rule.minor):
                ex = DeviceException(ex.type, ex.major, ex.minor, ex.access & ~rule.access)
            if ex.access:
                kept.append(ex)
        self.exceptions = kept

    @classmethod
    def from_rules(cls, rules: list[DeviceRule]) -> DevicePolicy:
        """Replay ``rules`` on a fresh cgroup, which starts out allowing everything."""
        policy = cls()
        for rule in rules:
            policy.apply(rule)
        return policy


@dataclass(frozen=True)
class DeviceProgram:
    """A compiled device filter: the resolved instructions and the policy they implement."""

    policy: DevicePolicy
    instructions: tuple[Instruction, ...]

    @property
    def code(self) -> bytes:
        """The instruction bytes for ``BPF_PROG_LOAD``."""
        return assemble(list(self.instructions))

    @property
    def allows_everything(self) -> bool:
        """True when the program would allow every access, so no program is needed at all."""
        return self.policy.default_allow and not self.policy.exceptions


def compile_policy(policy: DevicePolicy) -> DeviceProgram:
    default, verdict = (1, 0) if policy.default_allow else (0, 1)
    program: list[Instruction | Label] = [
        load_word(_TYPE, _CTX, 0),
        and32(_TYPE, 0xFFFF),
        load_word(_ACCESS, _CTX, 0),
        rsh32(_ACCESS, 16),
        load_word(_MAJOR, _CTX, 4),
        load_word(_MINOR, _CTX, 8),
    ]
    for index, ex in enumerate(policy.exceptions):
        following = f"exception-{index + 1}"
        program.append(jump_if_not_equal(_TYPE, DEVICE_TYPES[ex.type], following))
        if ex.major is not None:
            program.append(jump_if_not_equal(_MAJOR, ex.major, following))
        if ex.minor is not None:
            program.append(jump_if_not_equal(_MINOR, ex.minor, following))
        if not policy.default_allow and ex.access != ACC_ALL:
            # an allow exception must grant every requested bit: any bit outside it skips it
            program.append(jump_if_any_bit(_ACCESS, ACC_ALL & ~ex.access, following))
        elif policy.default_allow:
            # a deny exception refuses as soon as the request shares one bit with it
            matched = f"exception-{index}-matched"
            program += [jump_if_any_bit(_ACCESS, ex.access, matched), jump(following), Label(matched)]
        program += [mov64(0, verdict), exit_(), Label(following)]
    program += [mov64(0, default), exit_()]
    return DeviceProgram(policy, tuple(resolve(program)))


def compile_rules(rules: list[DeviceRule]) -> DeviceProgram:
    return compile_policy(DevicePolicy.from_rules(rules))


def compile_allow_list(rules: list[str]) -> DeviceProgram:
    """The program for the runtime's allow-list strings: deny everything, then allow each rule
    (what the v1 driver writes to ``devices.deny``/``devices.allow``)."""
    return compile_rules([DeviceRule(False, "a")] + [parse_rule(rule) for rule in rules])
