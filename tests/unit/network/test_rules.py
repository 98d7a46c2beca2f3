"""The iptables rules as data: what goes where, and that only our chains hold content."""

from __future__ import annotations

import ipaddress

from runtime.network import rules
from runtime.network.portmap import PortMapping

POD = ipaddress.IPv4Network("10.244.1.0/24")
CLUSTER = ipaddress.IPv4Network("10.244.0.0/16")


def test_jumps_target_only_our_chains_from_builtin_chains() -> None:
    ours = {chain for _, chain in rules.OUR_CHAINS}
    for jump in rules.jumps():
        assert jump.chain in {"PREROUTING", "OUTPUT", "POSTROUTING", "FORWARD"}
        assert jump.rule.target in ours
        assert jump.rule.comment == rules.JUMP_COMMENT


def test_hostport_jump_from_output_covers_every_local_address_including_loopback() -> None:
    output = [j for j in rules.jumps() if j.chain == "OUTPUT"]
    assert output and output[0].rule.dst == "" and output[0].rule.dst_type == "LOCAL"


def test_loopback_sources_leaving_through_our_bridge_are_masqueraded() -> None:
    localhost = rules.postrouting_rules(POD, CLUSTER, "kyb0")[-1]
    assert (localhost.src, localhost.dst, localhost.out_interface, localhost.target) == (
        "127.0.0.0/8",
        "",
        "kyb0",
        "MASQUERADE",
    )


def test_only_the_localhost_rule_names_an_interface() -> None:
    named = [r for r in rules.postrouting_rules(POD, CLUSTER, "kyb0") if r.out_interface]
    assert [r.src for r in named] == ["127.0.0.0/8"]


def test_pod_egress_outside_the_cluster_is_masqueraded() -> None:
    egress = rules.postrouting_rules(POD, CLUSTER, "kyb0")[-2]
    assert (egress.src, egress.dst, egress.target) == ("10.244.1.0/24", "!10.244.0.0/16", "MASQUERADE")


def test_hairpin_rule_comes_first_and_only_matches_dnat() -> None:
    first = rules.postrouting_rules(POD, CLUSTER, "kyb0")[0]
    assert (first.src, first.dst, first.ctstate, first.target) == (str(POD), str(POD), "DNAT", "MASQUERADE")


def test_forward_accepts_both_directions_of_the_pod_cidr() -> None:
    assert {(r.src, r.dst) for r in rules.forward_rules(POD)} == {(str(POD), ""), ("", str(POD))}


def test_hostport_rules_dnat_to_the_pod_and_carry_the_sandbox() -> None:
    got = rules.hostport_rules(
        "sb1",
        ipaddress.IPv4Address("10.244.1.5"),
        [PortMapping("TCP", 80, 8080), PortMapping("UDP", 53, 5353, "192.168.1.10")],
    )
    assert got == [
        rules.Rule(
            target="DNAT",
            protocol="tcp",
            dport=8080,
            comment="kyb-sandbox=sb1",
            to_destination="10.244.1.5:80",
        ),
        rules.Rule(
            target="DNAT",
            protocol="udp",
            dst="192.168.1.10",
            dport=5353,
            comment="kyb-sandbox=sb1",
            to_destination="10.244.1.5:53",
        ),
    ]


def test_a_loopback_hostport_is_dnat_from_that_address_only() -> None:
    got = rules.hostport_rules(
        "sb1", ipaddress.IPv4Address("10.244.1.5"), [PortMapping("TCP", 80, 8080, "127.0.0.1")]
    )
    assert [(r.dst, r.dport, r.to_destination) for r in got] == [("127.0.0.1", 8080, "10.244.1.5:80")]
