"""ListMetricDescriptors and ListPodSandboxMetrics: cadvisor's container metrics from the CRI.

These calls let the kubelet serve ``/metrics/cadvisor`` without cadvisor (KEP-2371,
``PodAndContainerStatsFromCRI``). The kubelet asks for the descriptors once, turns each into a
Prometheus description (name, help, label keys), then on every scrape turns each ``Metric`` into
a sample by position: ``label_values`` must line up with the descriptor's ``label_keys``, or the
kubelet drops the sample. So one table below is the single source of both answers, and every
sample is built against its family's keys.

Names, types and labels are cadvisor's, so dashboards and alerts written for cadvisor work:
every family carries ``container, id, image, name, namespace, pod`` (cadvisor's set, which holds
the CRI-O and kubelet sets), plus ``cpu``, ``failure_type``/``scope`` or ``interface`` where
cadvisor has them. As cadvisor labels a containerd container: ``id`` is the cgroup path,
``name`` the runtime's container id. Pod-level samples (the pod cgroup's totals and the pod's
network) have ``container=""``, ``image=""`` and the sandbox id as ``name``, as cadvisor labels a
pod cgroup and its sandbox.

Values are the CRI's unsigned integers, converted the way containerd and CRI-O convert them:
time in whole seconds (CPU nanoseconds divided by 10^9, truncated), bytes and counts as read.
``timestamp`` is 0 because every value is read live at the call, which the CRI defines as 0.

What is sampled: READY sandboxes and their RUNNING containers (containerd reports the same);
a cgroup that disappears while being read (a pod removed meanwhile) drops out of the answer
instead of failing it. Which cgroup files feed which value, and what is left out when a machine
lacks a file, is in ``runtime.service.cgroup_usage``. The pod's network counters come from the
holder's ``/proc/<pid>/net/dev`` (the pod's namespace, read without setns), loopback excluded
as cadvisor excludes it; host-network pods have none of their own.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from cri import api_pb2
from runtime.container.manager import ContainerManager
from runtime.context import RuntimeContext
from runtime.errors import NotFound
from runtime.lifecycle import ContainerState, SandboxState
from runtime.processes import alive
from runtime.sandbox.manager import SandboxManager
from runtime.service import convert
from runtime.service.cgroup_usage import NS_PER_SEC, CgroupUsage, CgroupUsageReader

log = logging.getLogger(__name__)

BASE_LABEL_KEYS = ("container", "id", "image", "name", "namespace", "pod")
COUNTER = api_pb2.COUNTER
GAUGE = api_pb2.GAUGE


@dataclass(frozen=True)
class Family:
    """One metric name as the descriptors announce it."""

    name: str
    help: str
    type: int
    extra_label_keys: tuple[str, ...] = ()
    cgroup_versions: frozenset[int] = frozenset({1, 2})

    @property
    def label_keys(self) -> tuple[str, ...]:
        return BASE_LABEL_KEYS + self.extra_label_keys


_NET = ("interface",)
FAMILIES: tuple[Family, ...] = (
    Family("container_cpu_usage_seconds_total", "Cumulative CPU time consumed, in seconds.", COUNTER, ("cpu",)),
    Family("container_cpu_user_seconds_total", "Cumulative CPU time consumed in user mode, in seconds.", COUNTER),
    Family("container_cpu_system_seconds_total", "Cumulative CPU time consumed in kernel mode, in seconds.", COUNTER),
    Family("container_cpu_cfs_periods_total", "Number of CFS enforcement periods that have elapsed.", COUNTER),
    Family("container_cpu_cfs_throttled_periods_total", "Number of CFS periods in which the cgroup was throttled.", COUNTER),
    Family("container_cpu_cfs_throttled_seconds_total", "Total time the cgroup was throttled, in seconds.", COUNTER),
    Family("container_memory_usage_bytes", "Memory in use, in bytes, counting all memory whenever it was last touched.", GAUGE),
    Family("container_memory_max_usage_bytes", "Highest memory use recorded, in bytes.", GAUGE),
    Family("container_memory_working_set_bytes", "Working set (usage minus inactive file cache), in bytes.", GAUGE),
    Family("container_memory_rss", "Anonymous and swap cache memory (RSS), in bytes.", GAUGE),
    Family("container_memory_cache", "Page cache memory, in bytes.", GAUGE),
    Family("container_memory_mapped_file", "Memory-mapped file pages, in bytes.", GAUGE),
    Family("container_memory_swap", "Swap in use, in bytes.", GAUGE),
    Family("container_memory_total_active_file_bytes", "File cache on the active LRU list, in bytes.", GAUGE),
    Family("container_memory_total_inactive_file_bytes", "File cache on the inactive LRU list, in bytes.", GAUGE),
    Family("container_memory_kernel_usage", "Kernel memory charged to the cgroup, in bytes.", GAUGE),
    Family("container_memory_failcnt", "Number of times memory use hit the cgroup's limit.", COUNTER,
           cgroup_versions=frozenset({1})),
    Family("container_memory_failures_total", "Cumulative count of page faults, by fault type and scope.", COUNTER,
           ("failure_type", "scope")),
    Family("container_oom_events_total", "Number of processes the kernel's OOM killer killed in the cgroup.", COUNTER),
    Family("container_spec_cpu_shares", "CPU shares of the cgroup.", GAUGE),
    Family("container_spec_cpu_quota", "CFS CPU quota of the cgroup, in microseconds per period.", GAUGE),
    Family("container_spec_cpu_period", "CFS CPU period of the cgroup, in microseconds.", GAUGE),
    Family("container_spec_memory_limit_bytes", "Memory limit of the cgroup, in bytes; 0 means no limit.", GAUGE),
    Family("container_processes", "Number of processes in the cgroup and below it.", GAUGE),
    Family("container_file_descriptors", "Number of open file descriptors of the cgroup's processes.", GAUGE),
    Family("container_sockets", "Number of open sockets of the cgroup's processes.", GAUGE),
    Family("container_threads", "Number of threads (tasks) in the cgroup and below it.", GAUGE),
    Family("container_threads_max", "Most threads (tasks) the cgroup may hold; 0 means no limit.", GAUGE),
    Family("container_start_time_seconds", "When the container started (the pod: was created), in seconds since the epoch.",
           GAUGE),
    Family("container_last_seen", "When the runtime last saw the container, in seconds since the epoch.", GAUGE),
    Family("container_network_receive_bytes_total", "Cumulative count of bytes received.", COUNTER, _NET),
    Family("container_network_receive_packets_total", "Cumulative count of packets received.", COUNTER, _NET),
    Family("container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving.",
           COUNTER, _NET),
    Family("container_network_receive_errors_total", "Cumulative count of errors while receiving.", COUNTER, _NET),
    Family("container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", COUNTER, _NET),
    Family("container_network_transmit_packets_total", "Cumulative count of packets transmitted.", COUNTER, _NET),
    Family("container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting.",
           COUNTER, _NET),
    Family("container_network_transmit_errors_total", "Cumulative count of errors while transmitting.", COUNTER, _NET),
)
FAMILY_BY_NAME = {family.name: family for family in FAMILIES}

# /proc/net/dev columns after the interface name, and the family each one feeds.
NET_DEV_COLUMNS = {
    0: "container_network_receive_bytes_total",
    1: "container_network_receive_packets_total",
    2: "container_network_receive_errors_total",
    3: "container_network_receive_packets_dropped_total",
    8: "container_network_transmit_bytes_total",
    9: "container_network_transmit_packets_total",
    10: "container_network_transmit_errors_total",
    11: "container_network_transmit_packets_dropped_total",
}

# (family name, value, values of the family's extra labels)
Sample = tuple[str, int, tuple[str, ...]]


def metric_descriptors(cgroup_version: int) -> list[api_pb2.MetricDescriptor]:
    """Every family this runtime can emit on a machine with this cgroup version."""
    return [
        api_pb2.MetricDescriptor(name=f.name, help=f.help, label_keys=list(f.label_keys))
        for f in FAMILIES
        if cgroup_version in f.cgroup_versions
    ]


def cgroup_samples(usage: CgroupUsage) -> Iterator[Sample]:
    """The samples one cgroup reading supports; values without a source are left out."""
    u = usage
    values: list[tuple[str, int | None, tuple[str, ...]]] = [
        ("container_cpu_usage_seconds_total", _seconds(u.cpu_usage_ns), ("total",)),
        ("container_cpu_user_seconds_total", _seconds(u.cpu_user_ns), ()),
        ("container_cpu_system_seconds_total", _seconds(u.cpu_system_ns), ()),
    ]
    if u.cpu_quota_us is not None:
        # cadvisor reports throttling and the quota only for cgroups that have a quota.
        values += [
            ("container_cpu_cfs_periods_total", u.cfs_periods, ()),
            ("container_cpu_cfs_throttled_periods_total", u.cfs_throttled_periods, ()),
            ("container_cpu_cfs_throttled_seconds_total", _seconds(u.cfs_throttled_ns), ()),
            ("container_spec_cpu_quota", u.cpu_quota_us, ()),
        ]
    values += [
        ("container_memory_usage_bytes", u.memory_usage, ()),
        ("container_memory_max_usage_bytes", u.memory_max_usage, ()),
        ("container_memory_working_set_bytes", u.memory_working_set, ()),
        ("container_memory_rss", u.memory_rss, ()),
        ("container_memory_cache", u.memory_cache, ()),
        ("container_memory_mapped_file", u.memory_mapped_file, ()),
        ("container_memory_swap", u.memory_swap, ()),
        ("container_memory_total_active_file_bytes", u.memory_active_file, ()),
        ("container_memory_total_inactive_file_bytes", u.memory_inactive_file, ()),
        ("container_memory_kernel_usage", u.memory_kernel, ()),
        ("container_memory_failcnt", u.memory_failcnt, ()),
    ]
    for fault_type, faults in (("pgfault", u.pgfault), ("pgmajfault", u.pgmajfault)):
        if faults is not None:
            values.append(("container_memory_failures_total", faults.own, (fault_type, "container")))
            values.append(("container_memory_failures_total", faults.hierarchy, (fault_type, "hierarchy")))
    values += [
        ("container_oom_events_total", u.oom_kills, ()),
        ("container_spec_cpu_shares", u.cpu_shares, ()),
        ("container_spec_cpu_period", u.cpu_period_us, ()),
        ("container_spec_memory_limit_bytes", u.memory_limit, ()),
        ("container_processes", u.processes, ()),
        ("container_file_descriptors", u.file_descriptors, ()),
        ("container_sockets", u.sockets, ()),
        ("container_threads", u.threads, ()),
        ("container_threads_max", u.threads_max, ()),
    ]
    for name, value, extra in values:
        if value is not None:
            yield name, value, extra


def network_samples(net_dev: str) -> Iterator[Sample]:
    """Per-interface counters from the text of a ``/proc/<pid>/net/dev``, loopback excluded."""
    for line in net_dev.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        name = name.strip()
        fields = rest.split()
        if not sep or name == "lo" or len(fields) < 16:
            continue
        for column, family in NET_DEV_COLUMNS.items():
            yield family, int(fields[column]), (name,)


def build_metric(sample: Sample, base_label_values: tuple[str, ...]) -> api_pb2.Metric:
    name, value, extra = sample
    family = FAMILY_BY_NAME[name]
    label_values = base_label_values + extra
    if len(label_values) != len(family.label_keys):
        raise ValueError(f"{name}: {len(label_values)} label values for keys {family.label_keys}")
    return api_pb2.Metric(
        name=name, timestamp=0, metric_type=family.type,  # type: ignore[arg-type]
        label_values=list(label_values), value=api_pb2.UInt64Value(value=max(0, int(value))),
    )


def _seconds(ns: int | None) -> int | None:
    return None if ns is None else ns // NS_PER_SEC


class MetricsCalls:
    ctx: RuntimeContext
    sandboxes: SandboxManager
    containers: ContainerManager

    def ListMetricDescriptors(
        self, request: api_pb2.ListMetricDescriptorsRequest, context: grpc.ServicerContext
    ) -> api_pb2.ListMetricDescriptorsResponse:
        return api_pb2.ListMetricDescriptorsResponse(descriptors=metric_descriptors(self.ctx.cgroups.version))

    def ListPodSandboxMetrics(
        self, request: api_pb2.ListPodSandboxMetricsRequest, context: grpc.ServicerContext
    ) -> api_pb2.ListPodSandboxMetricsResponse:
        reader = CgroupUsageReader(self.ctx.cgroups)
        now = int(time.time())
        running: dict[str, list[dict[str, Any]]] = {}
        for record in self.containers.list():
            if record["state"] == ContainerState.RUNNING.value:
                running.setdefault(record["sandbox_id"], []).append(record)
        pods = []
        for sandbox in sorted(self.sandboxes.list(), key=lambda r: r["id"]):
            if sandbox["state"] != SandboxState.READY.value:
                continue
            try:
                pod = self._pod_metrics(reader, sandbox, running.get(sandbox["id"], []), now)
            except (NotFound, OSError) as e:
                log.debug("pod left out of the metrics", extra={"sandbox": sandbox["id"], "error": str(e)})
                continue
            pods.append(pod)
        return api_pb2.ListPodSandboxMetricsResponse(pod_metrics=pods)

    def _pod_metrics(
        self, reader: CgroupUsageReader, sandbox: dict[str, Any], containers: list[dict[str, Any]], now: int
    ) -> api_pb2.PodSandboxMetrics:
        meta = convert.sandbox_config(sandbox).metadata
        pod_labels = ("", sandbox["cgroup"], "", sandbox["id"], meta.namespace, meta.name)
        samples = list(cgroup_samples(reader.read(sandbox["cgroup"])))
        samples.append(("container_start_time_seconds", sandbox["created_at"] // NS_PER_SEC, ()))
        samples.append(("container_last_seen", now, ()))
        holder = sandbox["holder"]
        if not sandbox.get("host_network") and alive(holder["pid"], holder["start"]):
            with contextlib.suppress(OSError):
                with open(f"/proc/{holder['pid']}/net/dev") as f:
                    samples.extend(network_samples(f.read()))
        pod = api_pb2.PodSandboxMetrics(
            pod_sandbox_id=sandbox["id"], metrics=[build_metric(s, pod_labels) for s in samples]
        )
        for record in sorted(containers, key=lambda r: r["id"]):
            try:
                pod.container_metrics.append(self._container_metrics(reader, record, meta, now))
            except (NotFound, OSError) as e:
                log.debug("container left out of the metrics", extra={"container": record["id"], "error": str(e)})
        return pod

    @staticmethod
    def _container_metrics(
        reader: CgroupUsageReader, record: dict[str, Any], pod: api_pb2.PodSandboxMetadata, now: int
    ) -> api_pb2.ContainerMetrics:
        config = convert.container_config(record)
        labels = (config.metadata.name, record["cgroup"], config.image.image, record["id"], pod.namespace, pod.name)
        samples = list(cgroup_samples(reader.read(record["cgroup"])))
        if record.get("started_at"):
            samples.append(("container_start_time_seconds", record["started_at"] // NS_PER_SEC, ()))
        samples.append(("container_last_seen", now, ()))
        return api_pb2.ContainerMetrics(
            container_id=record["id"], metrics=[build_metric(s, labels) for s in samples]
        )
