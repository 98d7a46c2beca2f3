"""rtnetlink through pyroute2: the bridge, veth pairs, pod-side addressing and node routes.

``Netlink`` is one rtnetlink session in one network namespace: the node's (the calling thread's)
by default, or a pod's when given the namespace path (see ``netns_linux``). Every kernel refusal
becomes ``errors.NetlinkError`` carrying the errno and what was attempted; absence is reported by
return values (``None``, ``False``) where callers need idempotence.

Routes we program to other nodes carry our own routing protocol number (``ROUTE_PROTOCOL``) so
we can list and remove exactly the routes we made and never touch anyone else's.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError as PyRoute2NetlinkError

from runtime.network.errors import NetlinkError
from runtime.network.netns_linux import netlink_socket_in

ROUTE_PROTOCOL = 107  # rtm_protocol marking kybernetes' host-gw routes (unassigned in rt_protos)
MAIN_TABLE = 254
IFF_UP = 0x1
LOOPBACK_INDEX = 1  # the kernel registers lo first in every namespace, always as ifindex 1


@dataclass(frozen=True)
class LinkInfo:
    index: int
    name: str
    kind: str
    up: bool
    master: int | None
    addresses: tuple[str, ...]  # "a.b.c.d/len"


def local_link_index(name: str) -> int | None:
    """Index of a link in the calling thread's namespace, by ioctl (no netlink session needed)."""
    try:
        return socket.if_nametoindex(name)
    except OSError as e:
        if e.errno in (None, errno.ENODEV):  # Python reports "no such interface" without errno
            return None
        raise NetlinkError(f"look up link {name}", e.errno) from e


class Netlink:
    """One rtnetlink session; use as a context manager so the socket is always closed."""

    def __init__(self, netns_path: str | None = None) -> None:
        self.where = netns_path or "the node namespace"
        self._local = netns_path is None
        try:
            if netns_path is None:
                self._ipr = IPRoute(groups=0)
            else:
                sock = netlink_socket_in(netns_path)
                self._ipr = IPRoute(fileno=sock.detach(), groups=0)
        except OSError as e:
            raise NetlinkError(f"open a netlink session in {self.where}", e.errno) from e

    def close(self) -> None:
        self._ipr.close()

    def __enter__(self) -> Netlink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, op: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._ipr, method)(*args, **kwargs)
        except PyRoute2NetlinkError as e:
            raise NetlinkError(f"{op} in {self.where}", e.code) from e
        except OSError as e:
            raise NetlinkError(f"{op} in {self.where}", e.errno) from e

    # links -------------------------------------------------------------------------------

    def index_of(self, name: str) -> int | None:
        if self._local:
            # The node's namespace is the calling thread's: an ioctl is far cheaper than
            # decoding a whole RTM_NEWLINK message.
            return local_link_index(name)
        found = self._call(f"look up link {name}", "link_lookup", ifname=name)
        return found[0] if found else None

    def link(self, name: str) -> LinkInfo | None:
        index = self.index_of(name)
        if index is None:
            return None
        try:
            msgs = self._call(f"read link {name}", "get_links", index)
        except NetlinkError as e:
            if e.errno == errno.ENODEV:
                return None
            raise
        msg = msgs[0]
        addrs = self._call(f"read addresses of {name}", "get_addr", index=index, family=2)
        return LinkInfo(
            index=index,
            name=name,
            kind=msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") or "",
            up=bool(msg["flags"] & IFF_UP),
            master=msg.get("master"),
            addresses=tuple(f"{a.get('address')}/{a['prefixlen']}" for a in addrs),
        )

    def create_bridge(self, name: str, mac: str) -> int:
        """Create a bridge with a fixed MAC (so it does not change as ports come and go)."""
        self._call(f"create bridge {name}", "link", "add", ifname=name, kind="bridge", address=mac)
        index = self.index_of(name)
        if index is None:
            raise NetlinkError(f"find bridge {name} after creating it in {self.where}", errno.ENODEV)
        return index

    def ensure_address(self, index: int, interface: ipaddress.IPv4Interface) -> None:
        try:
            self._call(
                f"add address {interface} to link {index}",
                "addr",
                "add",
                index=index,
                address=str(interface.ip),
                prefixlen=interface.network.prefixlen,
            )
        except NetlinkError as e:
            if e.errno != errno.EEXIST:
                raise

    def set_up(self, index: int, name: str = "") -> None:
        self._call(f"set link {name or index} up", "link", "set", index=index, state="up")

    def create_veth(self, host_name: str, peer_name: str, peer_netns_fd: int) -> int:
        """Create a veth pair whose peer is born inside the pod namespace (no name clash on the node)."""
        self._call(
            f"create veth {host_name} with peer {peer_name} in the pod namespace",
            "link",
            "add",
            ifname=host_name,
            kind="veth",
            peer={"ifname": peer_name, "net_ns_fd": peer_netns_fd},
        )
        index = self.index_of(host_name)
        if index is None:
            raise NetlinkError(f"find veth {host_name} after creating it in {self.where}", errno.ENODEV)
        return index

    def enslave_and_up(self, index: int, master: int, name: str = "") -> None:
        self._call(
            f"attach {name or index} to bridge {master} and set it up",
            "link",
            "set",
            index=index,
            master=master,
            state="up",
        )

    def set_hairpin(self, index: int, name: str = "") -> None:
        """Let the bridge send a frame back out of the port it came in on (IFLA_BRPORT_MODE)."""
        self._call(
            f"enable hairpin mode on bridge port {name or index}", "brport", "set", index=index, mode=1
        )

    def delete_link(self, name: str) -> bool:
        """Delete a link by name; False if it did not exist (already gone is fine)."""
        index = self.index_of(name)
        if index is None:
            return False
        try:
            self._call(f"delete link {name}", "link", "del", index=index)
        except NetlinkError as e:
            if e.errno == errno.ENODEV:
                return False
            raise
        return True

    # pod side ----------------------------------------------------------------------------

    def configure_pod_interface(
        self, ifname: str, interface: ipaddress.IPv4Interface, gateway: ipaddress.IPv4Address
    ) -> None:
        """lo up; ``ifname`` gets the pod address and goes up; default route via the bridge."""
        self.set_up(LOOPBACK_INDEX, "lo")
        index = self.index_of(ifname)
        if index is None:
            raise NetlinkError(f"find {ifname} in {self.where}", errno.ENODEV)
        self.ensure_address(index, interface)
        self.set_up(index, ifname)
        self._call(
            f"add default route via {gateway}",
            "route",
            "replace",
            dst="0.0.0.0/0",
            gateway=str(gateway),
            oif=index,
        )

    # routes ------------------------------------------------------------------------------

    def our_routes(self) -> set[tuple[str, str]]:
        """(destination CIDR, gateway) of every main-table IPv4 route carrying ROUTE_PROTOCOL."""
        msgs = self._call("list host-gw routes", "route", "dump", family=2, proto=ROUTE_PROTOCOL)
        result = set()
        for msg in msgs:
            if msg["proto"] != ROUTE_PROTOCOL or msg.get("table") not in (None, MAIN_TABLE):
                continue
            dst = msg.get("dst") or "0.0.0.0"
            result.add((f"{dst}/{msg['dst_len']}", msg.get("gateway") or ""))
        return result

    def replace_route(self, dst: str, gateway: str) -> None:
        self._call(
            f"program route {dst} via {gateway}",
            "route",
            "replace",
            dst=dst,
            gateway=gateway,
            proto=ROUTE_PROTOCOL,
        )

    def delete_route(self, dst: str, gateway: str) -> None:
        try:
            self._call(
                f"remove route {dst} via {gateway}",
                "route",
                "del",
                dst=dst,
                gateway=gateway,
                proto=ROUTE_PROTOCOL,
            )
        except NetlinkError as e:
            if e.errno != errno.ESRCH:
                raise
