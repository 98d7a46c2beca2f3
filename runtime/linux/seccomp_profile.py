"""Seccomp profiles in the Docker/OCI JSON format, parsed into plain data and narrowed to a node.

A Localhost profile is a file on the node (what the kubelet's ``localhostProfile`` points at).
Two dialects exist and both are read here: the OCI ``linux.seccomp`` object (``names``,
``architectures``) and Docker's profile format, a superset that adds ``name``, ``archMap`` and
per-rule ``includes``/``excludes`` (capabilities, architectures, minimum kernel). Parsing is
strict about shape and vocabulary, so a typo in an action or operator is a clear CreateContainer
error naming the file and the JSON path, never a silently weaker filter. Unknown syscall *names*
are not an error: the compiler skips them, as runc and libseccomp do, so a profile written for a
newer kernel still loads.

``parse`` gives a ``Profile`` for any node; ``for_node`` then applies ``includes``/``excludes``
for this node's architecture, kernel and the container's capabilities (the bounding set, as
Docker does), giving the rules the compiler turns into BPF (``seccomp_bpf``).

Actions the runtime cannot honour are refused: ``SCMP_ACT_NOTIFY`` needs a seccomp agent
listening for the filter's notifications, and this runtime has none.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass, field

from runtime.linux.seccomp_syscalls import X86_64_ARCH, native

ACTIONS = frozenset({
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
})
OPERATORS = frozenset({
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
})
# seccomp(2) filter flags this runtime can pass; TSYNC is meaningless for the single-threaded
# process that installs the filter, so it is accepted and dropped (as runc does).
FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": 0, "SECCOMP_FILTER_FLAG_LOG": 2, "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4}
ARCHITECTURES = frozenset({
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
})
_NATIVE = native() or X86_64_ARCH
NATIVE_ARCH = _NATIVE.scmp
# The name Docker's ``includes``/``excludes`` use for this node's architecture (Go's GOARCH).
NATIVE_GOARCH = _NATIVE.goarch
MAX_ARGUMENTS = 6
MAX_ERRNO = 4095
UINT64_MAX = (1 << 64) - 1


class ProfileError(ValueError):
    """The profile cannot be used; the message says where it is wrong and how."""


@dataclass(frozen=True)
class Action:
    name: str
    errno: int | None = None  # ERRNO and TRACE only; None means EPERM, as runc defaults it


@dataclass(frozen=True)
class Condition:
    index: int
    op: str
    value: int
    value_two: int = 0  # the datum compared after masking, for SCMP_CMP_MASKED_EQ


@dataclass(frozen=True)
class NodeFilter:
    """A rule's ``includes`` or ``excludes``: empty fields match nothing in particular."""

    arches: tuple[str, ...] = ()
    caps: tuple[str, ...] = ()
    min_kernel: tuple[int, int] | None = None


@dataclass(frozen=True)
class Rule:
    names: tuple[str, ...]
    action: Action
    conditions: tuple[Condition, ...] = ()
    includes: NodeFilter = field(default_factory=NodeFilter)
    excludes: NodeFilter = field(default_factory=NodeFilter)


@dataclass(frozen=True)
class Profile:
    default_action: Action
    architectures: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    @property
    def flag_bits(self) -> int:
        bits = 0
        for name in self.flags:
            bits |= FLAGS[name]
        return bits


@dataclass(frozen=True)
class Node:
    """What ``includes``/``excludes`` are judged against."""

    capabilities: frozenset[str]
    kernel: tuple[int, int]
    arch: str = NATIVE_GOARCH


def parse(text: str | bytes) -> Profile | None:
    """The profile in ``text``; None when it asks for no filter at all (``{}``, as Docker reads it)."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise ProfileError(f"not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ProfileError("the profile must be a JSON object")
    syscalls = _list(data, "syscalls", "syscalls")
    if not data.get("defaultAction") and not syscalls:
        return None
    if data.get("architectures") and data.get("archMap"):
        raise ProfileError("both 'architectures' and 'archMap' are set; use one of them")
    if data.get("listenerPath"):
        raise ProfileError("'listenerPath' is set, but this runtime has no seccomp agent to send notifications to")
    default = _action(data.get("defaultAction"), data.get("defaultErrnoRet"), "defaultAction", "defaultErrnoRet")
    rules = tuple(_rule(entry, f"syscalls[{i}]") for i, entry in enumerate(syscalls))
    return Profile(default_action=default, architectures=_architectures(data), flags=_flags(data), rules=rules)


def for_node(profile: Profile, node: Node) -> Profile:
    """The profile with only the rules whose ``includes``/``excludes`` fit ``node``."""
    kept = tuple(rule for rule in profile.rules if _applies(rule, node))
    return Profile(profile.default_action, profile.architectures, profile.flags, kept)


def this_node(capabilities: list[str]) -> Node:
    return Node(capabilities=frozenset(capabilities), kernel=kernel_version(platform.release()))


def kernel_version(release: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", release)
    if not match:
        raise ProfileError(f"cannot read a kernel version from {release!r}")
    return int(match.group(1)), int(match.group(2))


def _applies(rule: Rule, node: Node) -> bool:
    out = rule.excludes
    if node.arch in out.arches or any(cap in node.capabilities for cap in out.caps):
        return False
    if out.min_kernel is not None and node.kernel >= out.min_kernel:
        return False
    into = rule.includes
    if into.arches and node.arch not in into.arches:
        return False
    if not all(cap in node.capabilities for cap in into.caps):
        return False
    return into.min_kernel is None or node.kernel >= into.min_kernel


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProfileError(f"{where}: must be a list, not {type(value).__name__}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ProfileError(f"{where}: must be a string, not {type(value).__name__}")
    return value


def _uint(value: object, where: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ProfileError(f"{where}: must be an integer from 0 to {limit}, not {value!r}")
    return value


def _action(name: object, errno_ret: object, where: str, errno_where: str) -> Action:
    if name is None or name == "":
        raise ProfileError(f"{where}: missing; say what to do, e.g. SCMP_ACT_ERRNO or SCMP_ACT_ALLOW")
    name = _string(name, where)
    if name not in ACTIONS:
        raise ProfileError(f"{where}: unknown action {name!r}; known: {', '.join(sorted(ACTIONS))}")
    if name == "SCMP_ACT_NOTIFY":
        raise ProfileError(f"{where}: SCMP_ACT_NOTIFY needs a seccomp agent listening for notifications; "
                           "this runtime has none")
    errno = None
    if errno_ret is not None and name in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        errno = _uint(errno_ret, errno_where, MAX_ERRNO)
    return Action(name, errno)


def _architectures(data: dict) -> tuple[str, ...]:
    names: list[str] = []
    if data.get("architectures"):
        names = [_string(a, f"architectures[{i}]") for i, a in enumerate(_list(data, "architectures", "architectures"))]
    for i, entry in enumerate(_list(data, "archMap", "archMap")):
        if not isinstance(entry, dict):
            raise ProfileError(f"archMap[{i}]: must be an object")
        arch = _string(entry.get("architecture"), f"archMap[{i}].architecture")
        subs = [_string(s, f"archMap[{i}].subArchitectures[{j}]")
                for j, s in enumerate(_list(entry, "subArchitectures", f"archMap[{i}].subArchitectures"))]
        for j, name in enumerate([arch, *subs]):
            if name not in ARCHITECTURES:
                raise ProfileError(f"archMap[{i}]: unknown architecture {name!r}" + ("" if j == 0 else " in subArchitectures"))
        if arch == NATIVE_ARCH:  # Docker keeps only the entry for the node's own architecture
            names = [arch, *subs]
    for i, name in enumerate(names):
        if name not in ARCHITECTURES:
            raise ProfileError(f"architectures[{i}]: unknown architecture {name!r}")
    return tuple(names)


def _flags(data: dict) -> tuple[str, ...]:
    flags = []
    for i, flag in enumerate(_list(data, "flags", "flags")):
        flag = _string(flag, f"flags[{i}]")
        if flag not in FLAGS:
            raise ProfileError(f"flags[{i}]: unsupported flag {flag!r}; supported: {', '.join(sorted(FLAGS))}")
        flags.append(flag)
    return tuple(flags)


def _rule(entry: object, where: str) -> Rule:
    if not isinstance(entry, dict):
        raise ProfileError(f"{where}: must be an object")
    names = [_string(n, f"{where}.names[{i}]") for i, n in enumerate(_list(entry, "names", f"{where}.names"))]
    if entry.get("name"):
        if names:
            raise ProfileError(f"{where}: both 'name' and 'names' are set; use one of them")
        names = [_string(entry["name"], f"{where}.name")]
    action = _action(entry.get("action"), entry.get("errnoRet"), f"{where}.action", f"{where}.errnoRet")
    conditions = tuple(_condition(arg, f"{where}.args[{i}]") for i, arg in enumerate(_list(entry, "args", f"{where}.args")))
    return Rule(names=tuple(names), action=action, conditions=conditions,
                includes=_node_filter(entry.get("includes"), f"{where}.includes"),
                excludes=_node_filter(entry.get("excludes"), f"{where}.excludes"))


def _condition(arg: object, where: str) -> Condition:
    if not isinstance(arg, dict):
        raise ProfileError(f"{where}: must be an object")
    op = _string(arg.get("op"), f"{where}.op")
    if op not in OPERATORS:
        raise ProfileError(f"{where}.op: unknown operator {op!r}; known: {', '.join(sorted(OPERATORS))}")
    return Condition(index=_uint(arg.get("index", 0), f"{where}.index", MAX_ARGUMENTS - 1), op=op,
                     value=_uint(arg.get("value", 0), f"{where}.value", UINT64_MAX),
                     value_two=_uint(arg.get("valueTwo", 0), f"{where}.valueTwo", UINT64_MAX))


def _node_filter(value: object, where: str) -> NodeFilter:
    if value is None:
        return NodeFilter()
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: must be an object")
    arches = tuple(_string(a, f"{where}.arches[{i}]") for i, a in enumerate(_list(value, "arches", f"{where}.arches")))
    caps = tuple(_string(c, f"{where}.caps[{i}]") for i, c in enumerate(_list(value, "caps", f"{where}.caps")))
    min_kernel = None
    if value.get("minKernel"):
        text = _string(value["minKernel"], f"{where}.minKernel")
        match = re.fullmatch(r"(\d+)\.(\d+)", text)
        if not match:
            raise ProfileError(f"{where}.minKernel: {text!r} is not a kernel version like \"4.8\"")
        min_kernel = (int(match.group(1)), int(match.group(2)))
    return NodeFilter(arches=arches, caps=caps, min_kernel=min_kernel)
