"""The kernel as PodNetwork sees it: one small interface, one Linux implementation.

PodNetwork's logic (what to undo when an attach fails halfway, what makes detach safe to repeat,
why the network is not ready, which routes to add or remove) is tested without root against a
recording fake of ``Kernel``; the Linux implementation is tested as root in network namespaces.
"""

from __future__ import annotations

import ipaddress
import os
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol

from runtime.network import conntrack_linux, netns_linux, sysctl_linux
from runtime.network.iptables_linux import IptablesPacketFilter
from runtime.network.netlink_linux import LinkInfo, Netlink, local_link_index
from runtime.network.rules import Rule


class NetlinkSession(Protocol):
    """What PodNetwork does over rtnetlink (see ``netlink_linux.Netlink``)."""

    def __enter__(self) -> NetlinkSession: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def index_of(self, name: str) -> int | None: ...
    def link(self, name: str) -> LinkInfo | None: ...
    def create_bridge(self, name: str, mac: str) -> int: ...
    def ensure_address(self, index: int, interface: ipaddress.IPv4Interface) -> None: ...
    def set_up(self, index: int, name: str = "") -> None: ...
    def create_veth(self, host_name: str, peer_name: str, peer_netns_fd: int) -> int: ...
    def enslave_and_up(self, index: int, master: int, name: str = "") -> None: ...
    def set_hairpin(self, index: int, name: str = "") -> None: ...
    def delete_link(self, name: str) -> bool: ...
    def configure_pod_interface(
        self, ifname: str, interface: ipaddress.IPv4Interface, gateway: ipaddress.IPv4Address
    ) -> None: ...
    def our_routes(self) -> set[tuple[str, str]]: ...
    def replace_route(self, dst: str, gateway: str) -> None: ...
    def delete_route(self, dst: str, gateway: str) -> None: ...


class PacketFilter(Protocol):
    """What PodNetwork does with iptables (see ``iptables_linux.IptablesPacketFilter``)."""

    def install_node_rules(self, postrouting: list[Rule], forward: list[Rule]) -> None: ...
    def remove_node_rules(self) -> None: ...
    def node_rules_present(self) -> bool: ...
    def add_sandbox_rules(self, sandbox_id: str, specs: list[Rule]) -> None: ...
    def remove_sandbox_rules(self, sandbox_id: str) -> int: ...


class Kernel(Protocol):
    packet_filter: PacketFilter

    def netlink(self, netns_path: str | None = None) -> AbstractContextManager[NetlinkSession]: ...
    def link_index(self, name: str) -> int | None: ...
    def open_netns(self, path: str) -> int: ...
    def close_netns(self, fd: int) -> None: ...
    def sysctl_read(self, key: str) -> str: ...
    def sysctl_ensure(self, key: str, value: str) -> None: ...
    def forget_udp_flows(self, port: int) -> int: ...


class LinuxKernel:
    """The real thing, acting in the calling thread's network namespace."""

    def __init__(self) -> None:
        self.packet_filter: PacketFilter = IptablesPacketFilter()

    def netlink(self, netns_path: str | None = None) -> AbstractContextManager[NetlinkSession]:
        return Netlink(netns_path)

    def link_index(self, name: str) -> int | None:
        return local_link_index(name)

    def open_netns(self, path: str) -> int:
        return netns_linux.open_netns(path)

    def close_netns(self, fd: int) -> None:
        os.close(fd)

    def sysctl_read(self, key: str) -> str:
        return sysctl_linux.read(key)

    def sysctl_ensure(self, key: str, value: str) -> None:
        sysctl_linux.ensure(key, value)

    def forget_udp_flows(self, port: int) -> int:
        return conntrack_linux.forget_udp_flows(port)
