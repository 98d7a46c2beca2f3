"""ListMetricDescriptors and ListPodSandboxMetrics against a real runtime, cgroups and pod network.

A container holds ~40 MB in a shell variable and then spins, so its CPU counters climb and its
memory shows the allocation; datagrams sent from the node to the pod's IP show on the pod's
eth0 counters. Values are checked against what the kernel was made to do, not just for presence.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from runtime_harness import POD_CIDR, RuntimeUnderTest, container_config, pod_config, wait_for

from cri import api_pb2
from cri.client import RuntimeClient

pytestmark = pytest.mark.root

ALLOCATED = 40_000_000
# Hold ALLOCATED bytes in a shell variable (anonymous memory of the shell), then burn CPU.
BURNER = ["sh", "-c", f"x=$(head -c {ALLOCATED} /dev/zero | tr '\\0' a); while :; do :; done"]


def descriptors(cri: RuntimeClient) -> dict[str, api_pb2.MetricDescriptor]:
    response = cri._call(cri.runtime, "ListMetricDescriptors", api_pb2.ListMetricDescriptorsRequest())
    return {d.name: d for d in response.descriptors}


def pod_metrics(cri: RuntimeClient) -> dict[str, api_pb2.PodSandboxMetrics]:
    response = cri._call(cri.runtime, "ListPodSandboxMetrics", api_pb2.ListPodSandboxMetricsRequest())
    return {p.pod_sandbox_id: p for p in response.pod_metrics}


def container_values(cri: RuntimeClient, sandbox: str, container: str) -> dict[str, int]:
    """One call's values of the container's metrics that have one sample each."""
    pod = pod_metrics(cri)[sandbox]
    (ctr,) = [c for c in pod.container_metrics if c.container_id == container]
    return {m.name: m.value.value for m in ctr.metrics if m.name != "container_memory_failures_total"}


def container_metric(cri: RuntimeClient, sandbox: str, container: str, name: str) -> int:
    return container_values(cri, sandbox, container)[name]


def interface_metric(cri: RuntimeClient, sandbox: str, name: str, interface: str = "eth0") -> int:
    pod = pod_metrics(cri)[sandbox]
    (found,) = [m.value.value for m in pod.metrics if m.name == name and m.label_values[-1] == interface]
    return found


def start_burner(cri: RuntimeClient, name: str) -> tuple[str, str]:
    pod = pod_config(name)
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("burner", BURNER), pod)
    cri.start_container(container)
    return sandbox, container


def test_every_metric_returned_is_described_with_matching_label_keys(cri: RuntimeClient) -> None:
    sandbox, container = start_burner(cri, "described")
    described = descriptors(cri)
    assert {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
            "container_network_receive_bytes_total"} <= set(described)
    pod = pod_metrics(cri)[sandbox]
    assert [c.container_id for c in pod.container_metrics] == [container]
    every = list(pod.metrics) + [m for c in pod.container_metrics for m in c.metrics]
    for metric in every:
        assert len(metric.label_values) == len(described[metric.name].label_keys), metric.name
    labels = dict(zip(described["container_memory_rss"].label_keys,
                      next(m.label_values for m in pod.container_metrics[0].metrics if m.name == "container_memory_rss"),
                      strict=True))
    assert labels == {"container": "burner", "id": labels["id"], "image": "busybox:latest", "name": container,
                      "namespace": "default", "pod": "described"}
    assert labels["id"].endswith(f"/{container}")


def test_cpu_counters_grow_between_two_calls_while_a_container_spins(cri: RuntimeClient) -> None:
    sandbox, container = start_burner(cri, "spinning")
    first = wait_for(lambda: container_metric(cri, sandbox, container, "container_cpu_usage_seconds_total") or None,
                     timeout=30, interval=0.2, what="the first whole CPU second")
    wait_for(lambda: container_metric(cri, sandbox, container, "container_cpu_usage_seconds_total") > first,
             timeout=30, interval=0.2, what="the CPU counter to grow")
    values = container_values(cri, sandbox, container)
    total = values["container_cpu_usage_seconds_total"]
    # Each is truncated to whole seconds on its own, so the parts may add up to one more or less.
    assert abs(values["container_cpu_user_seconds_total"] + values["container_cpu_system_seconds_total"] - total) <= 1
    pod_total = next(m.value.value for m in pod_metrics(cri)[sandbox].metrics
                     if m.name == "container_cpu_usage_seconds_total")
    assert pod_total >= total


def test_memory_metrics_show_what_the_container_allocated(cri: RuntimeClient) -> None:
    sandbox, container = start_burner(cri, "allocating")
    values = wait_for(lambda: (v := container_values(cri, sandbox, container))["container_memory_rss"] >= ALLOCATED and v,
                      timeout=30, interval=0.2, what="the allocation to show in the container's RSS")
    assert values["container_memory_rss"] < 4 * ALLOCATED
    assert values["container_memory_usage_bytes"] >= values["container_memory_working_set_bytes"] >= ALLOCATED
    assert values["container_memory_max_usage_bytes"] >= values["container_memory_usage_bytes"]
    assert values["container_processes"] == 1
    assert values["container_file_descriptors"] >= 3 and values["container_sockets"] == 0
    pod_working_set = next(m.value.value for m in pod_metrics(cri)[sandbox].metrics
                           if m.name == "container_memory_working_set_bytes")
    assert pod_working_set >= ALLOCATED


def test_limits_in_force_are_reported_as_the_containers_spec(cri: RuntimeClient) -> None:
    pod = pod_config("limited")
    sandbox = cri.run_pod_sandbox(pod)
    resources = api_pb2.LinuxContainerResources(cpu_shares=512, cpu_quota=50000, cpu_period=100000,
                                                memory_limit_in_bytes=128 << 20)
    container = cri.create_container(sandbox, container_config("limited", ["sleep", "300"], resources=resources), pod)
    cri.start_container(container)
    values = container_values(cri, sandbox, container)
    assert values["container_spec_cpu_shares"] == 512
    assert values["container_spec_cpu_quota"] == 50000
    assert values["container_spec_cpu_period"] == 100000
    assert values["container_spec_memory_limit_bytes"] == 128 << 20
    assert "container_cpu_cfs_throttled_periods_total" in values


def test_pod_network_counters_grow_with_traffic_to_the_pod(networked: RuntimeUnderTest) -> None:
    cri = networked.client
    assert cri is not None
    pod = pod_config("net")
    sandbox = cri.run_pod_sandbox(pod)
    ip = cri.pod_sandbox_status(sandbox).status.network.ip
    assert ip.startswith(POD_CIDR.rsplit(".", 1)[0] + ".")
    before_bytes = interface_metric(cri, sandbox, "container_network_receive_bytes_total")
    before_packets = interface_metric(cri, sandbox, "container_network_receive_packets_total")
    sender = (f"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              f"for _ in range(20): s.sendto(b'x' * 1000, ('{ip}', 9))")
    networked.in_netns(sys.executable, "-c", sender)
    wait_for(lambda: interface_metric(cri, sandbox, "container_network_receive_packets_total") >= before_packets + 20,
             timeout=10, what="the datagrams to be counted")
    assert interface_metric(cri, sandbox, "container_network_receive_bytes_total") >= before_bytes + 20 * 1000
    # The pod answers (ARP, ICMP port unreachable), so it transmits too.
    assert interface_metric(cri, sandbox, "container_network_transmit_packets_total") > 0
    assert not [m for m in pod_metrics(cri)[sandbox].metrics if m.label_values[-1] == "lo"]


def test_stopped_pods_are_left_out_and_removed_pods_disappear(cri: RuntimeClient) -> None:
    kept, _ = start_burner(cri, "kept")
    stopped = cri.run_pod_sandbox(pod_config("stopped"))
    removed = cri.run_pod_sandbox(pod_config("removed"))
    assert {kept, stopped, removed} <= set(pod_metrics(cri))
    cri.stop_pod_sandbox(stopped)
    cri.stop_pod_sandbox(removed)
    cri.remove_pod_sandbox(removed)
    assert set(pod_metrics(cri)) == {kept}


def test_an_exited_container_is_left_out_of_its_pod(cri: RuntimeClient) -> None:
    pod = pod_config("exited")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("once", ["true"]), pod)
    cri.start_container(container)
    wait_for(lambda: cri.container_status(container).status.state == api_pb2.CONTAINER_EXITED,
             what="the container to exit")
    assert list(pod_metrics(cri)[sandbox].container_metrics) == []


def test_kyb_cri_metricsp_and_metricdescs_show_the_runtimes_answers(runtime: RuntimeUnderTest) -> None:
    assert runtime.client is not None
    sandbox, container = start_burner(runtime.client, "cli")
    base = [sys.executable, "-m", "kyb", "cri", "-r", f"unix://{runtime.socket}"]
    descs = json.loads(subprocess.run([*base, "metricdescs"], check=True, capture_output=True, text=True).stdout)
    assert "container_cpu_usage_seconds_total" in {d["name"] for d in descs["descriptors"]}
    doc = json.loads(subprocess.run([*base, "metricsp"], check=True, capture_output=True, text=True).stdout)
    (pod,) = [p for p in doc["podMetrics"] if p["podSandboxId"] == sandbox]
    assert [c["containerId"] for c in pod["containerMetrics"]] == [container]
