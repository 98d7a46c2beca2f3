"""ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats, from cgroups.

CPU rate (``usage_nano_cores``) needs two samples: the previous one per cgroup is kept in
memory, so the first answer after a start reports only the cumulative counter. The writable
layer's usage is the size of the container's overlay upper directory. Pod network counters are
read from the holder's ``/proc/<pid>/net/dev``, which shows the pod's namespace without setns.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import grpc

from cri import api_pb2
from runtime.cgroups import Stats
from runtime.container.manager import ContainerManager
from runtime.errors import NotFound
from runtime.lifecycle import ContainerState
from runtime.processes import alive
from runtime.sandbox.manager import SandboxManager
from runtime.service import convert


def _u64(value: int) -> api_pb2.UInt64Value:
    return api_pb2.UInt64Value(value=max(0, int(value)))


def directory_usage(path: str) -> tuple[int, int]:
    used = inodes = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in filenames + dirnames:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                used += st.st_blocks * 512
                inodes += 1
    return used, inodes


def network_usage(pid: int, timestamp: int) -> api_pb2.NetworkUsage | None:
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.readlines()[2:]
    except OSError:
        return None
    usage = api_pb2.NetworkUsage(timestamp=timestamp)
    for line in lines:
        name, _, rest = line.partition(":")
        name = name.strip()
        fields = rest.split()
        if name == "lo" or len(fields) < 11:
            continue
        iface = api_pb2.NetworkInterfaceUsage(
            name=name, rx_bytes=_u64(int(fields[0])), rx_errors=_u64(int(fields[2])),
            tx_bytes=_u64(int(fields[8])), tx_errors=_u64(int(fields[10])),
        )
        usage.interfaces.append(iface)
        if name == "eth0" or not usage.HasField("default_interface"):
            usage.default_interface.CopyFrom(iface)
    return usage


class StatsCalls:
    sandboxes: SandboxManager
    containers: ContainerManager
    _cpu_samples: dict[str, tuple[int, int]]
    _cpu_lock: threading.Lock

    def _cpu(self, key: str, stats: Stats) -> api_pb2.CpuUsage:
        cpu = api_pb2.CpuUsage(timestamp=stats.timestamp_ns, usage_core_nano_seconds=_u64(stats.cpu_usage_ns))
        with self._cpu_lock:
            previous = self._cpu_samples.get(key)
            self._cpu_samples[key] = (stats.timestamp_ns, stats.cpu_usage_ns)
        if previous and stats.timestamp_ns > previous[0]:
            rate = (stats.cpu_usage_ns - previous[1]) * 1_000_000_000 // (stats.timestamp_ns - previous[0])
            cpu.usage_nano_cores.value = max(0, rate)
        return cpu

    @staticmethod
    def _memory(stats: Stats) -> api_pb2.MemoryUsage:
        return api_pb2.MemoryUsage(
            timestamp=stats.timestamp_ns, working_set_bytes=_u64(stats.memory_working_set),
            usage_bytes=_u64(stats.memory_usage), rss_bytes=_u64(stats.memory_rss),
            page_faults=_u64(stats.page_faults), major_page_faults=_u64(stats.major_page_faults),
        )

    def _container_stats(self, record: dict) -> api_pb2.ContainerStats:
        config = convert.container_config(record)
        stats = self.containers.ctx.cgroups.stats(record["cgroup"])
        upper = str(self.containers.ctx.containers.path(record["id"]) / "upper")
        used, inodes = directory_usage(upper)
        return api_pb2.ContainerStats(
            attributes=api_pb2.ContainerAttributes(
                id=record["id"], metadata=config.metadata, labels=config.labels, annotations=config.annotations),
            cpu=self._cpu(record["cgroup"], stats),
            memory=self._memory(stats),
            writable_layer=api_pb2.FilesystemUsage(
                timestamp=stats.timestamp_ns, fs_id=api_pb2.FilesystemIdentifier(mountpoint=upper),
                used_bytes=_u64(used), inodes_used=_u64(inodes)),
        )

    def ContainerStats(self, request: api_pb2.ContainerStatsRequest, context: grpc.ServicerContext) -> api_pb2.ContainerStatsResponse:
        record = self.containers.get(request.container_id)
        return api_pb2.ContainerStatsResponse(stats=self._container_stats(record))

    def ListContainerStats(self, request: api_pb2.ListContainerStatsRequest, context: grpc.ServicerContext) -> api_pb2.ListContainerStatsResponse:
        f = request.filter
        result = []
        for record in self.containers.list():
            if record["state"] != ContainerState.RUNNING.value:
                continue
            if f.id and not record["id"].startswith(f.id):
                continue
            if f.pod_sandbox_id and not record["sandbox_id"].startswith(f.pod_sandbox_id):
                continue
            if not convert.labels_match(record["config"].get("labels", {}), f.label_selector):
                continue
            with contextlib.suppress(NotFound, OSError):
                result.append(self._container_stats(record))
        return api_pb2.ListContainerStatsResponse(stats=result)

    def _sandbox_stats(self, record: dict) -> api_pb2.PodSandboxStats:
        config = convert.sandbox_config(record)
        stats = self.sandboxes.ctx.cgroups.stats(record["cgroup"])
        linux = api_pb2.LinuxPodSandboxStats(
            cpu=self._cpu(record["cgroup"], stats),
            memory=self._memory(stats),
            process=api_pb2.ProcessUsage(timestamp=stats.timestamp_ns, process_count=_u64(stats.pids)),
        )
        holder = record["holder"]
        if not record.get("host_network") and alive(holder["pid"], holder["start"]):
            net = network_usage(holder["pid"], time.time_ns())
            if net is not None:
                linux.network.CopyFrom(net)
        for container_id in self.containers.ids_in_sandbox(record["id"]):
            with contextlib.suppress(NotFound, OSError):
                c = self.containers.get(container_id)
                if c["state"] == ContainerState.RUNNING.value:
                    linux.containers.append(self._container_stats(c))
        return api_pb2.PodSandboxStats(
            attributes=api_pb2.PodSandboxAttributes(
                id=record["id"], metadata=config.metadata, labels=config.labels, annotations=config.annotations),
            linux=linux,
        )

    def PodSandboxStats(self, request: api_pb2.PodSandboxStatsRequest, context: grpc.ServicerContext) -> api_pb2.PodSandboxStatsResponse:
        return api_pb2.PodSandboxStatsResponse(stats=self._sandbox_stats(self.sandboxes.get(request.pod_sandbox_id)))

    def ListPodSandboxStats(self, request: api_pb2.ListPodSandboxStatsRequest, context: grpc.ServicerContext) -> api_pb2.ListPodSandboxStatsResponse:
        f = request.filter
        result = []
        for record in self.sandboxes.list():
            if f.id and not record["id"].startswith(f.id):
                continue
            if not convert.labels_match(record["config"].get("labels", {}), f.label_selector):
                continue
            with contextlib.suppress(NotFound, OSError):
                result.append(self._sandbox_stats(record))
        return api_pb2.ListPodSandboxStatsResponse(stats=result)
