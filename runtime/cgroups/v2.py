"""cgroup v2: one unified hierarchy (``/sys/fs/cgroup/<path>``).

Controllers must be enabled in every ancestor's ``cgroup.subtree_control`` before a child can
use them, and processes may only live in leaves, so pods hold no processes of their own (the
sandbox holder gets a leaf like any container). Values follow runc's translation of the CRI's
v1-shaped numbers: ``cpu.weight = 1 + ((shares - 2) * 9999) / 262142``, quota/period become
``cpu.max``, and the CRI's memory+swap total becomes ``memory.swap.max = total - memory``.
Anything in ``Resources.unified`` is written verbatim, as the CRI defines it.

Devices: v2 has no ``devices.allow``; the same rule strings the v1 driver writes are compiled
to an eBPF device program (``device_filter``) and attached to the container's cgroup by a
``DeviceFilterInstaller`` (``bpf``). A driver over a plain directory tree, where no program can
be attached, is built with ``devices=DevicesNotEnforced()``: it still checks the rules but says,
in the log, that it does not enforce them. A real cgroup2 mount always gets the real installer, and a
failure there is an error, never skipped.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable

from runtime.cgroups import (
    CgroupDriver,
    CgroupError,
    Resources,
    Stats,
    _read_pids,
    hugetlb_writes,
    read_file,
    write_file,
)
from runtime.cgroups.bpf import BpfDeviceInstaller, DeviceFilterInstaller
from runtime.cgroups.device_filter import DeviceProgram, compile_allow_list
from runtime.small_file import read_flat_keyed

log = logging.getLogger(__name__)

WANTED_CONTROLLERS = ("cpu", "cpuset", "memory", "pids", "io", "hugetlb")


def shares_to_weight(shares: int) -> int:
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


class DevicesNotEnforced:
    """The installer for a tree that is not a cgroup2 mount (plain directories laid out like
    cgroupfs): no program can be attached there, so it only logs that rules go unenforced."""

    def install(self, directory: str, program: DeviceProgram | None) -> None:
        if program is not None:
            log.warning("device rules not enforced: this cgroup tree cannot hold device programs",
                        extra={"cgroup": directory, "exceptions": len(program.policy.exceptions)})


class V2Driver(CgroupDriver):
    version = 2

    def __init__(self, root: str, writer: Callable[[str, str], None] = write_file,
                 devices: DeviceFilterInstaller | None = None) -> None:
        """``devices`` puts device programs on cgroups: by default the kernel through bpf(2);
        ``DevicesNotEnforced()`` for a plain directory tree; a recorder in unit tests."""
        self.root = root
        self._write = writer
        self.devices: DeviceFilterInstaller = devices if devices is not None else BpfDeviceInstaller()

    def _dir(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def _dirs(self, path: str) -> list[str]:
        return [self._dir(path)]

    def exists(self, path: str) -> bool:
        return os.path.isdir(self._dir(path))

    def create(self, path: str, resources: Resources | None = None, parents: bool = True) -> None:
        names = [p for p in path.split("/") if p]
        if not parents and not os.path.isdir(os.path.join(self.root, *names[:-1])):
            raise CgroupError(f"cannot create cgroup {path}: its parent does not exist", errno.ENOENT)
        current = self.root
        for part in names:
            self._enable_controllers(current)
            current = os.path.join(current, part)
            os.makedirs(current, exist_ok=True)
        if resources is not None:
            self.update(path, resources)

    def _enable_controllers(self, directory: str) -> None:
        try:
            available = read_file(os.path.join(directory, "cgroup.controllers")).split()
        except FileNotFoundError:
            return
        try:
            enabled = read_file(os.path.join(directory, "cgroup.subtree_control")).split()
        except FileNotFoundError:
            enabled = []
        missing = [c for c in WANTED_CONTROLLERS if c in available and c not in enabled]
        if missing:
            self._write(os.path.join(directory, "cgroup.subtree_control"), " ".join("+" + c for c in missing))

    def update(self, path: str, resources: Resources) -> None:
        r = resources
        d = self._dir(path)
        if r.cpu_shares > 0:
            self._write(os.path.join(d, "cpu.weight"), str(shares_to_weight(r.cpu_shares)))
        if r.cpu_quota != 0 or r.cpu_period > 0:
            quota = str(r.cpu_quota) if r.cpu_quota > 0 else "max"
            self._write(os.path.join(d, "cpu.max"), f"{quota} {r.cpu_period or 100000}")
        if r.memory_limit > 0:
            self._write(os.path.join(d, "memory.max"), str(r.memory_limit))
        if r.memory_swap_limit != 0:
            if r.memory_swap_limit < 0:
                swap = "max"
            else:
                swap = str(max(0, r.memory_swap_limit - r.memory_limit)) if r.memory_limit > 0 else str(r.memory_swap_limit)
            if os.path.exists(os.path.join(d, "memory.swap.max")):
                self._write(os.path.join(d, "memory.swap.max"), swap)
        if r.pids_limit:
            self._write(os.path.join(d, "pids.max"), "max" if r.pids_limit < 0 else str(r.pids_limit))
        if r.cpuset_cpus:
            self._write(os.path.join(d, "cpuset.cpus"), r.cpuset_cpus)
        if r.cpuset_mems:
            self._write(os.path.join(d, "cpuset.mems"), r.cpuset_mems)
        for file, value in hugetlb_writes(d, r.hugepage_limits, "hugetlb.{size}.max", "hugetlb.{size}.rsvd.max"):
            self._write(file, value)
        for name, value in sorted(r.unified.items()):
            self._write(os.path.join(d, name), value)

    def set_devices(self, path: str, rules: list[str]) -> None:
        """Attach the program for ``rules`` (replacing the cgroup's old one); no rules means
        every device, so any program of ours is detached and the parent's policy applies."""
        self.devices.install(self._dir(path), compile_allow_list(rules) if rules else None)

    def procs_files(self, path: str) -> list[str]:
        return [os.path.join(self._dir(path), "cgroup.procs")]

    def container_view(self, path: str) -> dict:
        return {"version": 2}

    def pids(self, path: str) -> list[int]:
        return _read_pids(os.path.join(self._dir(path), "cgroup.procs"))

    def oom_source(self, path: str) -> tuple[str, str]:
        return os.path.join(self._dir(path), "memory.events"), "oom_kill"

    def oom_kills(self, path: str) -> int:
        return read_flat_keyed(os.path.join(self._dir(path), "memory.events")).get("oom_kill", 0)

    def stats(self, path: str) -> Stats:
        d = self._dir(path)
        stats = Stats(timestamp_ns=time.time_ns())
        stats.cpu_usage_ns = read_flat_keyed(os.path.join(d, "cpu.stat")).get("usage_usec", 0) * 1000
        try:
            stats.memory_usage = int(read_file(os.path.join(d, "memory.current")))
        except (OSError, ValueError):
            pass
        mstat = read_flat_keyed(os.path.join(d, "memory.stat"))
        stats.memory_working_set = max(0, stats.memory_usage - mstat.get("inactive_file", 0))
        stats.memory_rss = mstat.get("anon", 0)
        stats.page_faults = mstat.get("pgfault", 0)
        stats.major_page_faults = mstat.get("pgmajfault", 0)
        stats.oom_kills = self.oom_kills(path)
        try:
            stats.pids = int(read_file(os.path.join(d, "pids.current")))
        except (OSError, ValueError):
            pass
        return stats
