"""ListMetricDescriptors and ListPodSandboxMetrics over cgroup trees laid out like cgroupfs v1 and v2.

The files hold known values, so each test states which cgroup file feeds which metric and how
it is converted; the kubelet's rule (label values line up with the descriptor's keys, names
come from the descriptors) is checked on every answer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from cri import api_pb2
from runtime.cgroups.v1 import V1Driver
from runtime.cgroups.v2 import V2Driver
from runtime.errors import NotFound
from runtime.service.cgroup_usage import CgroupUsageReader, open_files, weight_to_shares
from runtime.service.metrics import FAMILIES, MetricsCalls, metric_descriptors, network_samples

POD_CGROUP = "/kyb/pod1"
CTR_CGROUP = "/kyb/pod1/ctr1"
V1_UNLIMITED = "9223372036854771712"
# Above the kernel's largest pid_max, so no real process is counted for the fake trees.
PIDS = ("4194305", "4194306")


def write(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text + "\n")


def v1_tree(root: Path, cgroup: str, *, cpu_ns: int, quota: int = -1, own_pgfault: int = 40) -> None:
    rel = cgroup.lstrip("/")
    write(root / "cpuacct" / rel, {
        "cpuacct.usage": str(cpu_ns), "cpuacct.usage_user": str(cpu_ns * 3 // 4),
        "cpuacct.usage_sys": str(cpu_ns // 4), "cgroup.procs": "",
    })
    write(root / "cpu" / rel, {
        "cpu.stat": "nr_periods 50\nnr_throttled 7\nthrottled_time 3500000000",
        "cpu.shares": "512", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": str(quota), "cgroup.procs": "",
    })
    write(root / "memory" / rel, {
        "memory.usage_in_bytes": str(300 << 20), "memory.max_usage_in_bytes": str(320 << 20),
        "memory.failcnt": "3", "memory.limit_in_bytes": str(512 << 20),
        "memory.stat": "\n".join([
            f"pgfault {own_pgfault}", "pgmajfault 2", f"total_rss {200 << 20}", f"total_cache {90 << 20}",
            f"total_mapped_file {10 << 20}", "total_swap 4096", f"total_active_file {60 << 20}",
            f"total_inactive_file {30 << 20}", "total_pgfault 1000", "total_pgmajfault 9",
        ]),
        "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1", "cgroup.procs": "\n".join(PIDS),
        "memory.kmem.usage_in_bytes": str(3 << 20),
    })
    write(root / "pids" / rel, {"pids.current": "5", "pids.max": "max", "cgroup.procs": "\n".join(PIDS)})


def v2_tree(root: Path, cgroup: str, *, cpu_usec: int, cpu_max: str = "max 100000", peak: bool = True) -> Path:
    d = root / cgroup.lstrip("/")
    files = {
        "cpu.stat": f"usage_usec {cpu_usec}\nuser_usec {cpu_usec - 1000}\nsystem_usec 1000\n"
                    "nr_periods 20\nnr_throttled 4\nthrottled_usec 2000000",
        "cpu.weight": "39", "cpu.max": cpu_max,
        "memory.current": str(100 << 20), "memory.max": "max", "memory.swap.current": "0",
        "memory.stat": "\n".join([
            f"anon {70 << 20}", f"file {25 << 20}", f"file_mapped {5 << 20}", f"active_file {15 << 20}",
            f"inactive_file {10 << 20}", "pgfault 500", "pgmajfault 6", f"kernel {2 << 20}",
        ]),
        "memory.events": "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1", "cgroup.procs": PIDS[0],
        "pids.current": "3", "pids.max": "64",
    }
    if peak:
        files["memory.peak"] = str(120 << 20)
    write(d, files)
    return d


def v1_driver(root: Path) -> V1Driver:
    return V1Driver({c: str(root / c) for c in ("cpu", "cpuacct", "memory", "pids")})


def sandbox_record(sandbox_id: str = "pod1", *, state: str = "SANDBOX_READY", cgroup: str = POD_CGROUP) -> dict[str, Any]:
    config = api_pb2.PodSandboxConfig(metadata=api_pb2.PodSandboxMetadata(name="web", namespace="shop", uid="u1"))
    return {
        "id": sandbox_id, "state": state, "cgroup": cgroup, "created_at": 1_700_000_000_900_000_000,
        "host_network": True, "holder": {"pid": 0, "start": 0}, "config": json_format.MessageToDict(config),
    }


def container_record(container_id: str = "ctr1", *, sandbox_id: str = "pod1", state: str = "CONTAINER_RUNNING",
                     cgroup: str = CTR_CGROUP) -> dict[str, Any]:
    config = api_pb2.ContainerConfig(metadata=api_pb2.ContainerMetadata(name="app"),
                                     image=api_pb2.ImageSpec(image="busybox:latest"))
    return {
        "id": container_id, "sandbox_id": sandbox_id, "state": state, "cgroup": cgroup,
        "started_at": 1_700_000_100_500_000_000, "config": json_format.MessageToDict(config),
    }


class FakeManager:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def list(self) -> list[dict[str, Any]]:
        return list(self.records)


class FakeContext:
    def __init__(self, cgroups: Any) -> None:
        self.cgroups = cgroups


class Service(MetricsCalls):
    def __init__(self, driver: Any, sandboxes: list[dict[str, Any]], containers: list[dict[str, Any]]) -> None:
        self.ctx = FakeContext(driver)  # type: ignore[assignment]
        self.sandboxes = FakeManager(sandboxes)  # type: ignore[assignment]
        self.containers = FakeManager(containers)  # type: ignore[assignment]

    def pods(self) -> list[api_pb2.PodSandboxMetrics]:
        return list(self.ListPodSandboxMetrics(api_pb2.ListPodSandboxMetricsRequest(), None).pod_metrics)

    def descriptors(self) -> list[api_pb2.MetricDescriptor]:
        return list(self.ListMetricDescriptors(api_pb2.ListMetricDescriptorsRequest(), None).descriptors)


def values(metrics: Any, name: str) -> dict[tuple[str, ...], int]:
    return {tuple(m.label_values): m.value.value for m in metrics if m.name == name}


def value(metrics: Any, name: str) -> int:
    found = values(metrics, name)
    assert len(found) == 1, f"{name}: {found}"
    return next(iter(found.values()))


def all_metrics(pods: list[api_pb2.PodSandboxMetrics]) -> list[api_pb2.Metric]:
    out = list(pods[0].metrics)
    for container in pods[0].container_metrics:
        out.extend(container.metrics)
    return out


@pytest.fixture
def v1_service(tmp_path: Path) -> Service:
    v1_tree(tmp_path, POD_CGROUP, cpu_ns=9_900_000_000, own_pgfault=0)
    v1_tree(tmp_path, CTR_CGROUP, cpu_ns=7_999_999_999, quota=50000)
    return Service(v1_driver(tmp_path), [sandbox_record()], [container_record()])


@pytest.fixture
def v2_service(tmp_path: Path) -> Service:
    v2_tree(tmp_path, POD_CGROUP, cpu_usec=4_200_000)
    v2_tree(tmp_path, CTR_CGROUP, cpu_usec=3_100_000, cpu_max="25000 100000")
    return Service(V2Driver(str(tmp_path)), [sandbox_record()], [container_record()])


# ------------------------------------------------------------------ descriptors
def test_descriptor_names_are_unique_and_carry_cadvisors_base_labels() -> None:
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names))
    for descriptor in metric_descriptors(1):
        assert list(descriptor.label_keys[:6]) == ["container", "id", "image", "name", "namespace", "pod"]
        assert descriptor.help


def test_failcnt_is_described_only_where_the_kernel_counts_it() -> None:
    assert "container_memory_failcnt" in {d.name for d in metric_descriptors(1)}
    assert "container_memory_failcnt" not in {d.name for d in metric_descriptors(2)}


def test_descriptors_follow_the_drivers_cgroup_version(v2_service: Service) -> None:
    assert [d.name for d in v2_service.descriptors()] == [d.name for d in metric_descriptors(2)]


@pytest.mark.parametrize("fixture", ["v1_service", "v2_service"])
def test_every_metric_matches_its_descriptor_in_name_type_and_label_count(fixture: str, request: Any) -> None:
    service: Service = request.getfixturevalue(fixture)
    descriptors = {d.name: d for d in service.descriptors()}
    families = {f.name: f for f in FAMILIES}
    for metric in all_metrics(service.pods()):
        assert metric.name in descriptors
        assert len(metric.label_values) == len(descriptors[metric.name].label_keys), metric.name
        assert metric.metric_type == families[metric.name].type
        assert metric.timestamp == 0  # read live at the call


def test_with_every_source_present_each_described_metric_is_emitted(v1_service: Service) -> None:
    emitted = {m.name for m in all_metrics(v1_service.pods())}
    network = {f.name for f in FAMILIES if f.name.startswith("container_network_")}
    assert emitted | network == {d.name for d in v1_service.descriptors()}


# ------------------------------------------------------------------ v1 values
def test_v1_cpu_time_is_whole_seconds_truncated_as_containerd_sends_it(v1_service: Service) -> None:
    ctr = v1_service.pods()[0].container_metrics[0].metrics
    assert value(ctr, "container_cpu_usage_seconds_total") == 7
    assert value(ctr, "container_cpu_user_seconds_total") == 5  # 5.99...s
    assert value(ctr, "container_cpu_system_seconds_total") == 1
    assert value(v1_service.pods()[0].metrics, "container_cpu_usage_seconds_total") == 9


def test_v1_cpu_usage_carries_cpu_total_like_cadvisor(v1_service: Service) -> None:
    ctr = v1_service.pods()[0].container_metrics[0].metrics
    (labels,) = values(ctr, "container_cpu_usage_seconds_total")
    assert labels[-1] == "total"


def test_v1_user_and_system_fall_back_to_clock_ticks(tmp_path: Path) -> None:
    v1_tree(tmp_path, CTR_CGROUP, cpu_ns=1)
    cpuacct = tmp_path / "cpuacct" / CTR_CGROUP.lstrip("/")
    os.unlink(cpuacct / "cpuacct.usage_user")
    os.unlink(cpuacct / "cpuacct.usage_sys")
    hz = os.sysconf("SC_CLK_TCK")
    (cpuacct / "cpuacct.stat").write_text(f"user {3 * hz}\nsystem {hz}\n")
    usage = CgroupUsageReader(v1_driver(tmp_path)).read(CTR_CGROUP)
    assert (usage.cpu_user_ns, usage.cpu_system_ns) == (3_000_000_000, 1_000_000_000)


def test_v1_memory_values_come_from_usage_stat_and_failcnt(v1_service: Service) -> None:
    ctr = v1_service.pods()[0].container_metrics[0].metrics
    assert value(ctr, "container_memory_usage_bytes") == 300 << 20
    assert value(ctr, "container_memory_max_usage_bytes") == 320 << 20
    assert value(ctr, "container_memory_working_set_bytes") == 270 << 20
    assert value(ctr, "container_memory_rss") == 200 << 20
    assert value(ctr, "container_memory_cache") == 90 << 20
    assert value(ctr, "container_memory_mapped_file") == 10 << 20
    assert value(ctr, "container_memory_swap") == 4096
    assert value(ctr, "container_memory_failcnt") == 3
    assert value(ctr, "container_memory_kernel_usage") == 3 << 20
    assert value(ctr, "container_spec_memory_limit_bytes") == 512 << 20
    assert value(ctr, "container_oom_events_total") == 1


def test_v1_page_faults_come_in_both_scopes(v1_service: Service) -> None:
    ctr = v1_service.pods()[0].container_metrics[0].metrics
    faults = {labels[-2:]: v for labels, v in values(ctr, "container_memory_failures_total").items()}
    assert faults == {("pgfault", "container"): 40, ("pgfault", "hierarchy"): 1000,
                      ("pgmajfault", "container"): 2, ("pgmajfault", "hierarchy"): 9}


def test_v1_unlimited_memory_and_pids_read_as_zero(tmp_path: Path) -> None:
    v1_tree(tmp_path, CTR_CGROUP, cpu_ns=1)
    (tmp_path / "memory" / CTR_CGROUP.lstrip("/") / "memory.limit_in_bytes").write_text(V1_UNLIMITED + "\n")
    usage = CgroupUsageReader(v1_driver(tmp_path)).read(CTR_CGROUP)
    assert (usage.memory_limit, usage.threads_max) == (0, 0)


def test_v1_quota_brings_throttling_and_the_quota_itself(v1_service: Service) -> None:
    ctr = v1_service.pods()[0].container_metrics[0].metrics
    assert value(ctr, "container_spec_cpu_quota") == 50000
    assert value(ctr, "container_spec_cpu_period") == 100000
    assert value(ctr, "container_spec_cpu_shares") == 512
    assert value(ctr, "container_cpu_cfs_periods_total") == 50
    assert value(ctr, "container_cpu_cfs_throttled_periods_total") == 7
    assert value(ctr, "container_cpu_cfs_throttled_seconds_total") == 3


def test_without_a_quota_there_is_no_quota_or_throttling_metric(v1_service: Service) -> None:
    pod = v1_service.pods()[0].metrics  # the pod cgroup has quota -1
    names = {m.name for m in pod}
    assert not names & {"container_spec_cpu_quota", "container_cpu_cfs_periods_total",
                        "container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_throttled_seconds_total"}
    assert "container_spec_cpu_period" in names


def test_processes_count_every_cgroup_below_and_threads_come_from_pids_current(v1_service: Service) -> None:
    ctr = v1_service.pods()[0].container_metrics[0].metrics
    assert value(ctr, "container_processes") == 2
    assert value(ctr, "container_threads") == 5
    assert value(ctr, "container_threads_max") == 0


def test_open_files_count_every_descriptor_and_the_sockets_among_them(tmp_path: Path) -> None:
    for pid, targets in {"7": ["/dev/null", "socket:[11]", "pipe:[12]"], "8": ["socket:[13]"]}.items():
        fd_dir = tmp_path / pid / "fd"
        fd_dir.mkdir(parents=True)
        for number, target in enumerate(targets):
            os.symlink(target, fd_dir / str(number))
    assert open_files({7, 8, 9}, proc=str(tmp_path)) == (4, 2)  # 9 has exited


# ------------------------------------------------------------------ v2 values
def test_v2_cpu_comes_from_cpu_stat_in_microseconds(v2_service: Service) -> None:
    ctr = v2_service.pods()[0].container_metrics[0].metrics
    assert value(ctr, "container_cpu_usage_seconds_total") == 3
    assert value(ctr, "container_cpu_user_seconds_total") == 3
    assert value(ctr, "container_cpu_system_seconds_total") == 0
    assert value(ctr, "container_cpu_cfs_throttled_seconds_total") == 2
    assert value(ctr, "container_spec_cpu_quota") == 25000
    assert value(ctr, "container_spec_cpu_period") == 100000


def test_v2_weight_is_reported_as_shares_like_cadvisor(v2_service: Service) -> None:
    ctr = v2_service.pods()[0].container_metrics[0].metrics
    assert value(ctr, "container_spec_cpu_shares") == weight_to_shares(39) == 998


def test_v2_memory_values_come_from_current_peak_and_stat(v2_service: Service) -> None:
    ctr = v2_service.pods()[0].container_metrics[0].metrics
    assert value(ctr, "container_memory_usage_bytes") == 100 << 20
    assert value(ctr, "container_memory_max_usage_bytes") == 120 << 20
    assert value(ctr, "container_memory_working_set_bytes") == 90 << 20
    assert value(ctr, "container_memory_rss") == 70 << 20
    assert value(ctr, "container_memory_cache") == 25 << 20
    assert value(ctr, "container_memory_kernel_usage") == 2 << 20
    assert value(ctr, "container_spec_memory_limit_bytes") == 0  # memory.max is "max"
    assert value(ctr, "container_oom_events_total") == 1
    assert value(ctr, "container_threads_max") == 64
    assert "container_memory_failcnt" not in {m.name for m in ctr}


def test_v2_without_memory_peak_has_no_max_usage(tmp_path: Path) -> None:
    v2_tree(tmp_path, CTR_CGROUP, cpu_usec=1, peak=False)
    assert CgroupUsageReader(V2Driver(str(tmp_path))).read(CTR_CGROUP).memory_max_usage is None


def test_v2_page_faults_of_a_cgroup_with_children_have_only_the_hierarchy_scope(v2_service: Service) -> None:
    pod = v2_service.pods()[0].metrics
    scopes = {labels[-2:] for labels in values(pod, "container_memory_failures_total")}
    assert scopes == {("pgfault", "hierarchy"), ("pgmajfault", "hierarchy")}
    ctr = v2_service.pods()[0].container_metrics[0].metrics
    assert len(values(ctr, "container_memory_failures_total")) == 4


# ------------------------------------------------------------------ labels and selection
def test_container_labels_are_cadvisors_for_a_containerd_container(v1_service: Service) -> None:
    ctr = v1_service.pods()[0].container_metrics[0]
    assert ctr.container_id == "ctr1"
    (labels,) = values(ctr.metrics, "container_memory_rss")
    assert labels == ("app", CTR_CGROUP, "busybox:latest", "ctr1", "shop", "web")


def test_pod_level_labels_name_the_pod_cgroup_and_sandbox_with_an_empty_container(v1_service: Service) -> None:
    pod = v1_service.pods()[0]
    assert pod.pod_sandbox_id == "pod1"
    (labels,) = values(pod.metrics, "container_memory_rss")
    assert labels == ("", POD_CGROUP, "", "pod1", "shop", "web")


def test_start_time_is_the_containers_start_and_the_pods_creation_in_seconds(v1_service: Service) -> None:
    pod = v1_service.pods()[0]
    assert value(pod.container_metrics[0].metrics, "container_start_time_seconds") == 1_700_000_100
    assert value(pod.metrics, "container_start_time_seconds") == 1_700_000_000


def test_only_ready_pods_and_running_containers_are_reported(tmp_path: Path) -> None:
    for cgroup in (POD_CGROUP, CTR_CGROUP, "/kyb/pod1/ctr2", "/kyb/pod2"):
        v1_tree(tmp_path, cgroup, cpu_ns=1)
    service = Service(
        v1_driver(tmp_path),
        [sandbox_record(), sandbox_record("pod2", state="SANDBOX_NOTREADY", cgroup="/kyb/pod2")],
        [container_record(), container_record("ctr2", state="CONTAINER_EXITED", cgroup="/kyb/pod1/ctr2")],
    )
    pods = service.pods()
    assert [p.pod_sandbox_id for p in pods] == ["pod1"]
    assert [c.container_id for c in pods[0].container_metrics] == ["ctr1"]


def test_a_container_whose_cgroup_is_gone_drops_out_without_failing_the_call(tmp_path: Path) -> None:
    v1_tree(tmp_path, POD_CGROUP, cpu_ns=1)
    service = Service(v1_driver(tmp_path), [sandbox_record()], [container_record()])
    pods = service.pods()
    assert [p.pod_sandbox_id for p in pods] == ["pod1"]
    assert list(pods[0].container_metrics) == []


def test_a_pod_whose_cgroup_is_gone_drops_out(tmp_path: Path) -> None:
    assert Service(v1_driver(tmp_path), [sandbox_record()], []).pods() == []


def test_reading_a_missing_cgroup_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        CgroupUsageReader(V2Driver(str(tmp_path))).read("/kyb/none")


# ------------------------------------------------------------------ network
NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1234      12    0    0    0     0          0         0     1234      12    0    0    0     0       0          0
  eth0:   98765     432    1    2    0     0          0         0    54321     210    3    4    0     0       0          0
"""


def test_network_counters_are_per_interface_without_loopback() -> None:
    samples = {name: (v, extra) for name, v, extra in network_samples(NET_DEV)}
    assert samples == {
        "container_network_receive_bytes_total": (98765, ("eth0",)),
        "container_network_receive_packets_total": (432, ("eth0",)),
        "container_network_receive_errors_total": (1, ("eth0",)),
        "container_network_receive_packets_dropped_total": (2, ("eth0",)),
        "container_network_transmit_bytes_total": (54321, ("eth0",)),
        "container_network_transmit_packets_total": (210, ("eth0",)),
        "container_network_transmit_errors_total": (3, ("eth0",)),
        "container_network_transmit_packets_dropped_total": (4, ("eth0",)),
    }


def test_host_network_pods_report_no_network_of_their_own(v1_service: Service) -> None:
    assert not [m for m in v1_service.pods()[0].metrics if m.name.startswith("container_network_")]
