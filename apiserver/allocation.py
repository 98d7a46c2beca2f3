"""Service ClusterIPs, NodePorts and Node podCIDRs, allocated through the store itself.

Each allocated item is one key (``/registry/ranges/serviceips/10.96.0.10``) created with the
store's create-if-absent, so two apiservers on one etcd can never hand out the same item: the
loser of a race gets KeyExists and tries the next free one. Keys are created *before* the object
that uses them is written and deleted after it is gone; a failed write rolls its reservations
back, so the only leak is a crash between the two steps (a repair pass at start frees items no
object refers to).

A request goes through a ``Reservation``: items taken for it, and items to free once the new
object is stored (an update that drops a NodePort). Exhaustion and conflicts are ``APIError``s
worded like upstream's.
"""

from __future__ import annotations

import ipaddress
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

from apiserver import errors
from apiserver.storage.interface import KeyExists, KeyNotFound, Store

RANGES_PREFIX = "/registry/ranges/"
NODE_PORT_MIN, NODE_PORT_MAX = 30000, 32767


class RangeFull(Exception):
    pass


class Taken(Exception):
    pass


class OutOfRange(Exception):
    pass


class ItemRange:
    """A set of string items (IPs, ports, CIDRs) backed by one key per allocated item."""

    def __init__(self, store: Store, name: str, size: int, item_at: Callable[[int], str],
                 index_of: Callable[[str], int], sequential: bool = False) -> None:
        self.store = store
        self.prefix = f"{RANGES_PREFIX}{name}/"
        self.size = size
        self._item_at = item_at
        self._index_of = index_of
        self.sequential = sequential  # first free item (podCIDRs) rather than a random one (IPs, ports)

    def _key(self, item: str) -> str:
        return self.prefix + item.replace("/", "_")

    def contains(self, item: str) -> bool:
        try:
            idx = self._index_of(item)
        except ValueError:
            return False
        return idx is not None and 0 <= idx < self.size

    async def taken(self) -> set[str]:
        kvs, _, _ = await self.store.list(self.prefix)
        return {kv.key[len(self.prefix):].replace("_", "/") for kv in kvs}

    async def allocate(self, owner: str) -> str:
        taken = await self.taken()
        if len(taken) >= self.size:
            raise RangeFull()
        start = 0 if self.sequential else random.randrange(self.size)
        for i in _scan(start, self.size):
            item = self._item_at(i)
            if item in taken:
                continue
            try:
                await self.store.create(self._key(item), json.dumps({"owner": owner}).encode())
                return item
            except KeyExists:
                taken.add(item)
        raise RangeFull()

    async def allocate_specific(self, item: str, owner: str) -> None:
        if not self.contains(item):
            raise OutOfRange()
        try:
            await self.store.create(self._key(item), json.dumps({"owner": owner}).encode())
        except KeyExists as e:
            raise Taken() from e

    async def release(self, item: str) -> None:
        try:
            await self.store.delete(self._key(item))
        except KeyNotFound:
            pass

    async def owners(self) -> dict[str, str]:
        kvs, _, _ = await self.store.list(self.prefix)
        out = {}
        for kv in kvs:
            try:
                out[kv.key[len(self.prefix):].replace("_", "/")] = json.loads(kv.value).get("owner", "")
            except ValueError:
                out[kv.key[len(self.prefix):].replace("_", "/")] = ""
        return out


def _scan(start: int, size: int) -> Iterator[int]:
    for i in range(size):
        yield (start + i) % size


def ip_range(store: Store, cidr: str, name: str) -> ItemRange:
    net = ipaddress.ip_network(cidr, strict=False)
    first = int(net.network_address) + 1
    size = max(0, net.num_addresses - 2)  # no network or broadcast address

    def item_at(i: int) -> str:
        return str(ipaddress.ip_address(first + i))

    def index_of(item: str) -> int:
        return int(ipaddress.ip_address(item)) - first

    return ItemRange(store, name, size, item_at, index_of)


def port_range(store: Store, name: str, low: int = NODE_PORT_MIN, high: int = NODE_PORT_MAX) -> ItemRange:
    def index_of(item: str) -> int:
        return int(item) - low

    return ItemRange(store, name, high - low + 1, lambda i: str(low + i), index_of)


def subnet_range(store: Store, cidr: str, mask: int, name: str) -> ItemRange:
    net = ipaddress.ip_network(cidr, strict=False)
    if mask < net.prefixlen:
        raise ValueError(f"node CIDR mask /{mask} is larger than the cluster CIDR {cidr}")
    step = 1 << (net.max_prefixlen - mask)
    base = int(net.network_address)

    def item_at(i: int) -> str:
        return f"{ipaddress.ip_address(base + i * step)}/{mask}"

    def index_of(item: str) -> int:
        sub = ipaddress.ip_network(item, strict=True)
        if sub.prefixlen != mask or not sub.subnet_of(net):  # type: ignore[arg-type]
            raise ValueError(item)
        return (int(sub.network_address) - base) // step

    return ItemRange(store, name, 1 << (mask - net.prefixlen), item_at, index_of, sequential=True)


class Reservation:
    """Items taken for one request, undone if the write fails; items freed once it succeeds."""

    def __init__(self) -> None:
        self.taken: list[tuple[ItemRange, str]] = []
        self.to_free: list[tuple[ItemRange, str]] = []

    async def rollback(self) -> None:
        for rng, item in self.taken:
            await rng.release(item)
        self.taken.clear()

    async def commit(self) -> None:
        for rng, item in self.to_free:
            await rng.release(item)
        self.to_free.clear()


def _owner(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


class ServiceAllocator:
    def __init__(self, store: Store, service_cidr: str) -> None:
        self.ips = ip_range(store, service_cidr, "serviceips")
        self.ports = port_range(store, "servicenodeports")
        self.cidr = service_cidr

    def first_ip(self) -> str:
        return self.ips._item_at(0)

    async def on_create(self, svc: dict[str, Any], res: Reservation) -> None:
        spec = svc.setdefault("spec", {})
        name = (svc.get("metadata") or {}).get("name", "")
        svc_type = spec.get("type") or "ClusterIP"
        if svc_type != "ExternalName":
            ip = spec.get("clusterIP") or (spec.get("clusterIPs") or [""])[0]
            if ip == "None":
                spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
            else:
                ip = await self._take_ip(ip, svc, res, name)
                spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
        if svc_type in ("NodePort", "LoadBalancer"):
            await self._take_node_ports(spec, {}, svc, res, name)

    async def on_update(self, new: dict[str, Any], old: dict[str, Any], res: Reservation) -> None:
        spec = new.setdefault("spec", {})
        old_spec = old.get("spec") or {}
        name = (new.get("metadata") or {}).get("name", "")
        new_type, old_type = spec.get("type") or "ClusterIP", old_spec.get("type") or "ClusterIP"
        old_ip = old_spec.get("clusterIP", "")
        if new_type == "ExternalName":
            if old_ip and old_ip != "None":
                res.to_free.append((self.ips, old_ip))
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        elif old_type == "ExternalName" or not old_ip:
            ip = spec.get("clusterIP", "")
            if ip != "None":
                ip = await self._take_ip(ip, new, res, name)
                spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        else:
            requested = spec.get("clusterIP") or ""
            if requested and requested != old_ip:
                raise errors.invalid("Service", "", name, [errors.StatusCause(
                    "FieldValueInvalid", "spec.clusterIPs[0]",
                    f'Invalid value: "{requested}": may not change once set')])
            spec["clusterIP"] = old_ip
            spec["clusterIPs"] = old_spec.get("clusterIPs") or [old_ip]
        old_ports = _node_ports(old_spec) if old_type in ("NodePort", "LoadBalancer") else {}
        if new_type in ("NodePort", "LoadBalancer"):
            await self._take_node_ports(spec, old_ports, new, res, name)
            kept = {str(p.get("nodePort")) for p in spec.get("ports") or []}
        else:
            for p in spec.get("ports") or []:
                p.pop("nodePort", None)
            kept = set()
        for port in old_ports.values():
            if port not in kept:
                res.to_free.append((self.ports, port))

    async def on_delete(self, svc: dict[str, Any]) -> None:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP") or ""
        if ip and ip != "None":
            await self.ips.release(ip)
        for port in _node_ports(spec).values():
            await self.ports.release(port)

    async def _take_ip(self, ip: str, svc: dict[str, Any], res: Reservation, name: str) -> str:
        if not ip:
            try:
                ip = await self.ips.allocate(_owner(svc))
            except RangeFull as e:
                raise errors.InternalError("Internal error occurred: failed to allocate a serviceIP: range is"
                                           f" full (service CIDR {self.cidr})") from e
            res.taken.append((self.ips, ip))
            return ip
        try:
            await self.ips.allocate_specific(ip, _owner(svc))
        except (Taken, OutOfRange) as e:
            why = ("provided IP is already allocated" if isinstance(e, Taken)
                   else f"provided IP is not in the valid range. The range of valid IPs is {self.cidr}")
            raise errors.invalid("Service", "", name, [errors.StatusCause(
                "FieldValueInvalid", "spec.clusterIPs",
                f'Invalid value: ["{ip}"]: failed to allocate IP {ip}: {why}')]) from e
        res.taken.append((self.ips, ip))
        return ip

    async def _take_node_ports(self, spec: dict[str, Any], old_ports: dict[str, str], svc: dict[str, Any],
                               res: Reservation, name: str) -> None:
        old_values = set(old_ports.values())
        for i, p in enumerate(spec.get("ports") or []):
            want = p.get("nodePort")
            if want:
                if str(want) in old_values:
                    continue
                try:
                    await self.ports.allocate_specific(str(want), _owner(svc))
                except (Taken, OutOfRange) as e:
                    why = ("provided port is already allocated" if isinstance(e, Taken) else
                           f"provided port is not in the valid range. The range of valid ports is"
                           f" {NODE_PORT_MIN}-{NODE_PORT_MAX}")
                    raise errors.invalid("Service", "", name, [errors.StatusCause(
                        "FieldValueInvalid", f"spec.ports[{i}].nodePort", f"Invalid value: {want}: {why}")]) \
                        from e
                res.taken.append((self.ports, str(want)))
                continue
            reuse = old_ports.get(_port_id(p))
            if reuse:
                p["nodePort"] = int(reuse)
                continue
            try:
                got = await self.ports.allocate(_owner(svc))
            except RangeFull as e:
                raise errors.InternalError("Internal error occurred: failed to allocate a nodePort: range is"
                                           f" full ({NODE_PORT_MIN}-{NODE_PORT_MAX})") from e
            res.taken.append((self.ports, got))
            p["nodePort"] = int(got)


def _port_id(p: dict[str, Any]) -> str:
    return f"{p.get('name', '')}/{p.get('port')}/{p.get('protocol', 'TCP')}"


def _node_ports(spec: dict[str, Any]) -> dict[str, str]:
    return {_port_id(p): str(p["nodePort"]) for p in spec.get("ports") or [] if p.get("nodePort")}


class NodeCIDRAllocator:
    def __init__(self, store: Store, cluster_cidr: str, mask: int) -> None:
        self.subnets = subnet_range(store, cluster_cidr, mask, "podcidrs")
        self.cidr = cluster_cidr

    async def on_create(self, node: dict[str, Any], res: Reservation) -> None:
        spec = node.setdefault("spec", {})
        name = (node.get("metadata") or {}).get("name", "")
        want = spec.get("podCIDR") or (spec.get("podCIDRs") or [""])[0]
        if want:
            try:
                await self.subnets.allocate_specific(want, _owner(node))
            except (Taken, OutOfRange, ValueError) as e:
                why = "already allocated" if isinstance(e, Taken) else f"not a subnet of {self.cidr} of the node size"
                raise errors.invalid("Node", "", name, [errors.StatusCause(
                    "FieldValueInvalid", "spec.podCIDR", f'Invalid value: "{want}": {why}')]) from e
        else:
            try:
                want = await self.subnets.allocate(_owner(node))
            except RangeFull as e:
                raise errors.InternalError(f"Internal error occurred: failed to allocate a pod CIDR: the cluster"
                                           f" CIDR {self.cidr} is full") from e
        res.taken.append((self.subnets, want))
        spec["podCIDR"] = want
        spec["podCIDRs"] = [want]

    async def on_update(self, new: dict[str, Any], old: dict[str, Any]) -> None:
        old_spec = old.get("spec") or {}
        spec = new.setdefault("spec", {})
        if old_spec.get("podCIDR"):
            spec["podCIDR"] = old_spec["podCIDR"]
            spec["podCIDRs"] = old_spec.get("podCIDRs") or [old_spec["podCIDR"]]

    async def on_delete(self, node: dict[str, Any]) -> None:
        cidr = (node.get("spec") or {}).get("podCIDR")
        if cidr:
            await self.subnets.release(cidr)


async def leaked(rng: ItemRange, in_use: set[str]) -> dict[str, int]:
    """Reserved items no object uses, with the revision each was reserved at."""
    kvs, _, _ = await rng.store.list(rng.prefix)
    out = {}
    for kv in kvs:
        item = kv.key[len(rng.prefix):].replace("_", "/")
        if item not in in_use:
            out[item] = kv.create_revision
    return out


def services_in_use(services: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    ips: set[str] = set()
    ports: set[str] = set()
    for svc in services:
        spec = svc.get("spec") or {}
        ips.update(ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP") or ""] if ip and ip != "None")
        ports.update(_node_ports(spec).values())
    return ips, ports


def cidrs_in_use(nodes: list[dict[str, Any]]) -> set[str]:
    return {str((n.get("spec") or {})["podCIDR"]) for n in nodes if (n.get("spec") or {}).get("podCIDR")}
