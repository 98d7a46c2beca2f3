"""Control groups: one interface, a v1 driver and a v2 driver, chosen by what the machine mounts.

A pod gets a cgroup (``<parent>/<sandbox id>`` by default, or the sandbox's ``cgroup_parent``
when the kubelet names one) and every container a cgroup below it, as containerd lays them out.
Limits arrive as CRI ``LinuxContainerResources`` turned into the plain ``Resources`` value; each
driver translates them into its own files (cgroup v1's ``cpu.shares`` becomes v2's
``cpu.weight`` with runc's conversion, memory+swap becomes ``memory.swap.max``, ...). Stats come
back as one ``Stats`` value whatever the hierarchy. Device allow-lists are rule strings in v1's
syntax (``c 1:3 rwm``): v1 writes them to ``devices.allow``, v2 compiles them to an eBPF device
program with the same meaning (``device_filter``, ``bpf``).

Detection looks at ``/sys/fs/cgroup`` itself: it is v2 only when that mount point *is* a cgroup2
filesystem. A hybrid machine (v1 controllers plus an empty cgroup2 at ``/sys/fs/cgroup/unified``)
is v1.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.small_file import read_bytes, read_text

CGROUP_ROOT = "/sys/fs/cgroup"


log = logging.getLogger(__name__)

class CgroupError(Exception):
    """A cgroup operation failed; the message names the file and the kernel's answer, and
    ``errno`` is that answer when the kernel gave one (EINVAL: it refused the value itself)."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


@dataclass
class Resources:
    """The limits a pod or container cgroup enforces; zero means 'leave the default'."""

    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    memory_limit: int = 0
    memory_swap_limit: int = 0
    pids_limit: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    unified: dict[str, str] = field(default_factory=dict)
    # page size as the CRI names it ("2MB", "1GB") -> bytes
    hugepage_limits: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> Resources:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Stats:
    """Usage as the CRI stats calls report it."""

    timestamp_ns: int = 0
    cpu_usage_ns: int = 0
    memory_usage: int = 0
    memory_working_set: int = 0
    memory_rss: int = 0
    page_faults: int = 0
    major_page_faults: int = 0
    oom_kills: int = 0
    pids: int = 0


class CgroupDriver(ABC):
    """One hierarchy layout. Paths are cgroup paths (``/kyb/<pod>/<container>``).

    Every value is written through ``self._write(path, value)``; unit tests replace it with a
    recorder to assert the exact files and values a driver writes.
    """

    version: int
    _write: Callable[[str, str], None]

    @abstractmethod
    def create(self, path: str, resources: Resources | None = None, parents: bool = True) -> None:
        """Make the cgroup and apply ``resources``; missing parents are made too, unless
        ``parents`` is False: then a missing parent is a CgroupError (ENOENT)."""

    @abstractmethod
    def update(self, path: str, resources: Resources) -> None:
        """Apply new limits to an existing cgroup."""

    @abstractmethod
    def procs_files(self, path: str) -> list[str]:
        """The ``cgroup.procs`` files listing (and moving) whole processes of ``path``."""

    def join_files(self, path: str) -> list[str]:
        """The files a single-threaded process writes ``0`` (itself) to in order to join ``path``.

        ``cgroup.procs`` unless a driver knows a cheaper file that means the same for such a
        process (v1's ``tasks``, see there)."""
        return self.procs_files(path)

    @abstractmethod
    def container_view(self, path: str) -> dict:
        """What a container in ``path`` sees at /sys/fs/cgroup, as runc shows it, for the shim
        to mount: ``{"version": 2}`` (a cgroup namespace rooted at ``path``, cgroup2 mounted
        there), or ``{"version": 1, "binds": [[host dir, name], ...], "links": [[name, target],
        ...]}`` (``path``'s directory in each hierarchy bound at /sys/fs/cgroup/<name>, and a
        symlink per controller of a co-mounted hierarchy such as ``cpu,cpuacct``)."""

    @abstractmethod
    def pids(self, path: str) -> list[int]:
        """Processes in the cgroup (not its children)."""

    @abstractmethod
    def stats(self, path: str) -> Stats:
        """Usage counters now."""

    @abstractmethod
    def oom_kills(self, path: str) -> int:
        """How many processes the OOM killer killed in this cgroup."""

    @abstractmethod
    def oom_source(self, path: str) -> tuple[str, str]:
        """(file, key) whose counter tells a process in ``path`` was OOM-killed; read by the shim."""

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Whether the cgroup directory exists."""

    @abstractmethod
    def _dirs(self, path: str) -> list[str]:
        """Every directory backing ``path`` (one per v1 hierarchy, one on v2)."""

    @abstractmethod
    def set_devices(self, path: str, rules: list[str]) -> None:
        """Replace the cgroup's device allow-list with ``rules`` (``"c 1:3 rwm"``...); an empty
        list allows every device (privileged)."""

    def add_process(self, path: str, pid: int) -> None:
        for procs in self.procs_files(path):
            self._write(procs, str(pid))

    def kill_all(self, path: str, timeout: float = 5.0) -> None:
        """SIGKILL every process in the cgroup and its children until none is left."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self._all_pids(path)
            if not alive:
                return
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                raise CgroupError(f"processes {alive} in cgroup {path} survive SIGKILL")
            time.sleep(0.01)

    def _all_pids(self, path: str) -> list[int]:
        found: set[int] = set()
        for top in self._dirs(path):
            for dirpath, _dirs, files in os.walk(top):
                if "cgroup.procs" in files:
                    found.update(_read_pids(os.path.join(dirpath, "cgroup.procs")))
        return sorted(found)

    def remove(self, path: str, timeout: float = 5.0) -> None:
        """Kill what is left inside, then remove the cgroup and its children, bottom up.

        Usually the cgroup is empty and has no children (its processes are gone, as after
        RemoveContainer): then one rmdir per directory does it, and the walk for processes to
        kill is only for the rest."""
        if self._remove_if_empty(path):
            return
        self.kill_all(path, timeout)
        for top in self._dirs(path):
            if not os.path.isdir(top):
                continue
            for dirpath, _dirs, _files in sorted(os.walk(top, topdown=False), key=lambda w: -len(w[0])):
                _rmdir_when_empty(dirpath, timeout)

    def _remove_if_empty(self, path: str) -> bool:
        """rmdir each directory of ``path``; False at the first that has processes or children."""
        for top in self._dirs(path):
            try:
                os.rmdir(top)
            except FileNotFoundError:
                continue
            except OSError:
                return False
        return True


def _rmdir_when_empty(path: str, timeout: float) -> None:
    """rmdir a cgroup; EBUSY lasts until exited processes are fully gone, so retry briefly."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if time.monotonic() > deadline:
                raise CgroupError(f"cannot remove cgroup {path}: {e.strerror}", e.errno) from e
            time.sleep(0.01)


def _read_pids(procs: str) -> list[int]:
    try:
        return [int(line) for line in read_bytes(procs).split()]
    except FileNotFoundError:
        return []


def hugetlb_writes(directory: str, limits: dict[str, int], limit_file: str, reserved_file: str) -> list[tuple[str, str]]:
    """The files and values for hugepage limits in one hugetlb cgroup directory (v1 and v2 name
    them differently: ``limit_file`` and ``reserved_file`` take the page size). The reservation
    limit is set to the same value where the kernel has one, as runc does. Nothing when the
    directory has no hugetlb files at all (the controller is not there); a page size the kernel
    does not offer is an error."""
    if not limits:
        return []
    try:
        offered = {name for name in os.listdir(directory) if name.startswith("hugetlb.")}
    except FileNotFoundError:
        offered = set()
    if not offered:
        log.debug("no hugetlb controller: hugepage limits not applied", extra={"cgroup": directory})
        return []
    writes = []
    for size, limit in sorted(limits.items()):
        name = limit_file.format(size=size)
        if name not in offered:
            raise CgroupError(f"hugepage size {size!r} is not offered here (no {os.path.join(directory, name)})")
        writes.append((os.path.join(directory, name), str(limit)))
        reserved = reserved_file.format(size=size)
        if reserved in offered:
            writes.append((os.path.join(directory, reserved), str(limit)))
    return writes


def write_file(path: str, value: str) -> None:
    write_each(path, [value])


def write_each(path: str, values: list[str]) -> None:
    """Write each value with a write of its own to one open file, for files that take one
    item per write (v1's ``devices.allow``: one rule)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as e:
        raise CgroupError(f"cannot open {path}: {e.strerror}", e.errno) from e
    try:
        for value in values:
            try:
                os.write(fd, value.encode())
            except OSError as e:
                raise CgroupError(f"cannot write {value!r} to {path}: {e.strerror}", e.errno) from e
    finally:
        os.close(fd)


def read_file(path: str) -> str:
    return read_text(path).strip()


def cgroup_mounts(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str, str]]:
    """(mount point, fstype, super options) of every cgroup and cgroup2 mount."""
    mounts = []
    with open(mountinfo) as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            rfields = right.split()
            if len(rfields) >= 3 and rfields[0] in ("cgroup", "cgroup2"):
                mounts.append((fields[4], rfields[0], rfields[2]))
    return mounts


def detect_version(mountinfo: str = "/proc/self/mountinfo", root: str = CGROUP_ROOT) -> int:
    for point, fstype, _opts in cgroup_mounts(mountinfo):
        if point == root and fstype == "cgroup2":
            return 2
    return 1


def driver_for_host(mountinfo: str = "/proc/self/mountinfo") -> CgroupDriver:
    """The driver matching this machine's cgroup layout."""
    from runtime.cgroups import v1, v2

    if detect_version(mountinfo) == 2:
        return v2.V2Driver(CGROUP_ROOT)
    return v1.V1Driver.from_mountinfo(mountinfo)
