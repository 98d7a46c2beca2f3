"""One exception tree for pod networking.

Every failure the network layer can raise is a ``NetworkError``. Kernel failures (netlink,
iptables, sysctl, entering a namespace) carry the errno and a sentence saying what was being
attempted, so a log line or a gRPC status built from ``str(err)`` is actionable on its own.
The CRI server maps these to gRPC codes in its single error-mapping place; the intended mapping:

    InvalidNetworkConfig -> INVALID_ARGUMENT      HostPortConflict -> FAILED_PRECONDITION
    AlreadyAttached      -> ALREADY_EXISTS        IPAMExhausted    -> RESOURCE_EXHAUSTED
    NetnsNotFound        -> NOT_FOUND             NodeNotReady     -> UNAVAILABLE
    everything else      -> INTERNAL
"""

from __future__ import annotations

import errno as errno_module
import os


class NetworkError(Exception):
    """Base of every pod-network error: ``op`` says what was attempted, ``errno`` why (if known)."""

    def __init__(self, op: str, errno: int | None = None, detail: str = "") -> None:
        self.op = op
        self.errno = errno
        self.detail = detail
        parts = [op]
        if detail:
            parts.append(detail)
        elif errno is not None:
            name = errno_module.errorcode.get(errno, str(errno))
            parts.append(f"{os.strerror(errno)} ({name})")
        super().__init__(": ".join(parts))


class KernelError(NetworkError):
    """The kernel refused a request (netlink, iptables, sysctl, setns)."""


class NetlinkError(KernelError):
    """An rtnetlink request (links, addresses, routes) failed."""


class IptablesError(KernelError):
    """Reading or committing an iptables table failed."""


class SysctlError(KernelError):
    """Reading or writing a /proc/sys setting failed."""


class ConntrackError(KernelError):
    """Listing or deleting conntrack entries failed."""


class NetnsError(KernelError):
    """A network namespace could not be opened or entered."""


class NetnsNotFound(NetnsError):
    """The sandbox's network namespace path does not exist (any more)."""


class InvalidNetworkConfig(NetworkError):
    """Bad input (CIDR, port mapping, sandbox id, route); nothing was changed."""


class IPAMError(NetworkError):
    """The address allocator's state could not be read or written."""


class IPAMExhausted(IPAMError):
    """Every usable address of the pod CIDR is allocated."""


class HostPortConflict(NetworkError):
    """A requested hostPort is already mapped for another sandbox (or twice in one request)."""


class UnreadableAttachment(NetworkError):
    """An attachment record that does not parse: torn by a machine crash (it is written without
    a flush). It is set aside; what it said (the IP, the hostPorts) is lost, so whatever the
    sandbox may still hold is found by its name instead."""


class AlreadyAttached(NetworkError):
    """The sandbox already has a network attachment; detach it first."""


class NodeNotReady(NetworkError):
    """The node's bridge is not set up, so no pod can be attached."""
