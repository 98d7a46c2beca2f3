"""The iptables rules of the pod network, as plain data.

Everything we install lives in chains of our own; the only rules we put into built-in chains are
the jumps to them, each inserted once at the top and removed on teardown:

    nat    POSTROUTING                              -> KYB-POSTROUTING
    nat    PREROUTING  (dst-type LOCAL)             -> KYB-HOSTPORTS
    nat    OUTPUT      (dst-type LOCAL)             -> KYB-HOSTPORTS
    filter FORWARD                                  -> KYB-FORWARD

KYB-POSTROUTING (fixed content, rewritten by ``ensure_node``):
  1. hairpin: pod-to-pod traffic that was DNAT'd (a pod reaching a hostPort on its own node) is
     masqueraded, so the reply goes back through the node, where conntrack undoes the DNAT,
     instead of straight across the bridge with the wrong source address;
  2. multicast is left alone;
  3. pod traffic to anything outside the cluster CIDR is masqueraded to the node's address;
  4. localhost: node traffic from 127.0.0.0/8 leaving through our bridge (a hostPort reached on
     127.0.0.1 and DNAT'd in OUTPUT) is masqueraded to the bridge address, since a pod cannot
     answer a loopback source.
KYB-FORWARD (fixed): accept forwarding from and to the pod CIDR, so pods work when the FORWARD
  policy is DROP (as Docker sets it). Installed always, since a policy may change after us.
KYB-HOSTPORTS (per sandbox): one DNAT rule per hostPort, tagged with a comment naming the
  sandbox, so detach removes exactly that sandbox's rules.

hostPorts answer on the node's 127.0.0.1 too, as the CNI portmap plugin does: the OUTPUT jump
covers loopback destinations, rule 4 rewrites the loopback source, and PodNetwork sets
``route_localnet`` on our bridge (only ours) so the kernel routes 127/8 sources and replies over it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from runtime.network.portmap import PortMapping

NAT = "nat"
FILTER = "filter"
POSTROUTING_CHAIN = "KYB-POSTROUTING"
HOSTPORTS_CHAIN = "KYB-HOSTPORTS"
FORWARD_CHAIN = "KYB-FORWARD"
JUMP_COMMENT = "kybernetes pod network"
SANDBOX_COMMENT_PREFIX = "kyb-sandbox="
MULTICAST = "224.0.0.0/4"
LOOPBACK = "127.0.0.0/8"


@dataclass(frozen=True)
class Rule:
    """One iptables rule; empty fields match anything. ``src``/``dst`` may start with "!"."""

    target: str
    protocol: str = ""
    src: str = ""
    dst: str = ""
    dport: int = 0
    dst_type: str = ""
    ctstate: str = ""
    out_interface: str = ""
    comment: str = ""
    to_destination: str = ""


@dataclass(frozen=True)
class Jump:
    table: str
    chain: str  # the built-in chain holding the jump
    rule: Rule


OUR_CHAINS: tuple[tuple[str, str], ...] = (
    (NAT, POSTROUTING_CHAIN),
    (NAT, HOSTPORTS_CHAIN),
    (FILTER, FORWARD_CHAIN),
)


def jumps() -> list[Jump]:
    return [
        Jump(NAT, "POSTROUTING", Rule(target=POSTROUTING_CHAIN, comment=JUMP_COMMENT)),
        Jump(NAT, "PREROUTING", Rule(target=HOSTPORTS_CHAIN, dst_type="LOCAL", comment=JUMP_COMMENT)),
        Jump(
            NAT,
            "OUTPUT",
            Rule(target=HOSTPORTS_CHAIN, dst_type="LOCAL", comment=JUMP_COMMENT),
        ),
        Jump(FILTER, "FORWARD", Rule(target=FORWARD_CHAIN, comment=JUMP_COMMENT)),
    ]


def postrouting_rules(
    pod_cidr: ipaddress.IPv4Network, cluster_cidr: ipaddress.IPv4Network, bridge: str
) -> list[Rule]:
    pods = str(pod_cidr)
    return [
        Rule(target="MASQUERADE", src=pods, dst=pods, ctstate="DNAT", comment="kyb hostPort hairpin"),
        Rule(target="RETURN", src=pods, dst=MULTICAST, comment="kyb multicast stays"),
        Rule(target="MASQUERADE", src=pods, dst=f"!{cluster_cidr}", comment="kyb pod egress"),
        Rule(target="MASQUERADE", src=LOOPBACK, out_interface=bridge, comment="kyb hostPort on localhost"),
    ]


def forward_rules(pod_cidr: ipaddress.IPv4Network) -> list[Rule]:
    pods = str(pod_cidr)
    return [
        Rule(target="ACCEPT", src=pods, comment="kyb pod traffic out"),
        Rule(target="ACCEPT", dst=pods, comment="kyb pod traffic in"),
    ]


def sandbox_comment(sandbox_id: str) -> str:
    return f"{SANDBOX_COMMENT_PREFIX}{sandbox_id}"


def hostport_rules(
    sandbox_id: str, pod_ip: ipaddress.IPv4Address, mappings: Iterable[PortMapping]
) -> list[Rule]:
    """One DNAT rule per (validated) hostPort mapping of a sandbox."""
    return [
        Rule(
            target="DNAT",
            protocol=m.protocol.lower(),
            dst=m.host_ip,
            dport=m.host_port,
            comment=sandbox_comment(sandbox_id),
            to_destination=f"{pod_ip}:{m.container_port}",
        )
        for m in mappings
    ]
