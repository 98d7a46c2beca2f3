"""hostPort mappings: the CRI PortMapping value, its validation and conflict detection.

A CRI PortMapping with ``host_port == 0`` only documents a container port and needs no rule, so
``hostport_mappings`` drops those. What remains becomes one DNAT rule each. Two mappings conflict
when they share protocol and host port and their host IPs overlap (an empty host IP means every
address of the node, so it overlaps with all). Conflicts are detected against the mappings the
node has recorded on disk, under the same lock that reserves them, so two concurrent sandboxes
can never both win one port.

A hostPort answers on the node's loopback too, as with the CNI portmap plugin: an empty host IP
covers 127.0.0.1 along with every other node address, and a loopback host IP (127.0.0.0/8) limits
the port to that address. The rules and sysctl that make loopback DNAT work are in rules.py and
podnetwork.py.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from runtime.network.errors import HostPortConflict, InvalidNetworkConfig

PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True)
class PortMapping:
    """One CRI PortMapping: protocol is "TCP", "UDP" or "SCTP"; host_ip "" means every address."""

    protocol: str
    container_port: int
    host_port: int
    host_ip: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "protocol": self.protocol,
            "container_port": self.container_port,
            "host_port": self.host_port,
            "host_ip": self.host_ip,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PortMapping:
        return cls(
            protocol=str(data["protocol"]),
            container_port=int(data["container_port"]),  # type: ignore[call-overload]
            host_port=int(data["host_port"]),  # type: ignore[call-overload]
            host_ip=str(data.get("host_ip") or ""),
        )

    def describe(self) -> str:
        where = self.host_ip or "*"
        return f"{self.protocol} {where}:{self.host_port}->{self.container_port}"


def _check_port(value: int, what: str, mapping: PortMapping) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise InvalidNetworkConfig(
            "validate port mapping", detail=f"{what} {value!r} of {mapping!r} is not in 1-65535"
        )


def normalize(mapping: PortMapping) -> PortMapping:
    """Validate one mapping and return it in canonical form (upper-case protocol, "" for any IP)."""
    protocol = str(mapping.protocol or "TCP").upper()
    if protocol not in PROTOCOLS:
        raise InvalidNetworkConfig(
            "validate port mapping",
            detail=f"protocol {mapping.protocol!r} of {mapping!r} is not one of {', '.join(PROTOCOLS)}",
        )
    _check_port(mapping.host_port, "host_port", mapping)
    _check_port(mapping.container_port, "container_port", mapping)
    host_ip = (mapping.host_ip or "").strip()
    if host_ip:
        try:
            address = ipaddress.ip_address(host_ip)
        except ValueError as e:
            raise InvalidNetworkConfig(
                "validate port mapping", detail=f"host_ip {host_ip!r} is not an IP address"
            ) from e
        if address.version != 4:
            raise InvalidNetworkConfig(
                "validate port mapping", detail=f"host_ip {host_ip}: only IPv4 hostPorts are supported"
            )
        host_ip = "" if address.is_unspecified else str(address)
    return PortMapping(protocol, mapping.container_port, mapping.host_port, host_ip)


def coerce(mapping: PortMapping | Mapping[str, object]) -> PortMapping:
    """A PortMapping from itself or from a dict with the same keys (as callers often hold them)."""
    if isinstance(mapping, PortMapping):
        return mapping
    try:
        return PortMapping.from_dict({"host_ip": "", **mapping})
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidNetworkConfig(
            "validate port mapping", detail=f"{mapping!r} is not a port mapping: {e}"
        ) from e


def hostport_mappings(mappings: Iterable[PortMapping | Mapping[str, object]]) -> list[PortMapping]:
    """The mappings that need DNAT rules, validated, without duplicates; conflicts inside raise."""
    result: list[PortMapping] = []
    for given in mappings:
        mapping = coerce(given)
        if mapping.host_port == 0:
            continue
        canonical = normalize(mapping)
        if canonical in result:
            continue
        for earlier in result:
            if overlaps(earlier, canonical):
                raise HostPortConflict(
                    "reserve hostPort",
                    detail=f"{canonical.describe()} and {earlier.describe()} in one sandbox claim the same port",
                )
        result.append(canonical)
    return result


def overlaps(a: PortMapping, b: PortMapping) -> bool:
    """True when both would receive the same packets (same protocol, port, overlapping host IP)."""
    if a.protocol != b.protocol or a.host_port != b.host_port:
        return False
    return not a.host_ip or not b.host_ip or a.host_ip == b.host_ip


def check_conflicts(
    sandbox_id: str, wanted: Iterable[PortMapping], taken: Mapping[str, Iterable[PortMapping]]
) -> None:
    """Raise HostPortConflict if a wanted mapping overlaps one held by another sandbox."""
    for mapping in wanted:
        for owner, held in taken.items():
            if owner == sandbox_id:
                continue
            for other in held:
                if overlaps(mapping, other):
                    raise HostPortConflict(
                        "reserve hostPort",
                        detail=f"{mapping.describe()} is already mapped to sandbox {owner} ({other.describe()})",
                    )
