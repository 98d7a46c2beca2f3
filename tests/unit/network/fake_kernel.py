"""A recording, in-memory stand-in for ``runtime.network.kernel.Kernel``.

It keeps just enough state (links, addresses, routes, rules, sysctls) for PodNetwork's logic to
be checked, records every call in ``calls``, and fails an operation on demand:
``kernel.fail["create_veth"] = NetlinkError(...)``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from runtime.network.errors import NetnsNotFound, NetworkError
from runtime.network.netlink_linux import LinkInfo
from runtime.network.rules import Rule


@dataclass
class FakeLink:
    index: int
    kind: str
    up: bool = False
    master: int | None = None
    addresses: list[str] = field(default_factory=list)
    hairpin: bool = False


class FakeKernel:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail: dict[str, NetworkError] = {}
        self.links: dict[str, FakeLink] = {}
        self.pod_links: dict[str, dict[str, FakeLink]] = {}  # netns path -> links there
        self.routes: set[tuple[str, str]] = set()
        self.sysctls: dict[str, str] = {"net.ipv4.ip_forward": "0"}
        self.node_rules: tuple[list[Rule], list[Rule]] | None = None
        self.sandbox_rules: dict[str, list[Rule]] = {}
        self.open_fds: dict[int, str] = {}
        self.namespaces: set[str] = set()
        self._next_index = 2
        self.packet_filter = FakePacketFilter(self)

    def record(self, op: str, *args: Any) -> None:
        self.calls.append((op, args))
        if op in self.fail:
            raise self.fail[op]

    def new_index(self) -> int:
        self._next_index += 1
        return self._next_index

    # Kernel ----------------------------------------------------------------------------------

    def netlink(self, netns_path: str | None = None) -> FakeNetlink:
        self.record("netlink", netns_path)
        return FakeNetlink(self, netns_path)

    def link_index(self, name: str) -> int | None:
        link = self.links.get(name)
        return link.index if link else None

    def open_netns(self, path: str) -> int:
        self.record("open_netns", path)
        if path not in self.namespaces:
            raise NetnsNotFound(f"open network namespace {path}", 2)
        fd = 100 + len(self.open_fds) + len(self.calls)
        self.open_fds[fd] = path
        return fd

    def close_netns(self, fd: int) -> None:
        del self.open_fds[fd]

    def sysctl_read(self, key: str) -> str:
        return self.sysctls[key]

    def sysctl_ensure(self, key: str, value: str) -> None:
        self.record("sysctl_ensure", key, value)
        self.sysctls[key] = value

    def forget_udp_flows(self, port: int) -> int:
        self.record("forget_udp_flows", port)
        return 0

    def kill_namespace(self, path: str) -> None:
        """The holder died: the pod's links vanish, and with them the node end of each veth."""
        self.namespaces.discard(path)
        for name in list(self.pod_links.pop(path, {})):
            peer = f"peer-of:{path}:{name}"
            for host, link in list(self.links.items()):
                if link.kind == "veth" and getattr(link, "peer", None) == peer:
                    del self.links[host]


class FakeNetlink:
    def __init__(self, kernel: FakeKernel, netns_path: str | None) -> None:
        self.k = kernel
        self.path = netns_path

    def __enter__(self) -> FakeNetlink:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _links(self) -> dict[str, FakeLink]:
        return self.k.links if self.path is None else self.k.pod_links.setdefault(self.path, {})

    def _by_index(self, index: int) -> FakeLink:
        return next(link for link in self._links().values() if link.index == index)

    def index_of(self, name: str) -> int | None:
        link = self._links().get(name)
        return link.index if link else None

    def link(self, name: str) -> LinkInfo | None:
        link = self._links().get(name)
        if link is None:
            return None
        return LinkInfo(link.index, name, link.kind, link.up, link.master, tuple(link.addresses))

    def create_bridge(self, name: str, mac: str) -> int:
        self.k.record("create_bridge", name, mac)
        self._links()[name] = FakeLink(self.k.new_index(), "bridge")
        return self._links()[name].index

    def ensure_address(self, index: int, interface: ipaddress.IPv4Interface) -> None:
        self.k.record("ensure_address", index, str(interface))
        link = self._by_index(index)
        if str(interface) not in link.addresses:
            link.addresses.append(str(interface))

    def set_up(self, index: int, name: str = "") -> None:
        self.k.record("set_up", index, name)
        self._by_index(index).up = True

    def create_veth(self, host_name: str, peer_name: str, peer_netns_fd: int) -> int:
        self.k.record("create_veth", host_name, peer_name, peer_netns_fd)
        path = self.k.open_fds[peer_netns_fd]
        link = FakeLink(self.k.new_index(), "veth")
        link.peer = f"peer-of:{path}:{peer_name}"  # type: ignore[attr-defined]
        self.k.links[host_name] = link
        self.k.pod_links.setdefault(path, {})[peer_name] = FakeLink(self.k.new_index(), "veth")
        return link.index

    def enslave_and_up(self, index: int, master: int, name: str = "") -> None:
        self.k.record("enslave_and_up", index, master, name)
        link = self._by_index(index)
        link.master, link.up = master, True

    def set_hairpin(self, index: int, name: str = "") -> None:
        self.k.record("set_hairpin", index, name)
        self._by_index(index).hairpin = True

    def delete_link(self, name: str) -> bool:
        self.k.record("delete_link", name)
        link = self._links().pop(name, None)
        if link is None:
            return False
        peer = getattr(link, "peer", "")
        if peer:
            _, path, peer_name = peer.split(":")
            self.k.pod_links.get(path, {}).pop(peer_name, None)
        return True

    def configure_pod_interface(
        self, ifname: str, interface: ipaddress.IPv4Interface, gateway: ipaddress.IPv4Address
    ) -> None:
        self.k.record("configure_pod_interface", self.path, ifname, str(interface), str(gateway))
        link = self._links()[ifname]
        link.addresses.append(str(interface))
        link.up = True

    def our_routes(self) -> set[tuple[str, str]]:
        return set(self.k.routes)

    def replace_route(self, dst: str, gateway: str) -> None:
        self.k.record("replace_route", dst, gateway)
        self.k.routes.add((dst, gateway))

    def delete_route(self, dst: str, gateway: str) -> None:
        self.k.record("delete_route", dst, gateway)
        self.k.routes.discard((dst, gateway))


class FakePacketFilter:
    def __init__(self, kernel: FakeKernel) -> None:
        self.k = kernel

    def install_node_rules(self, postrouting: list[Rule], forward: list[Rule]) -> None:
        self.k.record("install_node_rules")
        self.k.node_rules = (postrouting, forward)

    def remove_node_rules(self) -> None:
        self.k.record("remove_node_rules")
        self.k.node_rules = None

    def node_rules_present(self) -> bool:
        return self.k.node_rules is not None

    def add_sandbox_rules(self, sandbox_id: str, specs: list[Rule]) -> None:
        self.k.record("add_sandbox_rules", sandbox_id)
        self.k.sandbox_rules.setdefault(sandbox_id, []).extend(specs)

    def remove_sandbox_rules(self, sandbox_id: str) -> int:
        self.k.record("remove_sandbox_rules", sandbox_id)
        return len(self.k.sandbox_rules.pop(sandbox_id, []))
