"""Everything a cgroup tells about use and limits, read for the CRI metrics calls on v1 and v2.

``Stats`` from the drivers carries what the CRI stats messages need; the cadvisor-style metrics
want more (user/system CPU, CFS throttling, cache, mapped files, failcnt, the limits in force).
This module reads those files itself through the drivers' public layout (a v1 driver's
``hierarchies``, a v2 driver's ``root``) and writes nothing, so the drivers stay as they are.
Open files and sockets are counted over the cgroup's processes in ``/proc/<pid>/fd``, as
cadvisor counts them; a process that exits meanwhile simply is not counted.

Each value is ``None`` when the machine has no file for it (``memory.peak`` before Linux 5.19,
``memory.failcnt`` on v2, swap without swap accounting, a controller that is not mounted or not
enabled): a metric without a source is left out rather than reported as a made-up zero.

Normalisations, the same on both drivers:

- time is nanoseconds (v2's microseconds and v1's ``cpuacct.stat`` ticks are converted);
- "no limit" is ``None`` for a CPU quota and ``0`` for memory and pids limits, as the CRI and
  the kubelet write an unlimited value (v1's page-rounded ``LONG_MAX`` and v2's ``max``);
- v2's ``cpu.weight`` goes back to v1 shares with the inverse of runc's conversion, as cadvisor
  reports it;
- page faults come in two scopes, the cgroup's own processes and its whole subtree. v1 keeps both
  (``pgfault`` and ``total_pgfault``); v2 counts only the subtree, which is the cgroup's own
  count exactly when it has no child cgroups, so ``own`` is ``None`` for a v2 cgroup with children.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from runtime.cgroups import CgroupDriver, read_file
from runtime.cgroups.v1 import V1Driver
from runtime.cgroups.v2 import V2Driver
from runtime.errors import NotFound
from runtime.small_file import read_flat_keyed

NS_PER_USEC = 1_000
NS_PER_SEC = 1_000_000_000
# A v1 memory limit at or above this is the kernel's "unlimited" (LONG_MAX rounded to pages).
V1_UNLIMITED = 1 << 62


@dataclass
class PageFaults:
    own: int | None
    hierarchy: int


@dataclass
class CgroupUsage:
    """One reading of a cgroup; ``None`` where this machine has no source for the value."""

    cpu_usage_ns: int | None = None
    cpu_user_ns: int | None = None
    cpu_system_ns: int | None = None
    cfs_periods: int | None = None
    cfs_throttled_periods: int | None = None
    cfs_throttled_ns: int | None = None
    cpu_shares: int | None = None
    cpu_quota_us: int | None = None  # None: no quota
    cpu_period_us: int | None = None
    memory_usage: int | None = None
    memory_max_usage: int | None = None
    memory_working_set: int | None = None
    memory_rss: int | None = None
    memory_cache: int | None = None
    memory_mapped_file: int | None = None
    memory_swap: int | None = None
    memory_active_file: int | None = None
    memory_inactive_file: int | None = None
    memory_failcnt: int | None = None
    memory_kernel: int | None = None
    memory_limit: int | None = None  # 0: no limit
    pgfault: PageFaults | None = None
    pgmajfault: PageFaults | None = None
    oom_kills: int | None = None
    processes: int | None = None
    file_descriptors: int | None = None
    sockets: int | None = None
    threads: int | None = None
    threads_max: int | None = None  # 0: no limit


def _int(path: str) -> int | None:
    try:
        return int(read_file(path))
    except (OSError, ValueError):
        return None


def _limit(path: str) -> int | None:
    """A limit file: a number, or ``max`` (v2) for none, which reads as 0."""
    try:
        text = read_file(path)
    except OSError:
        return None
    if text == "max":
        return 0
    try:
        value = int(text)
    except ValueError:
        return None
    return 0 if value >= V1_UNLIMITED else value


def weight_to_shares(weight: int) -> int:
    """The inverse of runc's shares -> ``cpu.weight`` mapping, as cadvisor reports v2 shares."""
    return 2 + ((weight - 1) * 262142) // 9999


def process_ids(top: str) -> set[int]:
    """Distinct processes in a cgroup and every cgroup below it."""
    pids: set[int] = set()
    for dirpath, _dirs, files in os.walk(top):
        if "cgroup.procs" in files:
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    pids.update(int(line) for line in f if line.strip())
            except OSError:
                continue  # removed while we walked
    return pids


def open_files(pids: set[int], proc: str = "/proc") -> tuple[int, int]:
    """(file descriptors, of which sockets) the processes hold open."""
    descriptors = sockets = 0
    for pid in pids:
        fd_dir = os.path.join(proc, str(pid), "fd")
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue  # exited, or not ours to see
        descriptors += len(names)
        for name in names:
            try:
                if os.readlink(os.path.join(fd_dir, name)).startswith("socket:"):
                    sockets += 1
            except OSError:
                continue  # closed meanwhile
    return descriptors, sockets


def _count_processes(usage: CgroupUsage, top: str) -> None:
    pids = process_ids(top)
    usage.processes = len(pids)
    usage.file_descriptors, usage.sockets = open_files(pids)


def has_children(directory: str) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(entry.is_dir(follow_symlinks=False) for entry in entries)
    except OSError:
        return False


class CgroupUsageReader:
    """Reads a cgroup path (``/kyb/<pod>/<container>``) through whichever driver the runtime uses."""

    def __init__(self, driver: CgroupDriver) -> None:
        self.driver = driver

    def read(self, path: str) -> CgroupUsage:
        if not self.driver.exists(path):
            raise NotFound(f"cgroup {path} does not exist")
        if isinstance(self.driver, V2Driver):
            return self._read_v2(os.path.join(self.driver.root, path.lstrip("/")), path)
        if isinstance(self.driver, V1Driver):
            return self._read_v1(self.driver.hierarchies, path)
        raise TypeError(f"no metrics reader for cgroup driver {type(self.driver).__name__}")

    # ------------------------------------------------------------------ v1
    def _read_v1(self, hierarchies: dict[str, str], path: str) -> CgroupUsage:
        def directory(controller: str) -> str | None:
            point = hierarchies.get(controller)
            return None if point is None else os.path.join(point, path.lstrip("/"))

        usage = CgroupUsage()
        cpuacct = directory("cpuacct")
        if cpuacct is not None:
            usage.cpu_usage_ns = _int(os.path.join(cpuacct, "cpuacct.usage"))
            usage.cpu_user_ns = _int(os.path.join(cpuacct, "cpuacct.usage_user"))
            usage.cpu_system_ns = _int(os.path.join(cpuacct, "cpuacct.usage_sys"))
            if usage.cpu_user_ns is None or usage.cpu_system_ns is None:
                # Kernels before 4.7 only have clock ticks.
                ticks = read_flat_keyed(os.path.join(cpuacct, "cpuacct.stat"))
                hz = os.sysconf("SC_CLK_TCK")
                if "user" in ticks and "system" in ticks:
                    usage.cpu_user_ns = ticks["user"] * NS_PER_SEC // hz
                    usage.cpu_system_ns = ticks["system"] * NS_PER_SEC // hz
        cpu = directory("cpu")
        if cpu is not None:
            stat = read_flat_keyed(os.path.join(cpu, "cpu.stat"))
            usage.cfs_periods = stat.get("nr_periods")
            usage.cfs_throttled_periods = stat.get("nr_throttled")
            usage.cfs_throttled_ns = stat.get("throttled_time")
            usage.cpu_shares = _int(os.path.join(cpu, "cpu.shares"))
            usage.cpu_period_us = _int(os.path.join(cpu, "cpu.cfs_period_us"))
            quota = _int(os.path.join(cpu, "cpu.cfs_quota_us"))
            usage.cpu_quota_us = quota if quota is not None and quota > 0 else None
        memory = directory("memory")
        if memory is not None:
            usage.memory_usage = _int(os.path.join(memory, "memory.usage_in_bytes"))
            usage.memory_max_usage = _int(os.path.join(memory, "memory.max_usage_in_bytes"))
            usage.memory_failcnt = _int(os.path.join(memory, "memory.failcnt"))
            usage.memory_limit = _limit(os.path.join(memory, "memory.limit_in_bytes"))
            stat = read_flat_keyed(os.path.join(memory, "memory.stat"))
            usage.memory_rss = stat.get("total_rss")
            usage.memory_cache = stat.get("total_cache")
            usage.memory_mapped_file = stat.get("total_mapped_file")
            usage.memory_swap = stat.get("total_swap")
            usage.memory_active_file = stat.get("total_active_file")
            usage.memory_inactive_file = stat.get("total_inactive_file")
            if "total_pgfault" in stat:
                usage.pgfault = PageFaults(own=stat.get("pgfault"), hierarchy=stat["total_pgfault"])
            if "total_pgmajfault" in stat:
                usage.pgmajfault = PageFaults(own=stat.get("pgmajfault"), hierarchy=stat["total_pgmajfault"])
            if usage.memory_usage is not None:
                usage.memory_working_set = max(0, usage.memory_usage - (usage.memory_inactive_file or 0))
            usage.memory_kernel = _int(os.path.join(memory, "memory.kmem.usage_in_bytes"))
            usage.oom_kills = self.driver.oom_kills(path)
            _count_processes(usage, memory)
        pids = directory("pids")
        if pids is not None:
            usage.threads = _int(os.path.join(pids, "pids.current"))
            usage.threads_max = _limit(os.path.join(pids, "pids.max"))
        return usage

    # ------------------------------------------------------------------ v2
    def _read_v2(self, d: str, path: str) -> CgroupUsage:
        usage = CgroupUsage()
        stat = read_flat_keyed(os.path.join(d, "cpu.stat"))
        usage.cpu_usage_ns = _usec_to_ns(stat.get("usage_usec"))
        usage.cpu_user_ns = _usec_to_ns(stat.get("user_usec"))
        usage.cpu_system_ns = _usec_to_ns(stat.get("system_usec"))
        usage.cfs_periods = stat.get("nr_periods")
        usage.cfs_throttled_periods = stat.get("nr_throttled")
        usage.cfs_throttled_ns = _usec_to_ns(stat.get("throttled_usec"))
        weight = _int(os.path.join(d, "cpu.weight"))
        usage.cpu_shares = weight_to_shares(weight) if weight else None
        try:
            quota, _, period = read_file(os.path.join(d, "cpu.max")).partition(" ")
            usage.cpu_period_us = int(period)
            usage.cpu_quota_us = None if quota == "max" else int(quota)
        except (OSError, ValueError):
            pass
        usage.memory_usage = _int(os.path.join(d, "memory.current"))
        usage.memory_max_usage = _int(os.path.join(d, "memory.peak"))
        usage.memory_limit = _limit(os.path.join(d, "memory.max"))
        usage.memory_swap = _int(os.path.join(d, "memory.swap.current"))
        mstat = read_flat_keyed(os.path.join(d, "memory.stat"))
        usage.memory_rss = mstat.get("anon")
        usage.memory_cache = mstat.get("file")
        usage.memory_mapped_file = mstat.get("file_mapped")
        usage.memory_active_file = mstat.get("active_file")
        usage.memory_inactive_file = mstat.get("inactive_file")
        usage.memory_kernel = mstat.get("kernel")  # Linux 5.18 and later
        leaf = not has_children(d)
        if "pgfault" in mstat:
            usage.pgfault = PageFaults(own=mstat["pgfault"] if leaf else None, hierarchy=mstat["pgfault"])
        if "pgmajfault" in mstat:
            usage.pgmajfault = PageFaults(own=mstat["pgmajfault"] if leaf else None, hierarchy=mstat["pgmajfault"])
        if usage.memory_usage is not None:
            usage.memory_working_set = max(0, usage.memory_usage - (usage.memory_inactive_file or 0))
        if os.path.exists(os.path.join(d, "memory.events")):
            usage.oom_kills = self.driver.oom_kills(path)
        _count_processes(usage, d)
        usage.threads = _int(os.path.join(d, "pids.current"))
        usage.threads_max = _limit(os.path.join(d, "pids.max"))
        return usage


def _usec_to_ns(value: int | None) -> int | None:
    return None if value is None else value * NS_PER_USEC
