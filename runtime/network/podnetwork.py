"""PodNetwork: the node's pod network, as RunPodSandbox and RemovePodSandbox use it.

    node:   kyb0 (bridge, first address of the pod CIDR) ---- kybXXXXXXXXXXXX (host end of a veth)
                                                                    |
    pod netns:                                                     eth0 (pod IP), lo, default via kyb0

The steps and what undoes them:

    ensure_node  bridge + address + up, ip_forward=1, route_localnet=1 on the bridge, our
                 iptables chains and jumps
    attach       reserve (record + IP + hostPorts, under a lock) -> veth born with its peer in the
                 pod netns -> pod side addressed and routed -> host end on the bridge -> DNAT rules
    detach       DNAT rules -> host veth (takes the pod end with it) -> IP -> record
    set_routes   desired host-gw routes vs. the routes carrying our protocol number
    teardown     jumps and chains, routes, bridge (ip_forward stays on: other software may rely on it;
                 the bridge's route_localnet goes with the bridge)

A failed attach undoes whatever it made before re-raising, so the caller never has to clean up
after a failure. Detach works from the on-disk record alone and succeeds when anything (or
everything) is already gone, so RemovePodSandbox can call it any number of times, also after the
pod's namespace holder died.

Kernel state is changed in the namespace of the calling thread (the node's namespace in the
runtime). ``bridge-nf-call-iptables`` is left as the node has it, and both settings work: with
it off, a pod reaching its own node's hostPort is routed through the node, DNAT'd and
masqueraded (the hairpin rule); with it on (the kernel default once br_netfilter is loaded),
the DNAT happens while the frame is being bridged, and when the destination is the very pod
that sent it the frame must leave through the port it came in on, which is why every pod's
bridge port has hairpin mode on. KYB-FORWARD accepts pod traffic either way.
hostPorts also answer on the node's 127.0.0.1, as containerd's CNI portmap plugin makes them:
the kernel only routes a 127/8 source (the DNAT'd request) or destination (the de-masqueraded
reply) over an interface with ``route_localnet``, so it is set on our bridge and on no other
interface. The cost is the one the portmap plugin accepts too: the kernel no longer drops 127/8
destinations arriving on the bridge, so a pod that forges them can reach the node's loopback
services. Nothing needs restoring on teardown: the per-interface setting disappears with the
bridge.
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from runtime.network import rules
from runtime.network.attachments import Attachment, AttachmentStore, check_sandbox_id
from runtime.network.errors import (
    AlreadyAttached,
    InvalidNetworkConfig,
    NetlinkError,
    NetworkError,
    NodeNotReady,
    UnreadableAttachment,
)
from runtime.network.ipam import HostLocalIPAM, parse_pod_cidr
from runtime.network.kernel import Kernel, LinuxKernel
from runtime.network.ondisk import flocked
from runtime.network.portmap import PortMapping, check_conflicts, hostport_mappings

log = logging.getLogger(__name__)

DEFAULT_BRIDGE = "kyb0"
POD_INTERFACE = "eth0"
HOST_VETH_PREFIX = "kyb"
IFNAMSIZ = 15


def host_veth_name(sandbox_id: str) -> str:
    """A stable, 15-character interface name for the node end of a sandbox's veth."""
    digest = hashlib.sha256(sandbox_id.encode()).hexdigest()
    return (HOST_VETH_PREFIX + digest)[:IFNAMSIZ]


def bridge_mac(pod_cidr: ipaddress.IPv4Network) -> str:
    """A fixed, locally administered MAC for the bridge, derived from the pod CIDR."""
    digest = hashlib.sha256(str(pod_cidr).encode()).digest()
    return "02:6b:79:" + ":".join(f"{b:02x}" for b in digest[:3])


def _check_interface_name(name: str) -> None:
    if (
        not name
        or len(name) > IFNAMSIZ
        or "/" in name
        or any(c.isspace() for c in name)
        or name in (".", "..")
    ):
        raise InvalidNetworkConfig("validate bridge name", detail=f"{name!r} is not a valid interface name")


def _parse_cluster_cidr(cidr: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as e:
        raise InvalidNetworkConfig("parse cluster CIDR", detail=f"{cidr!r}: {e}") from e
    if not isinstance(network, ipaddress.IPv4Network):
        raise InvalidNetworkConfig("parse cluster CIDR", detail=f"{cidr}: only IPv4 is supported")
    return network


class PodNetwork:
    """Bridge + veth + host-local IPAM + hostPort DNAT + host-gw routes for one node."""

    def __init__(
        self,
        state_dir: Path,
        pod_cidr: str,
        cluster_cidr: str,
        bridge: str = DEFAULT_BRIDGE,
        kernel: Kernel | None = None,
    ) -> None:
        self.pod_cidr = parse_pod_cidr(pod_cidr)
        self.cluster_cidr = _parse_cluster_cidr(cluster_cidr)
        if not self.pod_cidr.subnet_of(self.cluster_cidr):
            raise InvalidNetworkConfig(
                "validate pod CIDR",
                detail=f"pod CIDR {self.pod_cidr} is not inside cluster CIDR {self.cluster_cidr}",
            )
        _check_interface_name(bridge)
        self.bridge = bridge
        self.state_dir = Path(state_dir)
        self.ipam = HostLocalIPAM(self.state_dir / "ipam", self.pod_cidr)
        self.attachments = AttachmentStore(self.state_dir / "attachments")
        self.gateway = ipaddress.IPv4Interface(f"{self.ipam.gateway}/{self.pod_cidr.prefixlen}")
        self.kernel: Kernel = kernel or LinuxKernel()
        self._setup_error: str | None = None

    # node ---------------------------------------------------------------------------------

    def ensure_node(self) -> None:
        """Create or repair the bridge, forwarding and our iptables chains; safe to repeat."""
        started = time.monotonic()
        try:
            self._ensure_bridge()
            self.kernel.sysctl_ensure("net.ipv4.ip_forward", "1")
            self.kernel.sysctl_ensure(self._route_localnet_key, "1")
            self._ensure_rules()
        except NetworkError as e:
            self._setup_error = str(e)
            log.warning("node network setup failed", extra={"bridge": self.bridge, "error": str(e)})
            raise
        self._setup_error = None
        log.info(
            "node network ready",
            extra={
                "bridge": self.bridge,
                "pod_cidr": str(self.pod_cidr),
                "seconds": round(time.monotonic() - started, 4),
            },
        )

    def _ensure_bridge(self) -> None:
        with self.kernel.netlink() as nl:
            info = nl.link(self.bridge)
            if info is None:
                try:
                    index = nl.create_bridge(self.bridge, bridge_mac(self.pod_cidr))
                except NetlinkError as e:
                    if e.errno != errno.EEXIST:  # another caller made it first
                        raise
                    info = nl.link(self.bridge)
                    if info is None:
                        raise
                    index = info.index
            else:
                index = info.index
            if info is not None and info.kind != "bridge":
                raise NetlinkError(
                    f"set up bridge {self.bridge}",
                    detail=f"a {info.kind or 'non-bridge'} link named {self.bridge} already exists",
                )
            nl.ensure_address(index, self.gateway)
            nl.set_up(index, self.bridge)

    def _ensure_rules(self) -> None:
        self.kernel.packet_filter.install_node_rules(
            rules.postrouting_rules(self.pod_cidr, self.cluster_cidr, self.bridge),
            rules.forward_rules(self.pod_cidr),
        )

    @property
    def _route_localnet_key(self) -> str:
        return f"net.ipv4.conf.{self.bridge}.route_localnet"

    def status(self) -> tuple[bool, str]:
        """(NetworkReady, why not): checks the kernel, not just what we remember."""
        if self._setup_error is not None:
            return False, f"bridge {self.bridge} could not be set up: {self._setup_error}"
        try:
            with self.kernel.netlink() as nl:
                info = nl.link(self.bridge)
            if info is None:
                return False, f"bridge {self.bridge} does not exist: node network not set up"
            if info.kind != "bridge":
                return False, f"link {self.bridge} is a {info.kind or 'non-bridge'} link, not a bridge"
            if not info.up:
                return False, f"bridge {self.bridge} is down"
            if str(self.gateway) not in info.addresses:
                return False, f"bridge {self.bridge} lacks its gateway address {self.gateway}"
            if self.kernel.sysctl_read("net.ipv4.ip_forward") != "1":
                return False, "net.ipv4.ip_forward is off"

            if not self.kernel.packet_filter.node_rules_present():
                return False, f"masquerade chain {rules.POSTROUTING_CHAIN} is missing"
        except NetworkError as e:
            return False, f"checking the pod network failed: {e}"
        return True, ""

    def teardown_node(self) -> None:
        """Remove our jumps, chains, routes and the bridge; leave everything else alone."""

        self.kernel.packet_filter.remove_node_rules()
        with self.kernel.netlink() as nl:
            for dst, gateway in nl.our_routes():
                nl.delete_route(dst, gateway)
            nl.delete_link(self.bridge)
        log.info("node network removed", extra={"bridge": self.bridge})

    # pods ---------------------------------------------------------------------------------

    def attach(
        self, sandbox_id: str, netns_path: str, port_mappings: Sequence[PortMapping | Mapping[str, object]]
    ) -> str:
        """Give the sandbox's namespace an eth0 on the pod network; returns the pod IP.

        ``port_mappings`` are PortMapping values or dicts with the same keys; those with
        host_port 0 only document a port and are ignored.
        """
        started = time.monotonic()
        check_sandbox_id(sandbox_id)
        mappings = hostport_mappings(port_mappings)
        netns_fd = self.kernel.open_netns(netns_path)
        try:
            if self.kernel.link_index(self.bridge) is None:
                raise NodeNotReady(
                    f"attach sandbox {sandbox_id}", detail=f"bridge {self.bridge} does not exist"
                )
            record = self._reserve(sandbox_id, netns_path, mappings)
            try:
                self._plumb(record, netns_fd, netns_path)
            except BaseException:
                self._undo(record)
                raise
        finally:
            self.kernel.close_netns(netns_fd)
        log.info(
            "sandbox attached",
            extra={
                "sandbox_id": sandbox_id,
                "ip": record.ip,
                "veth": record.host_veth,
                "hostports": len(mappings),
                "seconds": round(time.monotonic() - started, 4),
            },
        )
        return record.ip

    def _reserve(self, sandbox_id: str, netns_path: str, mappings: list[PortMapping]) -> Attachment:
        with flocked(self.state_dir / "reservations.lock", f"reserve network for {sandbox_id}"):
            if self.attachments.get(sandbox_id) is not None:
                raise AlreadyAttached(
                    f"attach sandbox {sandbox_id}", detail="it is already attached; detach it first"
                )
            taken = {a.sandbox_id: a.port_mappings for a in self.attachments.all()}
            check_conflicts(sandbox_id, mappings, taken)
            ip = self.ipam.allocate(sandbox_id)
            record = Attachment(sandbox_id, str(ip), host_veth_name(sandbox_id), netns_path, tuple(mappings))
            try:
                self.attachments.put(record)
            except BaseException:
                self.ipam.release_owner(sandbox_id)
                raise
            return record

    def _plumb(self, record: Attachment, netns_fd: int, netns_path: str) -> None:
        address = ipaddress.IPv4Interface(f"{record.ip}/{self.pod_cidr.prefixlen}")
        with self.kernel.netlink() as nl:
            nl.delete_link(record.host_veth)  # a leftover of ours from a crash, never someone else's
            bridge_index = nl.index_of(self.bridge)
            if bridge_index is None:
                raise NodeNotReady(
                    f"attach sandbox {record.sandbox_id}", detail=f"bridge {self.bridge} vanished"
                )
            host_index = nl.create_veth(record.host_veth, POD_INTERFACE, netns_fd)
            nl.enslave_and_up(host_index, bridge_index, record.host_veth)
            nl.set_hairpin(host_index, record.host_veth)
        with self.kernel.netlink(netns_path) as pod:
            pod.configure_pod_interface(POD_INTERFACE, address, self.gateway.ip)
        if record.port_mappings:
            specs = rules.hostport_rules(record.sandbox_id, address.ip, record.port_mappings)
            self.kernel.packet_filter.add_sandbox_rules(record.sandbox_id, specs)
            self._forget_udp_flows(record)

    def _undo(self, record: Attachment) -> None:
        """Best effort: each step is tried even when an earlier one fails; failures are logged."""
        try:
            self._remove(record.sandbox_id, record)
        except NetworkError as e:
            log.error(
                "cleanup after failed attach incomplete",
                extra={"sandbox_id": record.sandbox_id, "error": str(e)},
            )

    def _forget_udp_flows(self, record: Attachment) -> None:
        """UDP flows to a hostPort keep their old DNAT target until forgotten (see conntrack_linux).

        Best effort: stale flows only delay traffic until they time out, which is no reason to
        fail a sandbox, so a failure is logged, not raised.
        """
        for mapping in record.port_mappings:
            if mapping.protocol != "UDP":
                continue
            try:
                self.kernel.forget_udp_flows(mapping.host_port)
            except NetworkError as e:
                log.warning(
                    "could not forget UDP flows to a hostPort",
                    extra={"sandbox_id": record.sandbox_id, "port": mapping.host_port, "error": str(e)},
                )

    def detach(self, sandbox_id: str, netns_path: str | None) -> None:
        """Remove everything attach made for the sandbox; fine if some or all of it is gone."""
        check_sandbox_id(sandbox_id)
        try:
            record = self.attachments.get(sandbox_id)
        except UnreadableAttachment:
            record = None
        # A record set aside as unreadable no longer says what the sandbox held: remove all that
        # may be there, by name.
        unreadable = record is None and self.attachments.was_set_aside(sandbox_id)
        self._remove(sandbox_id, record, any_rules=unreadable)
        if unreadable:
            self.attachments.forget_set_aside(sandbox_id)
        log.info("sandbox detached", extra={"sandbox_id": sandbox_id, "netns": netns_path or ""})

    def _remove(self, sandbox_id: str, record: Attachment | None, any_rules: bool = False) -> None:
        """``any_rules``: remove the sandbox's hostPort rules even with no record saying it has any."""
        errors: list[NetworkError] = []
        if any_rules or (record is not None and record.port_mappings):
            try:
                self.kernel.packet_filter.remove_sandbox_rules(sandbox_id)
            except NetworkError as e:
                errors.append(e)
        veth = record.host_veth if record is not None else host_veth_name(sandbox_id)
        try:
            with self.kernel.netlink() as nl:
                nl.delete_link(veth)  # deleting one end of a veth pair deletes the pod's eth0 too
        except NetworkError as e:
            errors.append(e)
        if errors:
            raise errors[0]  # keep the record and the IP, so a retry can finish the job
        if record is not None:
            self._forget_udp_flows(record)
        self.ipam.release_owner(sandbox_id)
        self.attachments.delete(sandbox_id)

    def ip_of(self, sandbox_id: str) -> str | None:
        check_sandbox_id(sandbox_id)
        try:
            record = self.attachments.get(sandbox_id)
        except UnreadableAttachment:
            return None
        return record.ip if record is not None else None

    def attached(self) -> dict[str, str]:
        """sandbox id -> pod IP of every attachment on record (for reconciling after a restart)."""
        return {a.sandbox_id: a.ip for a in self.attachments.all()}

    def release_unknown(self, known_sandbox_ids: Iterable[str]) -> list[str]:
        """Detach every attachment whose sandbox is not in ``known_sandbox_ids``.

        For the runtime after a restart: a sandbox removed while the daemon was down, or a
        removal that crashed halfway, leaves an attachment only this can find. Returns the ids
        detached; a failure for one is logged and the rest still go.
        """
        known = set(known_sandbox_ids)
        released = []
        for attachment in self.attachments.all():
            if attachment.sandbox_id in known:
                continue
            try:
                self._remove(attachment.sandbox_id, attachment)
            except NetworkError as e:
                log.warning(
                    "could not release a stale attachment",
                    extra={"sandbox_id": attachment.sandbox_id, "error": str(e)},
                )
                continue
            released.append(attachment.sandbox_id)
        # A record set aside as unreadable (see runtime.network.attachments) no longer says what
        # its sandbox held: for one the runtime no longer has, remove all that may be there.
        for sandbox_id in self.attachments.set_aside():
            if sandbox_id in known:
                continue  # its detach does the same, when the sandbox goes
            try:
                self.detach(sandbox_id, None)
            except NetworkError as e:
                log.warning("could not release a stale attachment", extra={"sandbox_id": sandbox_id, "error": str(e)})
                continue
            released.append(sandbox_id)
        # An address reserved by an attach that died before it wrote the attachment record has
        # no record at all: only the allocation names its owner.
        recorded = {a.sandbox_id for a in self.attachments.all()} | set(self.attachments.set_aside())
        for owner in sorted(set(self.ipam.allocations().values()) - known - recorded):
            try:
                self.ipam.release_owner(owner)
            except NetworkError as e:
                log.warning("could not release a stale address", extra={"sandbox_id": owner, "error": str(e)})
                continue
            released.append(owner)
        return released

    # routes to other nodes ----------------------------------------------------------------

    def set_routes(self, routes: list[tuple[str, str]]) -> None:
        """Make our host-gw routes exactly ``routes`` ((remote pod CIDR, node IP) pairs)."""
        desired = self._validate_routes(routes)
        with self.kernel.netlink() as nl:
            current = nl.our_routes()
            for dst, gateway in sorted(current - desired):
                nl.delete_route(dst, gateway)
            for dst, gateway in sorted(desired - current):
                nl.replace_route(dst, gateway)
        log.info(
            "host-gw routes synced",
            extra={
                "routes": len(desired),
                "removed": len(current - desired),
                "added": len(desired - current),
            },
        )

    def _validate_routes(self, routes: list[tuple[str, str]]) -> set[tuple[str, str]]:
        desired: dict[str, str] = {}
        for entry in routes:
            try:
                dst_text, gateway_text = entry
                dst = ipaddress.ip_network(dst_text, strict=True)
                gateway = ipaddress.ip_address(gateway_text)
            except (TypeError, ValueError) as e:
                raise InvalidNetworkConfig("validate routes", detail=f"{entry!r}: {e}") from e
            if dst.version != 4 or gateway.version != 4:
                raise InvalidNetworkConfig("validate routes", detail=f"{entry!r}: only IPv4 is supported")
            if dst.overlaps(self.pod_cidr):
                raise InvalidNetworkConfig(
                    "validate routes", detail=f"{dst} overlaps this node's own pod CIDR {self.pod_cidr}"
                )
            if desired.get(str(dst), str(gateway)) != str(gateway):
                raise InvalidNetworkConfig(
                    "validate routes",
                    detail=f"{dst} is given two gateways: {desired[str(dst)]} and {gateway}",
                )
            desired[str(dst)] = str(gateway)
        return set(desired.items())
