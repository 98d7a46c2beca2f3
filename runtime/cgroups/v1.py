"""cgroup v1: one directory per controller hierarchy (``/sys/fs/cgroup/<controller>/<path>``).

A cgroup here is the same relative path created in each hierarchy we use. Two v1 quirks shape
the code: a new cpuset cgroup starts with empty ``cpuset.cpus``/``cpuset.mems`` and refuses
tasks until they are filled (we copy the parent's down the path), and memory+swap is one limit
(``memory.memsw.limit_in_bytes``) that must never be below the memory limit, so the write order
depends on whether limits grow or shrink. OOM kills are counted by ``oom_kill`` in
``memory.oom_control``.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable

from runtime.cgroups import (
    CgroupDriver,
    CgroupError,
    Resources,
    Stats,
    _read_pids,
    cgroup_mounts,
    hugetlb_writes,
    read_file,
    write_each,
    write_file,
)
from runtime.small_file import read_flat_keyed

# Every v1 controller a kernel may mount. A cgroup is made (and its processes joined) in each
# hierarchy the machine mounts, and in named ones such as ``name=systemd`` too, as runc's
# cgroupfs manager does: a container then finds itself in every line of /proc/self/cgroup and
# under each directory of /sys/fs/cgroup (systemd run inside a container looks for its own).
CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices", "hugetlb",
               "blkio", "net_cls", "net_prio", "perf_event", "rdma", "misc")


class V1Driver(CgroupDriver):
    version = 1

    def __init__(self, hierarchies: dict[str, str], writer: Callable[[str, str], None] = write_file) -> None:
        """``hierarchies`` maps a controller name to the mount point of its hierarchy."""
        self.hierarchies = hierarchies
        self._write = writer
        # Several values into one file, a write each: one open for the real files, the
        # given writer's calls otherwise.
        self._write_each: Callable[[str, list[str]], None] = write_each if writer is write_file else self._each

    def _each(self, path: str, values: list[str]) -> None:
        for value in values:
            self._write(path, value)

    @classmethod
    def from_mountinfo(cls, mountinfo: str = "/proc/self/mountinfo") -> V1Driver:
        hierarchies: dict[str, str] = {}
        for point, fstype, opts in cgroup_mounts(mountinfo):
            if fstype != "cgroup":
                continue
            for opt in opts.split(","):
                if (opt in CONTROLLERS or opt.startswith("name=")) and opt not in hierarchies:
                    hierarchies[opt] = point
        if "memory" not in hierarchies or "cpu" not in hierarchies:
            raise CgroupError("no cgroup v1 cpu and memory hierarchies are mounted")
        return cls(hierarchies)

    def _dir(self, controller: str, path: str) -> str | None:
        point = self.hierarchies.get(controller)
        return None if point is None else os.path.join(point, path.lstrip("/"))

    def _dirs(self, path: str) -> list[str]:
        return sorted({os.path.join(p, path.lstrip("/")) for p in self.hierarchies.values()})

    def exists(self, path: str) -> bool:
        d = self._dir("memory", path)
        return d is not None and os.path.isdir(d)

    def create(self, path: str, resources: Resources | None = None, parents: bool = True) -> None:
        for d in self._dirs(path):
            try:
                os.mkdir(d)  # the parent usually exists: the pod's cgroup, for a container's
            except FileExistsError:
                pass
            except FileNotFoundError as e:
                if not parents:
                    raise CgroupError(f"cannot create cgroup {d}: its parent does not exist", errno.ENOENT) from e
                os.makedirs(d, exist_ok=True)
        if "cpuset" in self.hierarchies:
            self._init_cpuset(path)
        if resources is not None:
            self.update(path, resources)

    def _init_cpuset(self, path: str) -> None:
        """Fill each empty ``cpuset.cpus``/``cpuset.mems`` on the path from its parent's,
        top down. Only what is empty is filled; usually that is the new cgroup alone, its
        parent done when the parent was made, so that case costs two reads per file."""
        base = self.hierarchies["cpuset"]
        parts = [p for p in path.split("/") if p]
        filled: dict[str, tuple[int, str]] = {}  # file -> (deepest level with a value, the value)
        for name in ("cpuset.cpus", "cpuset.mems"):
            level = len(parts)
            while level > 0 and not (value := read_file(os.path.join(base, *parts[:level], name))):
                level -= 1
            filled[name] = (level, value if level else read_file(os.path.join(base, name)))
        for depth in range(1, len(parts) + 1):  # parents first: the kernel wants them filled
            for name, (level, value) in filled.items():
                if depth > level:
                    self._write(os.path.join(base, *parts[:depth], name), value)

    def update(self, path: str, resources: Resources) -> None:
        r = resources
        cpu = self._dir("cpu", path)
        if cpu is not None:
            if r.cpu_shares > 0:
                self._write(os.path.join(cpu, "cpu.shares"), str(r.cpu_shares))
            if r.cpu_period > 0:
                self._write(os.path.join(cpu, "cpu.cfs_period_us"), str(r.cpu_period))
            if r.cpu_quota != 0:
                self._write(os.path.join(cpu, "cpu.cfs_quota_us"), str(r.cpu_quota if r.cpu_quota > 0 else -1))
        memory = self._dir("memory", path)
        if memory is not None and (r.memory_limit > 0 or r.memory_swap_limit != 0):
            self._set_memory(memory, r.memory_limit, r.memory_swap_limit)
        pids = self._dir("pids", path)
        pids_limit = r.pids_limit or _unified_int(r.unified.get("pids.max"))
        if pids is not None and pids_limit:
            self._write(os.path.join(pids, "pids.max"), "max" if pids_limit < 0 else str(pids_limit))
        cpuset = self._dir("cpuset", path)
        if cpuset is not None:
            if r.cpuset_cpus:
                self._write(os.path.join(cpuset, "cpuset.cpus"), r.cpuset_cpus)
            if r.cpuset_mems:
                self._write(os.path.join(cpuset, "cpuset.mems"), r.cpuset_mems)
        hugetlb = self._dir("hugetlb", path)
        if hugetlb is not None:
            for file, value in hugetlb_writes(hugetlb, r.hugepage_limits, "hugetlb.{size}.limit_in_bytes",
                                              "hugetlb.{size}.rsvd.limit_in_bytes"):
                self._write(file, value)

    def _set_memory(self, memory: str, limit: int, swap: int) -> None:
        limit_file = os.path.join(memory, "memory.limit_in_bytes")
        memsw_file = os.path.join(memory, "memory.memsw.limit_in_bytes")
        has_memsw = os.path.exists(memsw_file)
        if swap == 0 or not has_memsw:
            if limit > 0:
                self._write(limit_file, str(limit))
            return
        # memsw may never be below the memory limit: when growing, raise memsw first.
        steps = [(memsw_file, swap), (limit_file, limit)]
        current = int(read_file(limit_file))
        if 0 < limit < current and swap > 0:
            steps.reverse()
        for file, value in steps:
            if value != 0:
                self._write(file, str(value))

    def set_devices(self, path: str, rules: list[str]) -> None:
        devices = self._dir("devices", path)
        if devices is None or not rules:
            return
        self._write(os.path.join(devices, "devices.deny"), "a")
        self._write_each(os.path.join(devices, "devices.allow"), rules)  # the kernel takes a rule per write

    def procs_files(self, path: str) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self._dirs(path)]

    def join_files(self, path: str) -> list[str]:
        """``tasks``: moving a whole process (``cgroup.procs``) takes the kernel's global
        threadgroup lock, whose first taking after a quiet spell waits for an RCU grace period
        (5-15 ms here, per container start); the calling thread moving itself (``0`` into
        ``tasks``) needs no such lock. For a single-threaded process, which every joiner is
        (forked from the single-threaded fork server), that thread is the whole process."""
        return [os.path.join(d, "tasks") for d in self._dirs(path)]

    def container_view(self, path: str) -> dict:
        points = sorted(set(self.hierarchies.values()))
        names = [os.path.basename(p) for p in points]
        links = [[controller, name] for name in names if "," in name for controller in name.split(",")]
        return {"version": 1, "binds": [[os.path.join(p, path.lstrip("/")), n] for p, n in zip(points, names, strict=True)],
                "links": links}

    def pids(self, path: str) -> list[int]:
        d = self._dir("memory", path)
        return [] if d is None else _read_pids(os.path.join(d, "cgroup.procs"))

    def oom_source(self, path: str) -> tuple[str, str]:
        return os.path.join(self._dir("memory", path) or "", "memory.oom_control"), "oom_kill"

    def oom_kills(self, path: str) -> int:
        d = self._dir("memory", path)
        return 0 if d is None else read_flat_keyed(os.path.join(d, "memory.oom_control")).get("oom_kill", 0)

    def stats(self, path: str) -> Stats:
        stats = Stats(timestamp_ns=time.time_ns())
        cpuacct = self._dir("cpuacct", path)
        if cpuacct is not None:
            try:
                stats.cpu_usage_ns = int(read_file(os.path.join(cpuacct, "cpuacct.usage")))
            except (OSError, ValueError):
                pass
        memory = self._dir("memory", path)
        if memory is not None:
            try:
                stats.memory_usage = int(read_file(os.path.join(memory, "memory.usage_in_bytes")))
            except (OSError, ValueError):
                pass
            mstat = read_flat_keyed(os.path.join(memory, "memory.stat"))
            inactive = mstat.get("total_inactive_file", 0)
            stats.memory_working_set = max(0, stats.memory_usage - inactive)
            stats.memory_rss = mstat.get("total_rss", 0)
            stats.page_faults = mstat.get("total_pgfault", 0)
            stats.major_page_faults = mstat.get("total_pgmajfault", 0)
            stats.oom_kills = self.oom_kills(path)
        pids = self._dir("pids", path)
        if pids is not None:
            try:
                stats.pids = int(read_file(os.path.join(pids, "pids.current")))
            except (OSError, ValueError):
                pass
        return stats


def _unified_int(value: str | None) -> int:
    if value is None:
        return 0
    return -1 if value.strip() == "max" else int(value)
