"""Which volume mounts may land in a container's /proc: runc's rule.

/proc is the kernel's account of the container's own processes, and the runtime masks its
sensitive files there. A volume mounted over it could uncover a masked file or show the
container a world that is not its own, so, as runc refuses them, a volume may cover /proc itself
only with another procfs, and inside /proc only the few files lxcfs emulates (for containers
that want their own view of the machine's load, memory and uptime). The daemon checks each
destination as written at CreateContainer; the container's first process checks it again once
the image's symlinks are resolved, so a link in the image cannot lead a volume into /proc.
"""

from __future__ import annotations

from runtime.linux.syscalls import PROC_SUPER_MAGIC, SyscallError, filesystem_type

EMULATED_BY_LXCFS = frozenset({
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
    "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled",
})


class ProcMountRefused(ValueError):
    """A volume would cover /proc, or a file in it that may not be replaced."""


def check_destination(destination: str, source: str | None) -> None:
    """``destination``: absolute and normalised, as the container sees it. ``source``: the host
    path bound there, or None for a volume that is not a host path (an image's)."""
    if destination == "/proc":
        if source is not None and _is_procfs(source):
            return
        raise ProcMountRefused(f"mount destination {destination!r}: only a procfs may be mounted on top of /proc")
    if destination.startswith("/proc/") and destination not in EMULATED_BY_LXCFS:
        raise ProcMountRefused(f"mount destination {destination!r} is inside /proc, where a volume may only "
                               f"replace what lxcfs emulates: {', '.join(sorted(EMULATED_BY_LXCFS))}")


def _is_procfs(path: str) -> bool:
    try:
        return filesystem_type(path) == PROC_SUPER_MAGIC
    except SyscallError:
        return False
