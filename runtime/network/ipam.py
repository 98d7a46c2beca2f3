"""Host-local IPAM: pod addresses from the node's pod CIDR, persisted one file per address.

Layout under the IPAM directory (the same scheme as the CNI host-local plugin):

    <ip>              one file per allocated address, holding the owner (sandbox id)
    last_reserved_ip  the address handed out last, so allocation continues round-robin after it
    lock              flock'd around every allocation and release

State is written without fsync (see ``ondisk``: it does not outlive a reboot anyway).
Each address file is created with O_EXCL under the lock, so one address is never handed out
twice, whether the competing allocations come from threads or from processes sharing the
directory. Allocation resumes after ``last_reserved_ip`` and wraps around, which means a
released address is the last candidate to be reused, not the first; a pod that is quickly
recreated does not inherit the address of one that just went away while other addresses are
free. The network address, the gateway (first address, on the bridge) and the broadcast
address are never handed out.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from runtime.network.errors import InvalidNetworkConfig, IPAMError, IPAMExhausted
from runtime.network.ondisk import create_exclusive, flocked, write_atomic

log = logging.getLogger(__name__)

LAST_RESERVED = "last_reserved_ip"
LOCK = "lock"


def parse_pod_cidr(cidr: str) -> ipaddress.IPv4Network:
    """The pod CIDR as a network; it must be IPv4 and leave room for a gateway and one pod."""
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as e:
        raise InvalidNetworkConfig("parse pod CIDR", detail=f"{cidr!r}: {e}") from e
    if not isinstance(network, ipaddress.IPv4Network):
        raise InvalidNetworkConfig("parse pod CIDR", detail=f"{cidr}: only IPv4 pod CIDRs are supported")
    if network.prefixlen > 30:
        raise InvalidNetworkConfig(
            "parse pod CIDR", detail=f"{cidr}: a /{network.prefixlen} has no room for pods (at most /30)"
        )
    return network


class HostLocalIPAM:
    """Allocates addresses of one IPv4 CIDR to owners, with state in ``directory``."""

    def __init__(self, directory: Path, cidr: ipaddress.IPv4Network) -> None:
        self.directory = directory
        self.cidr = cidr
        self.gateway = cidr.network_address + 1
        self.first = cidr.network_address + 2
        self.last = cidr.broadcast_address - 1
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise IPAMError(f"create IPAM directory {directory}", e.errno) from e

    @property
    def size(self) -> int:
        """How many addresses can be handed out."""
        return int(self.last) - int(self.first) + 1

    def _lock(self, op: str) -> AbstractContextManager[None]:
        return flocked(self.directory / LOCK, op, error=IPAMError)

    def _candidates(self) -> Iterator[ipaddress.IPv4Address]:
        """Every usable address, starting just after the last reserved one (lazily: a /16 is big)."""
        start = self.first
        try:
            text = (self.directory / LAST_RESERVED).read_text().strip()
            reserved = ipaddress.IPv4Address(text)
            if self.first <= reserved < self.last:
                start = reserved + 1
        except (FileNotFoundError, ValueError):
            pass
        first, last, begin = int(self.first), int(self.last), int(start)
        for n in itertools.chain(range(begin, last + 1), range(first, begin)):
            yield ipaddress.IPv4Address(n)

    def allocate(self, owner: str) -> ipaddress.IPv4Address:
        """Reserve the next free address for ``owner``; IPAMExhausted when none is left."""
        with self._lock(f"allocate an address in {self.cidr}"):
            try:
                taken = set(os.listdir(self.directory))
                for address in self._candidates():
                    name = str(address)
                    if name in taken:
                        continue
                    if create_exclusive(self.directory / name, owner.encode(), durable=False):
                        write_atomic(self.directory / LAST_RESERVED, name.encode(), durable=False)
                        log.debug("allocated address", extra={"ip": name, "owner": owner})
                        return address
            except OSError as e:
                raise IPAMError(f"allocate an address in {self.cidr} for {owner}", e.errno) from e
        raise IPAMExhausted(
            f"allocate an address for {owner}",
            detail=f"pod CIDR {self.cidr} is exhausted: all {self.size} addresses are allocated",
        )

    def release_owner(self, owner: str) -> list[ipaddress.IPv4Address]:
        """Release every address held by ``owner`` (normally one); idempotent."""
        released = []
        with self._lock(f"release the addresses of {owner}"):
            for address, holder in self._read_allocations().items():
                if holder != owner:
                    continue
                try:
                    os.unlink(self.directory / str(address))
                except FileNotFoundError:
                    continue
                except OSError as e:
                    raise IPAMError(f"release {address} held by {owner}", e.errno) from e
                released.append(address)
        for address in released:
            log.debug("released address", extra={"ip": str(address), "owner": owner})
        return released

    def _read_allocations(self) -> dict[ipaddress.IPv4Address, str]:
        result: dict[ipaddress.IPv4Address, str] = {}
        try:
            names = os.listdir(self.directory)
        except OSError as e:
            raise IPAMError(f"list allocations in {self.directory}", e.errno) from e
        for name in names:
            try:
                address = ipaddress.IPv4Address(name)
            except ValueError:
                continue  # the lock file, last_reserved_ip, temporary files
            try:
                result[address] = (self.directory / name).read_text().strip()
            except FileNotFoundError:
                continue
            except OSError as e:
                raise IPAMError(f"read allocation {name}", e.errno) from e
        return result

    def allocations(self) -> dict[ipaddress.IPv4Address, str]:
        """Every allocated address of this CIDR and its owner (a snapshot)."""
        return {a: o for a, o in self._read_allocations().items() if a in self.cidr}

    def owned_by(self, owner: str) -> list[ipaddress.IPv4Address]:
        return sorted(a for a, o in self.allocations().items() if o == owner)
