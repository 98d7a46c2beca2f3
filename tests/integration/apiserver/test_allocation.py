"""ClusterIPs, NodePorts and podCIDRs: unique, honoured when asked for, released, and bounded."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from typing import Any

import pytest
from apiserver_harness import start_server

SVCS = "/api/v1/namespaces/default/services"


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80, "targetPort": 8080}], **spec}}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server whose service CIDR holds 6 addresses (the first is the kubernetes Service's)."""
    server = start_server(tmp_path_factory.mktemp("small"), service_cidr="10.0.0.0/29",
                          cluster_cidr="10.1.0.0/23", node_cidr_mask=24)
    try:
        yield server
    finally:
        server.stop()


def test_kubernetes_service_has_the_first_ip(api) -> None:
    svc = api.request("GET", f"{SVCS}/kubernetes").body
    assert svc["spec"]["clusterIP"] == "10.96.0.1"


def test_cluster_ips_are_unique_and_in_range(api) -> None:
    ips = {api.request("POST", SVCS, service(f"uniq-{i}")).body["spec"]["clusterIP"] for i in range(5)}
    assert len(ips) == 5
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12") for ip in ips)


def test_requested_cluster_ip_is_honoured_or_refused_when_taken(api) -> None:
    r = api.request("POST", SVCS, service("fixed-ip", clusterIP="10.96.100.100"))
    assert r.status == 201 and r.body["spec"]["clusterIPs"] == ["10.96.100.100"]
    r = api.request("POST", SVCS, service("fixed-ip-2", clusterIP="10.96.100.100"))
    assert r.status == 422 and "provided IP is already allocated" in r.body["message"]
    r = api.request("POST", SVCS, service("outside", clusterIP="192.168.0.1"))
    assert r.status == 422 and "not in the valid range" in r.body["message"]


def test_headless_services_get_no_ip(api) -> None:
    r = api.request("POST", SVCS, service("headless", clusterIP="None"))
    assert r.body["spec"]["clusterIP"] == "None"


def test_node_ports_are_allocated_reused_on_update_and_released_on_delete(api) -> None:
    r = api.request("POST", SVCS, service("np", type="NodePort"))
    port = r.body["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    r = api.request("PATCH", f"{SVCS}/np", {"metadata": {"labels": {"x": "y"}}},
                    content_type="application/merge-patch+json")
    assert r.body["spec"]["ports"][0]["nodePort"] == port
    taken = api.request("POST", SVCS, service("np-clash", type="NodePort",
                                              ports=[{"port": 80, "nodePort": port}]))
    assert taken.status == 422 and "provided port is already allocated" in taken.body["message"]
    assert api.request("DELETE", f"{SVCS}/np").status == 200
    again = api.request("POST", SVCS, service("np-again", type="NodePort", ports=[{"port": 80, "nodePort": port}]))
    assert again.status == 201, again.body


def test_deleting_a_service_frees_its_ip(small) -> None:
    r = small.request("POST", SVCS, service("freed", clusterIP="10.0.0.3"))
    assert r.status == 201
    small.request("DELETE", f"{SVCS}/freed")
    assert small.request("POST", SVCS, service("reuses", clusterIP="10.0.0.3")).status == 201
    small.request("DELETE", f"{SVCS}/reuses")


def test_an_exhausted_range_is_a_clear_error_and_stores_nothing(small) -> None:
    made = []
    for i in range(10):
        r = small.request("POST", SVCS, service(f"fill-{i}"))
        if r.status != 201:
            break
        made.append(r.body["spec"]["clusterIP"])
    assert len(made) == 5  # six usable addresses, one is the kubernetes Service's
    assert r.status == 500 and "range is full" in r.body["message"]
    assert small.request("GET", f"{SVCS}/fill-5").status == 404


def test_nodes_get_distinct_pod_cidrs_released_on_delete(small) -> None:
    def node(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    a = small.request("POST", "/api/v1/nodes", node("node-a")).body["spec"]
    b = small.request("POST", "/api/v1/nodes", node("node-b")).body["spec"]
    assert (a["podCIDR"], b["podCIDR"]) == ("10.1.0.0/24", "10.1.1.0/24")  # handed out in order
    assert a["podCIDRs"] == [a["podCIDR"]]
    full = small.request("POST", "/api/v1/nodes", node("node-c"))
    assert full.status == 500 and "full" in full.body["message"]
    small.request("DELETE", "/api/v1/nodes/node-a")
    c = small.request("POST", "/api/v1/nodes", node("node-c")).body["spec"]
    assert c["podCIDR"] == a["podCIDR"]


def test_a_reservation_left_by_a_crash_is_freed_after_restart(tmp_path) -> None:
    first = start_server(tmp_path)
    try:
        first.run(first.server.store.create("/registry/ranges/serviceips/10.96.5.5", b'{"owner": "default/lost"}'))
        kept = first.request("POST", SVCS, service("kept")).body["spec"]["clusterIP"]
    finally:
        first.stop()
    second = start_server(tmp_path, repair_delay=0.3)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            taken = second.run(second.server.ctx.services.ips.taken())
            if "10.96.5.5" not in taken:
                break
            time.sleep(0.1)
        assert "10.96.5.5" not in taken
        assert kept in taken and "10.96.0.1" in taken
    finally:
        second.stop()
