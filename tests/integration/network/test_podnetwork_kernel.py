"""Pod networking on the real kernel, inside network namespaces the tests create.

Topology used throughout: a "node" namespace running a PodNetwork (in a node agent process),
"pod" namespaces standing in for sandboxes, and where needed an "outside" namespace or a second
node, wired to the node with a veth on 192.168.50.0/24.
"""

from __future__ import annotations

import ipaddress
import os
import time

import pytest
from podnet_lab import (
    AgentError,
    Lab,
    ask_udp,
    fetch,
    iptables_save,
    links,
    ns_path,
    ping,
    pod_address,
    ruleset,
    run_in,
    serve_udp,
    serve_who,
)

pytestmark = pytest.mark.root

NODE_IP = "192.168.50.1"
OUTSIDE_IP = "192.168.50.2"


def node_with_pods(lab: Lab, count: int, pod_cidr: str = "10.244.1.0/24"):  # type: ignore[no-untyped-def]
    node = lab.netns("node")
    agent = lab.agent(node, pod_cidr)
    agent.call("ensure_node")
    pods = [lab.netns(f"pod{i}") for i in range(count)]
    return node, agent, pods


def test_two_pods_on_one_node_reach_each_other_and_the_node(lab: Lab) -> None:
    node, agent, (pod_a, pod_b) = node_with_pods(lab, 2)
    ip_a = agent.call("attach", sandbox_id="a", netns_path=ns_path(pod_a))
    ip_b = agent.call("attach", sandbox_id="b", netns_path=ns_path(pod_b))
    assert ip_a != ip_b and {ip_a, ip_b} <= set(map(str, ipaddress.ip_network("10.244.1.0/24")))
    assert pod_address(pod_a) == ip_a
    serve_who(lab, pod_b, 8080, "pod-b")
    assert fetch(pod_a, ip_b, 8080) == f"pod-b sees {ip_a}"
    assert ping(pod_a, "10.244.1.1")  # the node, through the bridge address
    assert fetch(node, ip_b, 8080) == "pod-b sees 10.244.1.1"  # the node reaches the pod


def test_pod_default_route_points_at_the_bridge_and_lo_is_up(lab: Lab) -> None:
    _, agent, (pod,) = node_with_pods(lab, 1)
    agent.call("attach", sandbox_id="a", netns_path=ns_path(pod))
    assert "default via 10.244.1.1 dev eth0" in run_in(pod, "ip", "route").stdout
    assert "UP" in run_in(pod, "ip", "-o", "link", "show", "lo").stdout


def test_pod_reaches_the_outside_masqueraded_as_the_node(lab: Lab) -> None:
    node, agent, (pod,) = node_with_pods(lab, 1)
    outside = lab.netns("out")
    lab.wire(node, f"{NODE_IP}/24", outside, f"{OUTSIDE_IP}/24")
    agent.call("attach", sandbox_id="a", netns_path=ns_path(pod))
    serve_who(lab, outside, 9000, "outside")
    assert fetch(pod, OUTSIDE_IP, 9000) == f"outside sees {NODE_IP}"


def test_pods_on_two_nodes_reach_each_other_through_host_gw_routes(lab: Lab) -> None:
    node1, node2 = lab.netns("node1"), lab.netns("node2")
    lab.wire(node1, "192.168.50.1/24", node2, "192.168.50.2/24")
    agent1 = lab.agent(node1, "10.244.1.0/24")
    agent2 = lab.agent(node2, "10.244.2.0/24")
    for agent in (agent1, agent2):
        agent.call("ensure_node")
    pod1, pod2 = lab.netns("p1"), lab.netns("p2")
    ip1 = agent1.call("attach", sandbox_id="one", netns_path=ns_path(pod1))
    ip2 = agent2.call("attach", sandbox_id="two", netns_path=ns_path(pod2))
    agent1.call("set_routes", routes=[["10.244.2.0/24", "192.168.50.2"]])
    agent2.call("set_routes", routes=[["10.244.1.0/24", "192.168.50.1"]])
    assert "proto 107" in run_in(node1, "ip", "route", "show", "10.244.2.0/24").stdout
    serve_who(lab, pod2, 8080, "pod2")
    assert fetch(pod1, ip2, 8080) == f"pod2 sees {ip1}"  # not masqueraded inside the cluster CIDR
    serve_who(lab, pod1, 8080, "pod1")
    assert fetch(pod2, ip1, 8080) == f"pod1 sees {ip2}"


def test_set_routes_removes_stale_routes_but_only_ours(lab: Lab) -> None:
    node, agent, _ = node_with_pods(lab, 0)
    other = lab.netns("peer")
    lab.wire(node, f"{NODE_IP}/24", other, f"{OUTSIDE_IP}/24")
    run_in(node, "ip", "route", "add", "10.250.0.0/24", "via", OUTSIDE_IP)  # someone else's
    agent.call("set_routes", routes=[["10.244.2.0/24", OUTSIDE_IP], ["10.244.3.0/24", OUTSIDE_IP]])
    agent.call("set_routes", routes=[["10.244.3.0/24", OUTSIDE_IP]])
    table = run_in(node, "ip", "route").stdout
    assert "10.244.2.0/24" not in table
    assert "10.244.3.0/24 via 192.168.50.2" in table
    agent.call("set_routes", routes=[])
    table = run_in(node, "ip", "route").stdout
    assert "10.244.3.0/24" not in table and "10.250.0.0/24 via 192.168.50.2" in table


@pytest.mark.parametrize("bridge_nf", ["1", "0"])
def test_hostport_answers_on_the_node_address_from_outside_the_node_and_pods(
    lab: Lab, bridge_nf: str
) -> None:
    node, agent, (server, client) = node_with_pods(lab, 2)
    # both settings of br_netfilter must work: the hairpin then happens at the bridge or in routing
    run_in(node, "sh", "-c", f"echo {bridge_nf} > /proc/sys/net/bridge/bridge-nf-call-iptables")
    outside = lab.netns("out")
    lab.wire(node, f"{NODE_IP}/24", outside, f"{OUTSIDE_IP}/24")
    ip_server = agent.call(
        "attach",
        sandbox_id="web",
        netns_path=ns_path(server),
        port_mappings=[{"protocol": "TCP", "container_port": 8080, "host_port": 18080}],
    )
    ip_client = agent.call("attach", sandbox_id="client", netns_path=ns_path(client))
    serve_who(lab, server, 8080, "web")
    assert fetch(outside, NODE_IP, 18080) == f"web sees {OUTSIDE_IP}"
    assert fetch(node, NODE_IP, 18080) == f"web sees {NODE_IP}"
    # another pod, and the serving pod itself, go through the hairpin masquerade
    assert fetch(client, NODE_IP, 18080) == "web sees 10.244.1.1"
    assert fetch(server, NODE_IP, 18080) == "web sees 10.244.1.1"
    assert ip_client != ip_server


def test_hostport_bound_to_one_host_ip_answers_only_there(lab: Lab) -> None:
    node, agent, (server,) = node_with_pods(lab, 1)
    outside = lab.netns("out")
    lab.wire(node, f"{NODE_IP}/24", outside, f"{OUTSIDE_IP}/24")
    run_in(node, "ip", "addr", "add", "192.168.50.3/24", "dev", links(node)[-1])
    agent.call(
        "attach",
        sandbox_id="web",
        netns_path=ns_path(server),
        port_mappings=[
            {"protocol": "TCP", "container_port": 8080, "host_port": 18080, "host_ip": "192.168.50.3"}
        ],
    )
    serve_who(lab, server, 8080, "web")
    assert fetch(outside, "192.168.50.3", 18080) == f"web sees {OUTSIDE_IP}"
    refused = run_in(
        outside,
        "python3",
        "-c",
        "import socket; socket.create_connection(('192.168.50.1', 18080), 2)",
        check=False,
    )
    assert refused.returncode != 0


def test_hostport_answers_on_the_node_loopback_address(lab: Lab) -> None:
    node, agent, (server,) = node_with_pods(lab, 1)
    agent.call(
        "attach",
        sandbox_id="web",
        netns_path=ns_path(server),
        port_mappings=[{"protocol": "TCP", "container_port": 8080, "host_port": 18080}],
    )
    serve_who(lab, server, 8080, "web")
    # the loopback source cannot reach a pod, so it arrives masqueraded as the bridge address
    assert fetch(node, "127.0.0.1", 18080) == "web sees 10.244.1.1"


def test_hostport_bound_to_loopback_answers_there_and_not_on_the_node_address(lab: Lab) -> None:
    node, agent, (server,) = node_with_pods(lab, 1)
    outside = lab.netns("out")
    lab.wire(node, f"{NODE_IP}/24", outside, f"{OUTSIDE_IP}/24")
    agent.call(
        "attach",
        sandbox_id="web",
        netns_path=ns_path(server),
        port_mappings=[
            {"protocol": "TCP", "container_port": 8080, "host_port": 18080, "host_ip": "127.0.0.1"}
        ],
    )
    serve_who(lab, server, 8080, "web")
    assert fetch(node, "127.0.0.1", 18080) == "web sees 10.244.1.1"
    refused = run_in(
        outside,
        "python3",
        "-c",
        f"import socket; socket.create_connection(('{NODE_IP}', 18080), 2)",
        check=False,
    )
    assert refused.returncode != 0


def test_an_output_jump_that_skips_loopback_is_replaced_by_one_that_does_not(lab: Lab) -> None:
    node = lab.netns("node")
    agent = lab.agent(node, "10.244.1.0/24")
    agent.call("ensure_node")
    jump = ["-m", "comment", "--comment", "kybernetes pod network", "-j", "KYB-HOSTPORTS"]
    run_in(
        node, "iptables-legacy", "-t", "nat", "-D", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", *jump
    )
    old = ["-I", "OUTPUT", "!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL", *jump]
    run_in(node, "iptables-legacy", "-t", "nat", *old)
    agent.call("ensure_node")
    output = [r for r in ruleset(node, "nat") if r.startswith("-A OUTPUT") and "KYB-HOSTPORTS" in r]
    assert len(output) == 1 and "127.0.0.0/8" not in output[0]


def test_route_localnet_is_set_on_our_bridge_only(lab: Lab) -> None:
    node = lab.netns("node")
    peer = lab.netns("peer")
    lab.wire(node, f"{NODE_IP}/24", peer, f"{OUTSIDE_IP}/24")
    lab.agent(node, "10.244.1.0/24").call("ensure_node")
    listing = run_in(node, "sh", "-c", "grep -H . /proc/sys/net/ipv4/conf/*/route_localnet").stdout
    enabled = sorted(line.split("/")[-2] for line in listing.splitlines() if line.endswith(":1"))
    assert enabled == ["kyb0"]


def test_conflicting_hostport_is_refused_and_leaves_nothing_behind(lab: Lab) -> None:
    node, agent, (first, second) = node_with_pods(lab, 2)
    mapping = [{"protocol": "TCP", "container_port": 80, "host_port": 18080}]
    agent.call("attach", sandbox_id="first", netns_path=ns_path(first), port_mappings=mapping)
    before = iptables_save(node)
    with pytest.raises(AgentError) as err:
        agent.call("attach", sandbox_id="second", netns_path=ns_path(second), port_mappings=mapping)
    assert err.value.kind == "HostPortConflict" and "18080" in err.value.message
    assert agent.call("ip_of", sandbox_id="second") is None
    assert "eth0" not in links(second)
    assert iptables_save(node).count("kyb-sandbox=") == before.count("kyb-sandbox=") == 1


def test_allocations_stand_after_a_restart(lab: Lab) -> None:
    node, agent, (pod_a, pod_b, pod_c) = node_with_pods(lab, 3)
    ip_a = agent.call("attach", sandbox_id="a", netns_path=ns_path(pod_a))
    ip_b = agent.call("attach", sandbox_id="b", netns_path=ns_path(pod_b))
    agent.stop()
    restarted = lab.agent(node, "10.244.1.0/24", state=f"state-{node}")
    assert restarted.call("status") == [True, ""]
    assert restarted.call("ip_of", sandbox_id="a") == ip_a
    assert restarted.call("ip_of", sandbox_id="b") == ip_b
    ip_c = restarted.call("attach", sandbox_id="c", netns_path=ns_path(pod_c))
    assert ip_c not in (ip_a, ip_b)
    restarted.call("detach", sandbox_id="a", netns_path=ns_path(pod_a))
    assert pod_address(pod_a) == ""


def test_detach_removes_everything_of_the_pod_and_the_ip_is_reused_only_after_release(lab: Lab) -> None:
    node, agent, pods = node_with_pods(lab, 4, pod_cidr="10.244.1.0/29")  # usable .2 - .6
    ip_web = agent.call(
        "attach",
        sandbox_id="web",
        netns_path=ns_path(pods[0]),
        port_mappings=[{"protocol": "UDP", "container_port": 53, "host_port": 5353}],
    )
    others = [agent.call("attach", sandbox_id=f"o{i}", netns_path=ns_path(p)) for i, p in enumerate(pods[1:])]
    assert ip_web not in others
    state = agent.state_dir
    assert (state / "ipam" / ip_web).exists()
    node_links_before = links(node)
    agent.call("detach", sandbox_id="web", netns_path=ns_path(pods[0]))
    agent.call("detach", sandbox_id="web", netns_path=ns_path(pods[0]))  # idempotent
    assert "eth0" not in links(pods[0])
    assert len(links(node)) == len(node_links_before) - 1
    assert not (state / "ipam" / ip_web).exists()
    assert not (state / "attachments" / "web.json").exists()
    assert "kyb-sandbox=web" not in iptables_save(node)
    assert agent.call("ip_of", sandbox_id="web") is None
    # .2 .. .5 were handed out; the next address is .6, not the just-released one
    fresh = lab.netns("fresh")
    assert agent.call("attach", sandbox_id="fresh", netns_path=ns_path(fresh)) == "10.244.1.6"
    again = lab.netns("again")
    assert agent.call("attach", sandbox_id="again", netns_path=ns_path(again)) == ip_web


def test_detach_works_when_the_pod_namespace_is_already_gone(lab: Lab) -> None:
    node, agent, (pod,) = node_with_pods(lab, 1)
    agent.call(
        "attach",
        sandbox_id="gone",
        netns_path=ns_path(pod),
        port_mappings=[{"protocol": "TCP", "container_port": 80, "host_port": 18081}],
    )
    lab.delete_netns(pod)  # the holder died: the namespace and its veth end vanish
    agent.call("detach", sandbox_id="gone", netns_path=None)
    assert not any(name.startswith("kyb") and name != "kyb0" for name in links(node))
    assert "kyb-sandbox=gone" not in iptables_save(node)
    assert agent.call("ip_of", sandbox_id="gone") is None


def test_twenty_concurrent_attaches_from_threads_and_processes_get_distinct_ips(lab: Lab) -> None:
    node, agent, pods = node_with_pods(lab, 20)
    second = lab.agent(node, "10.244.1.0/24", state=f"state-{node}")  # another process, same state
    requests = [[f"sb{i}", ns_path(p)] for i, p in enumerate(pods)]
    agent.send("attach_many", pods=requests[:10])  # 10 threads in each of two processes, at once
    second.send("attach_many", pods=requests[10:])
    results = agent.receive() + second.receive()
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 20
    assert sorted(pod_address(p) for p in pods) == sorted(results)


def test_exhausted_cidr_is_a_clear_error_and_leaves_nothing_behind(lab: Lab) -> None:
    node, agent, pods = node_with_pods(lab, 2, pod_cidr="10.244.1.0/30")  # exactly one usable address
    agent.call("attach", sandbox_id="only", netns_path=ns_path(pods[0]))
    with pytest.raises(AgentError) as err:
        agent.call("attach", sandbox_id="extra", netns_path=ns_path(pods[1]))
    assert err.value.kind == "IPAMExhausted" and "10.244.1.0/30" in err.value.message
    assert "eth0" not in links(pods[1])
    assert not (agent.state_dir / "attachments" / "extra.json").exists()


def test_failed_attach_undoes_what_it_made(lab: Lab) -> None:
    node, agent, (pod,) = node_with_pods(lab, 1)
    run_in(
        pod, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "taken"
    )  # the name the pod end needs is taken
    node_links = links(node)
    with pytest.raises(AgentError) as err:
        agent.call("attach", sandbox_id="clash", netns_path=ns_path(pod))
    assert err.value.kind == "NetlinkError" and "create veth" in err.value.message
    assert links(node) == node_links
    assert list((agent.state_dir / "ipam").glob("10.*")) == []
    assert agent.call("ip_of", sandbox_id="clash") is None


def test_attach_to_a_missing_namespace_is_not_found(lab: Lab) -> None:
    _, agent, _ = node_with_pods(lab, 0)
    with pytest.raises(AgentError) as err:
        agent.call("attach", sandbox_id="x", netns_path="/run/netns/kybt-does-not-exist")
    assert err.value.kind == "NetnsNotFound"


def test_ensure_node_is_idempotent(lab: Lab) -> None:
    node, agent, _ = node_with_pods(lab, 0)
    first = {table: ruleset(node, table) for table in ("nat", "filter")}
    agent.call("ensure_node")
    agent.call("ensure_node")
    assert {table: ruleset(node, table) for table in ("nat", "filter")} == first
    assert run_in(node, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    assert agent.call("status") == [True, ""]


def test_forward_policy_drop_still_lets_pods_talk(lab: Lab) -> None:
    node, agent, (pod_a, pod_b) = node_with_pods(lab, 2)
    run_in(node, "iptables-legacy", "-P", "FORWARD", "DROP")
    ip_b = agent.call("attach", sandbox_id="b", netns_path=ns_path(pod_b))
    agent.call("attach", sandbox_id="a", netns_path=ns_path(pod_a))
    serve_who(lab, pod_b, 8080, "pod-b")
    assert fetch(pod_a, ip_b, 8080).startswith("pod-b sees")


def test_teardown_removes_all_our_chains_rules_routes_and_the_bridge(lab: Lab) -> None:
    node = lab.netns("node")
    peer = lab.netns("peer")
    lab.wire(node, f"{NODE_IP}/24", peer, f"{OUTSIDE_IP}/24")
    run_in(node, "iptables-legacy", "-t", "nat", "-A", "POSTROUTING", "-s", "10.9.0.0/16", "-j", "MASQUERADE")
    before = {table: ruleset(node, table) for table in ("nat", "filter")}
    agent = lab.agent(node, "10.244.1.0/24")
    agent.call("ensure_node")
    agent.call("set_routes", routes=[["10.244.2.0/24", OUTSIDE_IP]])
    assert "KYB-" in iptables_save(node)
    agent.call("teardown_node")
    after = iptables_save(node)
    assert "KYB" not in after and "kybernetes" not in after
    assert "-A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE" in after
    assert {table: ruleset(node, table) for table in ("nat", "filter")} == before
    assert "kyb0" not in links(node)
    assert "proto 107" not in run_in(node, "ip", "route").stdout
    status = agent.call("status")
    assert status[0] is False and "does not exist" in status[1]


def test_status_is_not_ready_with_a_reason_when_the_bridge_cannot_be_set_up(lab: Lab) -> None:
    node = lab.netns("node")
    run_in(
        node, "ip", "link", "add", "kyb0", "type", "veth", "peer", "name", "taken"
    )  # the bridge's name is taken
    agent = lab.agent(node, "10.244.1.0/24")
    with pytest.raises(AgentError) as err:
        agent.call("ensure_node")
    assert err.value.kind == "NetlinkError" and "kyb0" in err.value.message
    ready, reason = agent.call("status")
    assert (
        ready is False
        and "could not be set up" in reason
        and "not a bridge" not in reason
        or "dummy" in reason
    )


def test_a_udp_hostport_moved_to_a_new_pod_reaches_it_from_an_ongoing_flow(lab: Lab) -> None:
    node, agent, (old, new) = node_with_pods(lab, 2)
    outside = lab.netns("out")
    lab.wire(node, f"{NODE_IP}/24", outside, f"{OUTSIDE_IP}/24")
    dns = [{"protocol": "UDP", "container_port": 53, "host_port": 5353}]
    agent.call("attach", sandbox_id="old", netns_path=ns_path(old), port_mappings=dns)
    serve_udp(lab, old, 53, "old")
    serve_udp(lab, new, 53, "new")
    assert ask_udp(outside, NODE_IP, 5353, source_port=40000) == "old"
    agent.call("detach", sandbox_id="old", netns_path=ns_path(old))
    agent.call("attach", sandbox_id="new", netns_path=ns_path(new), port_mappings=dns)
    assert ask_udp(outside, NODE_IP, 5353, source_port=40000) == "new"  # same flow, new target


def test_a_holder_process_namespace_path_works_and_detach_survives_the_holder_dying(lab: Lab) -> None:
    node, agent, _ = node_with_pods(lab, 0)
    holder = lab.background(node, "unshare", "--net", "sleep", "600")  # like the sandbox holder
    path = f"/proc/{holder.pid}/ns/net"
    # nsenter first runs in our namespace, then joins the node's, then unshare makes the pod's:
    # wait until the holder is in a namespace that is neither.
    not_yet = {os.stat("/proc/self/ns/net").st_ino, os.stat(ns_path(node)).st_ino}
    deadline = time.monotonic() + 10
    while os.stat(path).st_ino in not_yet and time.monotonic() < deadline:
        time.sleep(0.02)
    ip = agent.call("attach", sandbox_id="held", netns_path=path)
    assert ping(node, ip)
    holder.kill()
    holder.wait(timeout=10)
    agent.call("detach", sandbox_id="held", netns_path=None)
    assert [name for name in links(node) if name.startswith("kyb") and name != "kyb0"] == []
    with pytest.raises(AgentError) as err:
        agent.call("attach", sandbox_id="late", netns_path=path)
    assert err.value.kind == "NetnsNotFound"


def test_each_protocol_gets_its_own_dnat_rule(lab: Lab) -> None:
    node, agent, (pod,) = node_with_pods(lab, 1)
    ip = agent.call(
        "attach",
        sandbox_id="multi",
        netns_path=ns_path(pod),
        port_mappings=[
            {"protocol": protocol, "container_port": 7000, "host_port": 17000}
            for protocol in ("TCP", "UDP", "SCTP")
        ],
    )
    nat = "\n".join(ruleset(node, "nat"))
    for protocol in ("tcp", "udp", "sctp"):
        assert f"-p {protocol} -m {protocol} --dport 17000" in nat
    assert nat.count(f"--to-destination {ip}:7000") == 3
