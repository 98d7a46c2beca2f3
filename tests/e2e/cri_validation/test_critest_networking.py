"""critest "Networking" (networking.go) and "Multiple Containers ... should support network"
(multi_container_linux.go) against `kyb runtime` started with a pod CIDR.

critest reaches a pod's web server from the node: by pod IP and container port, and by a host
port on 127.0.0.1. Here the node is the daemon's network namespace, so the requests are made
from inside it; the web server is busybox httpd instead of critest's nginx image.
"""

from __future__ import annotations

import ipaddress
import sys

import pytest
from cri_validation_runtime import POD_CIDR, Cri, NetworkedKybRuntime, v1, wait_for

pytestmark = pytest.mark.root

WEB_SERVER = ["sh", "-c", "mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 80 -h /www"]
HOST_PORT = 12000  # critest's webServerHostPortForPortMapping; the node namespace is ours alone


def fetch(harness: NetworkedKybRuntime, url: str) -> str | None:
    """GET `url` from the node; the body, or None when it does not answer (yet)."""
    code = (f"import urllib.request;print(urllib.request.urlopen({url!r}, timeout=5).read().decode(), end='')")
    result = harness.in_netns([sys.executable, "-c", code], timeout=30)
    return result.stdout if result.returncode == 0 else None


def test_dns_config_is_written_to_resolv_conf(cri: Cri) -> None:
    dns = v1.DNSConfig(servers=["10.10.10.10"], searches=["google.com"], options=["ndots:8"])
    with cri.pod("create-PodSandbox-with-DNS-config", dns_config=dns) as pod:
        container_id = cri.run(*pod, cri.container_config("container-for-DNS-config-test-"))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        resolv = cri.exec_ok(container_id, ["cat", "/etc/resolv.conf"])
        for line in ("nameserver 10.10.10.10", "search google.com", "options ndots:8"):
            assert line in resolv.splitlines()


def test_hostname_is_set(cri: Cri) -> None:
    with cri.pod("create-PodSandbox-with-hostname", hostname="test-hostname") as pod:
        container_id = cri.run(*pod, cri.container_config("container-for-hostname-test-"))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        assert cri.exec_ok(container_id, ["hostname"]).strip() == "test-hostname"
        assert cri.exec_ok(container_id, ["cat", "/etc/hostname"]).strip() == "test-hostname"


def test_pod_gets_an_ip_from_the_pod_cidr(cri: Cri) -> None:
    with cri.pod("pod-ip-") as (pod_id, config):
        network = cri.pod_status(pod_id).status.network
        assert ipaddress.ip_address(network.ip) in ipaddress.ip_network(POD_CIDR)
        container_id = cri.run(pod_id, config, cri.container_config("ip-"))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        assert f"inet {network.ip}/" in cri.exec_ok(container_id, ["ip", "-4", "addr", "show", "eth0"])


def test_port_mapping_with_only_container_port_is_reached_by_pod_ip(cri: Cri, harness: NetworkedKybRuntime) -> None:
    with cri.pod("create-PodSandbox-with-port-mapping", port_mappings=[v1.PortMapping(container_port=80)]) as pod:
        container_id = cri.run(*pod, cri.container_config("container-for-container-port", WEB_SERVER))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        ip = cri.pod_status(pod[0]).status.network.ip
        assert wait_for(lambda: fetch(harness, f"http://{ip}:80/"), 30, what="the pod's web server") == "hello-from-pod\n"


def test_port_mapping_with_host_port_is_reached_on_the_nodes_address(cri: Cri, harness: NetworkedKybRuntime) -> None:
    mapping = v1.PortMapping(container_port=80, host_port=HOST_PORT)
    with cri.pod("create-PodSandbox-with-port-mapping", port_mappings=[mapping]) as pod:
        container_id = cri.run(*pod, cri.container_config("container-for-host-port", WEB_SERVER))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        node_ip = str(next(ipaddress.ip_network(POD_CIDR).hosts()))  # the bridge's address on the node
        page = wait_for(lambda: fetch(harness, f"http://{node_ip}:{HOST_PORT}/"), 30, what="the host port")
        assert page == "hello-from-pod\n"


def test_port_mapping_with_host_port_is_reached_on_localhost(cri: Cri, harness: NetworkedKybRuntime) -> None:
    mapping = v1.PortMapping(container_port=80, host_port=HOST_PORT + 1)
    with cri.pod("create-PodSandbox-with-port-mapping", port_mappings=[mapping]) as pod:
        container_id = cri.run(*pod, cri.container_config("container-for-host-port", WEB_SERVER))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        ip = cri.pod_status(pod[0]).status.network.ip
        wait_for(lambda: fetch(harness, f"http://{ip}:80/"), 30, what="the pod's web server")
        assert fetch(harness, f"http://127.0.0.1:{HOST_PORT + 1}/") == "hello-from-pod\n"


def test_containers_of_a_pod_share_its_network(cri: Cri, harness: NetworkedKybRuntime) -> None:
    with cri.pod("PodSandbox-for-multi-container-test-", port_mappings=[v1.PortMapping(container_port=80)]) as pod:
        web = cri.run(*pod, cri.container_config("httpd", WEB_SERVER))
        client = cri.run(*pod, cri.container_config("busybox", ["sh", "-c", "echo hello World; sleep 1000"]))
        for container_id in (web, client):
            cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        ip = cri.pod_status(pod[0]).status.network.ip
        assert wait_for(lambda: fetch(harness, f"http://{ip}:80/"), 30, what="the pod's web server") == "hello-from-pod\n"
        assert cri.exec_ok(client, ["wget", "-q", "-O", "-", "http://127.0.0.1:80/"]) == "hello-from-pod\n"
