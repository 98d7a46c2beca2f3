"""With --pod-cidr, sandboxes get an eth0 on the node's bridge and reach each other by pod IP."""

from __future__ import annotations

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_for

from cri import api_pb2

pytestmark = pytest.mark.root



def test_pods_get_ips_from_the_pod_cidr_and_reach_each_other(networked: RuntimeUnderTest) -> None:
    cri = networked.client
    assert cri is not None
    conditions = {c.type: c.status for c in cri.status().status.conditions}
    assert conditions["NetworkReady"] is True
    web_pod, client_pod = pod_config("web"), pod_config("client")
    web_sandbox, client_sandbox = cri.run_pod_sandbox(web_pod), cri.run_pod_sandbox(client_pod)
    web_ip = cri.pod_sandbox_status(web_sandbox).status.network.ip
    client_ip = cri.pod_sandbox_status(client_sandbox).status.network.ip
    assert web_ip.startswith("10.244.7.") and client_ip.startswith("10.244.7.") and web_ip != client_ip
    web = cri.create_container(web_sandbox, container_config(
        "web", ["sh", "-c", "mkdir /www; echo pod-web > /www/index.html; httpd -f -p 80 -h /www"]), web_pod)
    cri.start_container(web)
    client = cri.create_container(client_sandbox, container_config("client", ["sleep", "300"]), client_pod)
    cri.start_container(client)
    body = wait_for(lambda: (r := cri.exec_sync(client, ["wget", "-q", "-O", "-", f"http://{web_ip}/"],
                                               timeout=10)).exit_code == 0 and r.stdout,
                    what="the web pod to answer", timeout=15)
    assert body == b"pod-web\n"
    assert f"inet {client_ip}/24" in cri.exec_sync(client, ["ip", "addr", "show", "eth0"], timeout=5).stdout.decode()


def test_removing_a_pod_releases_its_interface(networked: RuntimeUnderTest) -> None:
    cri = networked.client
    assert cri is not None
    pod = pod_config("short")
    sandbox = cri.run_pod_sandbox(pod)
    links_with_pod = networked.in_netns("ip", "-o", "link", "show", "master", "kyb0")
    assert links_with_pod.strip()
    cri.stop_pod_sandbox(sandbox)
    cri.remove_pod_sandbox(sandbox)
    assert networked.in_netns("ip", "-o", "link", "show", "master", "kyb0").strip() == ""


def test_a_stopped_pod_reports_no_address(networked: RuntimeUnderTest) -> None:
    cri = networked.client
    assert cri is not None
    pod = pod_config("stopped-ip")
    sandbox = cri.run_pod_sandbox(pod)
    assert cri.pod_sandbox_status(sandbox).status.network.ip
    cri.stop_pod_sandbox(sandbox)
    assert cri.pod_sandbox_status(sandbox).status.network.ip == ""  # released: it may be another pod's now


def test_host_network_pods_get_no_pod_interface(networked: RuntimeUnderTest) -> None:
    cri = networked.client
    assert cri is not None
    pod = pod_config("hostnet", network=api_pb2.NODE)
    sandbox = cri.run_pod_sandbox(pod)
    assert cri.pod_sandbox_status(sandbox).status.network.ip == ""
    assert networked.in_netns("ip", "-o", "link", "show", "master", "kyb0").strip() == ""


def test_a_pod_half_made_when_the_daemon_died_has_its_network_released_at_restart(
    networked: RuntimeUnderTest,
) -> None:
    cri = networked.client
    assert cri is not None
    sandbox = cri.run_pod_sandbox(pod_config("half-made"))
    assert networked.in_netns("ip", "-o", "link", "show", "master", "kyb0").strip()
    networked.kill_daemon()
    # What a daemon that died in the middle of RunPodSandbox leaves: all of the pod but its record.
    (networked.root / "sandboxes" / sandbox / "record.json").unlink()
    networked.start()
    assert networked.in_netns("ip", "-o", "link", "show", "master", "kyb0").strip() == ""
    assert list((networked.root / "network" / "attachments").iterdir()) == []


def test_killing_the_daemon_in_the_middle_of_pod_starts_and_removals_leaks_no_address_holder_or_cgroup(
    networked: RuntimeUnderTest,
) -> None:
    import os
    import random
    import threading

    from cri.client import CRIError, RuntimeClient

    asked: set[str] = set()  # removal asked for
    made: set[str] = set()  # acknowledged by RunPodSandbox
    pace = random.Random(7)
    count = 0
    for _attempt in range(4):

        def churn(client: RuntimeClient, stop: threading.Event) -> None:
            nonlocal count
            while not stop.is_set() and count < 400:
                count += 1
                pod = pod_config(f"churn-{count}")
                pod.port_mappings.append(api_pb2.PortMapping(container_port=80, host_port=20000 + count))
                try:
                    sandbox = client.run_pod_sandbox(pod)
                    made.add(sandbox)
                    if count % 2 == 0:
                        asked.add(sandbox)
                        client.stop_pod_sandbox(sandbox)
                        client.remove_pod_sandbox(sandbox)
                except CRIError:
                    return  # the daemon is gone

        cri = networked.kill_daemon_during(churn, pace.uniform(0.05, 0.6))
        assert made - asked <= {s.id for s in cri.list_pod_sandbox()}, "an acknowledged pod was lost"
    for sandbox in cri.list_pod_sandbox():
        cri.stop_pod_sandbox(sandbox.id)
        cri.remove_pod_sandbox(sandbox.id)
    assert networked.in_netns("ip", "-o", "link", "show", "master", "kyb0").strip() == ""
    assert [a for a in os.listdir(networked.root / "network" / "ipam") if a.count(".") == 3] == []
    assert list((networked.root / "network" / "attachments").iterdir()) == []
    assert "DNAT" not in networked.in_netns("iptables-save", "-t", "nat")
    assert networked.cgroup_dirs() == [] and os.listdir(networked.root / "sandboxes") == []

