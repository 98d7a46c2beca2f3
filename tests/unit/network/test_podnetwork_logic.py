"""PodNetwork's logic against a recording fake kernel: no root, no namespaces."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_kernel import FakeKernel

from runtime.network import (
    AlreadyAttached,
    ConntrackError,
    HostPortConflict,
    IptablesError,
    NetlinkError,
    NetnsNotFound,
    NodeNotReady,
    PodNetwork,
    PortMapping,
)
from runtime.network.podnetwork import host_veth_name

POD_NS = "/run/netns/pod-a"
WEB = [PortMapping("TCP", 80, 8080)]


@pytest.fixture
def kernel() -> FakeKernel:
    k = FakeKernel()
    k.namespaces.update({POD_NS, "/run/netns/pod-b"})
    return k


@pytest.fixture
def network(tmp_path: Path, kernel: FakeKernel) -> PodNetwork:
    n = PodNetwork(tmp_path, "10.244.1.0/24", "10.244.0.0/16", kernel=kernel)
    n.ensure_node()
    return n


def nothing_left(network: PodNetwork, kernel: FakeKernel, sandbox_id: str) -> bool:
    return (
        host_veth_name(sandbox_id) not in kernel.links
        and network.ip_of(sandbox_id) is None
        and network.ipam.owned_by(sandbox_id) == []
        and sandbox_id not in kernel.sandbox_rules
        and not kernel.open_fds
    )


def test_ensure_node_makes_the_bridge_with_the_gateway_and_turns_on_forwarding(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    bridge = kernel.links["kyb0"]
    assert bridge.kind == "bridge" and bridge.up and bridge.addresses == ["10.244.1.1/24"]
    assert kernel.sysctls["net.ipv4.ip_forward"] == "1"
    assert network.status() == (True, "")


def test_ensure_node_lets_only_our_bridge_route_loopback_addresses(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    localnet = {k: v for k, v in kernel.sysctls.items() if k.endswith(".route_localnet")}
    assert localnet == {"net.ipv4.conf.kyb0.route_localnet": "1"}


def test_ensure_node_twice_creates_nothing_new(network: PodNetwork, kernel: FakeKernel) -> None:
    network.ensure_node()
    assert [c for c in kernel.calls if c[0] == "create_bridge"] == [
        ("create_bridge", ("kyb0", kernel.calls[1][1][1]))
    ]
    assert kernel.links["kyb0"].addresses == ["10.244.1.1/24"]


def test_attach_wires_a_veth_into_the_pod_and_onto_the_bridge(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    ip = network.attach("a", POD_NS, [])
    host = kernel.links[host_veth_name("a")]
    assert ip == "10.244.1.2"
    assert host.master == kernel.links["kyb0"].index and host.up and host.hairpin
    assert ("configure_pod_interface", (POD_NS, "eth0", "10.244.1.2/24", "10.244.1.1")) in kernel.calls
    assert not kernel.open_fds  # the namespace descriptor is closed again


def test_attach_with_hostports_adds_dnat_rules_for_the_sandbox(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    network.attach("a", POD_NS, WEB + [PortMapping("TCP", 9090, 0)])
    (rule,) = kernel.sandbox_rules["a"]
    assert (rule.dport, rule.to_destination) == (8080, "10.244.1.2:80")


def test_attach_before_the_bridge_exists_is_node_not_ready_and_reserves_nothing(
    tmp_path: Path, kernel: FakeKernel
) -> None:
    network = PodNetwork(tmp_path, "10.244.1.0/24", "10.244.0.0/16", kernel=kernel)
    with pytest.raises(NodeNotReady):
        network.attach("a", POD_NS, [])
    assert nothing_left(network, kernel, "a")


def test_attach_to_a_missing_namespace_reserves_nothing(network: PodNetwork, kernel: FakeKernel) -> None:
    with pytest.raises(NetnsNotFound):
        network.attach("a", "/run/netns/nope", [])
    assert nothing_left(network, kernel, "a")


@pytest.mark.parametrize(
    "failing", ["create_veth", "enslave_and_up", "configure_pod_interface", "add_sandbox_rules"]
)
def test_a_failure_at_any_step_of_attach_undoes_the_earlier_steps(
    network: PodNetwork, kernel: FakeKernel, failing: str
) -> None:
    kernel.fail[failing] = (
        IptablesError("add hostPort rules", 1) if failing == "add_sandbox_rules" else NetlinkError(failing, 1)
    )
    with pytest.raises((NetlinkError, IptablesError)):
        network.attach("a", POD_NS, WEB)
    assert nothing_left(network, kernel, "a")
    assert kernel.pod_links.get(POD_NS, {}) == {}
    del kernel.fail[failing]
    assert network.attach("a", POD_NS, WEB) == "10.244.1.3"  # a retry works (round-robin moved on)


def test_attaching_twice_is_refused(network: PodNetwork) -> None:
    network.attach("a", POD_NS, [])
    with pytest.raises(AlreadyAttached):
        network.attach("a", "/run/netns/pod-b", [])


def test_hostport_taken_by_another_sandbox_is_refused_before_any_kernel_change(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    network.attach("a", POD_NS, WEB)
    calls_before = len(kernel.calls)
    with pytest.raises(HostPortConflict):
        network.attach("b", "/run/netns/pod-b", [PortMapping("TCP", 81, 8080)])
    assert [c[0] for c in kernel.calls[calls_before:]] == ["open_netns"]
    assert nothing_left(network, kernel, "b")


def test_hostport_is_free_again_after_detach(network: PodNetwork) -> None:
    network.attach("a", POD_NS, WEB)
    network.detach("a", POD_NS)
    network.attach("b", "/run/netns/pod-b", WEB)


def test_detach_removes_rules_veth_address_and_record(network: PodNetwork, kernel: FakeKernel) -> None:
    network.attach("a", POD_NS, WEB)
    network.detach("a", POD_NS)
    assert nothing_left(network, kernel, "a")
    assert kernel.pod_links[POD_NS] == {}


def test_detach_after_the_namespace_died_still_cleans_up(network: PodNetwork, kernel: FakeKernel) -> None:
    network.attach("a", POD_NS, WEB)
    kernel.kill_namespace(POD_NS)
    network.detach("a", None)
    assert nothing_left(network, kernel, "a")


def test_detach_of_an_unknown_sandbox_is_a_no_op(network: PodNetwork, kernel: FakeKernel) -> None:
    network.detach("never-attached", None)
    assert nothing_left(network, kernel, "never-attached")


def test_a_failed_detach_keeps_the_record_so_a_retry_finishes(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    ip = network.attach("a", POD_NS, WEB)
    kernel.fail["delete_link"] = NetlinkError("delete link", 16)
    with pytest.raises(NetlinkError):
        network.detach("a", POD_NS)
    assert network.ip_of("a") == ip  # the address is not handed out while the veth may exist
    del kernel.fail["delete_link"]
    network.detach("a", POD_NS)
    assert nothing_left(network, kernel, "a")


def test_set_routes_adds_missing_and_removes_stale_routes(network: PodNetwork, kernel: FakeKernel) -> None:
    network.set_routes([("10.244.2.0/24", "192.168.0.2"), ("10.244.3.0/24", "192.168.0.3")])
    kernel.calls.clear()
    network.set_routes([("10.244.3.0/24", "192.168.0.3"), ("10.244.4.0/24", "192.168.0.4")])
    assert kernel.routes == {("10.244.3.0/24", "192.168.0.3"), ("10.244.4.0/24", "192.168.0.4")}
    assert [c[0] for c in kernel.calls if c[0] != "netlink"] == ["delete_route", "replace_route"]


def test_a_moved_node_gets_its_route_replaced(network: PodNetwork, kernel: FakeKernel) -> None:
    network.set_routes([("10.244.2.0/24", "192.168.0.2")])
    network.set_routes([("10.244.2.0/24", "192.168.0.9")])
    assert kernel.routes == {("10.244.2.0/24", "192.168.0.9")}


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda k: k.links.pop("kyb0"), "does not exist"),
        (lambda k: setattr(k.links["kyb0"], "up", False), "is down"),
        (lambda k: k.links["kyb0"].addresses.clear(), "lacks its gateway address 10.244.1.1/24"),
        (lambda k: k.sysctls.update({"net.ipv4.ip_forward": "0"}), "ip_forward is off"),
        (lambda k: setattr(k, "node_rules", None), "KYB-POSTROUTING is missing"),
    ],
)
def test_status_says_why_the_network_is_not_ready(
    network: PodNetwork, kernel: FakeKernel, break_it, reason
) -> None:  # type: ignore[no-untyped-def]
    break_it(kernel)
    ready, why = network.status()
    assert not ready and reason in why
    network.ensure_node()
    assert network.status() == (True, "")


def test_status_reports_a_failed_setup_until_one_succeeds(network: PodNetwork, kernel: FakeKernel) -> None:
    kernel.fail["install_node_rules"] = IptablesError("install pod network nat rules", 11)
    with pytest.raises(IptablesError):
        network.ensure_node()
    ready, why = network.status()
    assert not ready and "could not be set up" in why and "install pod network nat rules" in why
    del kernel.fail["install_node_rules"]
    network.ensure_node()
    assert network.status() == (True, "")


def test_a_non_bridge_link_with_the_bridge_name_is_reported(tmp_path: Path, kernel: FakeKernel) -> None:
    from fake_kernel import FakeLink

    kernel.links["kyb0"] = FakeLink(index=7, kind="veth")
    network = PodNetwork(tmp_path, "10.244.1.0/24", "10.244.0.0/16", kernel=kernel)
    with pytest.raises(NetlinkError, match="a veth link named kyb0 already exists"):
        network.ensure_node()
    assert network.status()[0] is False


def test_teardown_removes_rules_routes_and_bridge(network: PodNetwork, kernel: FakeKernel) -> None:
    network.set_routes([("10.244.2.0/24", "192.168.0.2")])
    network.teardown_node()
    assert kernel.node_rules is None and kernel.routes == set() and "kyb0" not in kernel.links


def test_udp_hostport_flows_are_forgotten_on_attach_and_detach_but_tcp_ones_are_not(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    network.attach("dns", POD_NS, [PortMapping("UDP", 53, 5353), PortMapping("TCP", 53, 5353)])
    network.detach("dns", POD_NS)
    assert [c for c in kernel.calls if c[0] == "forget_udp_flows"] == [("forget_udp_flows", (5353,))] * 2


def test_failing_to_forget_udp_flows_does_not_fail_the_attach(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    kernel.fail["forget_udp_flows"] = ConntrackError("forget UDP flows to port 5353", 1)
    assert network.attach("dns", POD_NS, [PortMapping("UDP", 53, 5353)])


def test_release_unknown_detaches_only_sandboxes_the_runtime_no_longer_has(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    network.attach("kept", POD_NS, [])
    network.attach("gone", "/run/netns/pod-b", WEB)
    assert network.release_unknown(["kept"]) == ["gone"]
    assert nothing_left(network, kernel, "gone")
    assert network.attached() == {"kept": "10.244.1.2"}


def test_release_unknown_frees_an_address_reserved_by_an_attach_that_died_before_its_record(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    network.attach("kept", POD_NS, [])
    network.ipam.allocate("crashed")  # the reservation's first step; the record never came
    assert network.release_unknown(["kept"]) == ["crashed"]
    assert network.ipam.owned_by("crashed") == []
    assert network.attached() == {"kept": "10.244.1.2"}
    assert network.release_unknown(["kept"]) == []


def tear(network: PodNetwork, sandbox_id: str) -> None:
    """What a machine crash can leave of an attachment record written without a flush."""
    (network.state_dir / "attachments" / f"{sandbox_id}.json").write_bytes(b'{"sandbox_id": "')


def test_a_torn_attachment_record_does_not_keep_other_pods_from_attaching(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    network.attach("a", POD_NS, WEB)
    tear(network, "a")
    network.attach("b", "/run/netns/pod-b", [PortMapping("TCP", 81, 8081)])
    assert network.attached() == {"b": "10.244.1.3"}  # a's address stays taken: its veth may be there


def test_detach_of_a_sandbox_whose_record_was_torn_removes_all_it_may_hold(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    network.attach("a", POD_NS, WEB)
    tear(network, "a")
    assert network.ip_of("a") is None
    network.detach("a", POD_NS)
    assert nothing_left(network, kernel, "a")


def test_release_unknown_cleans_up_after_a_torn_record_of_a_sandbox_that_is_gone(
    network: PodNetwork, kernel: FakeKernel
) -> None:
    network.attach("gone", POD_NS, WEB)
    tear(network, "gone")
    network.attached()  # a read finds it torn and sets it aside
    assert network.release_unknown([]) == ["gone"]
    assert nothing_left(network, kernel, "gone")
    assert network.release_unknown([]) == []
