"""Capability names and the set a container gets, computed as containerd computes it.

A container starts from Docker's default set (the one containerd's CRI plugin uses); the
security context's ``add``/``drop`` lists adjust it, where ``ALL`` in ``add`` grants every
capability the kernel knows and ``ALL`` in ``drop`` starts from none before adding. Names are
accepted with or without the ``CAP_`` prefix, in any case, as Kubernetes users write them.
"""

from __future__ import annotations

NAMES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
NUMBERS = {name: number for number, name in enumerate(NAMES)}

DEFAULT = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]


class UnknownCapability(ValueError):
    """A capability name that is neither ALL nor one the kernel defines."""


def canonical(name: str) -> str:
    """``net_admin`` / ``NET_ADMIN`` / ``CAP_NET_ADMIN`` -> ``CAP_NET_ADMIN`` (``ALL`` stays)."""
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    full = upper if upper.startswith("CAP_") else "CAP_" + upper
    if full not in NUMBERS:
        raise UnknownCapability(f"unknown capability {name!r}")
    return full


def effective_set(add: list[str], drop: list[str], privileged: bool, last_cap: int) -> list[str]:
    """The capability names a container process holds, in kernel order."""
    known = NAMES[: last_cap + 1]
    if privileged:
        return list(known)
    adds = [canonical(n) for n in add]
    drops = [canonical(n) for n in drop]
    caps = set(DEFAULT)
    if "ALL" in adds:
        caps = set(known)
    if "ALL" in drops:
        caps = set()
    caps.update(n for n in adds if n != "ALL")
    caps.difference_update(n for n in drops if n != "ALL")
    return [n for n in known if n in caps]


def mask(names: list[str]) -> int:
    """The kernel bitmask for a list of canonical names."""
    value = 0
    for name in names:
        value |= 1 << NUMBERS[name]
    return value
