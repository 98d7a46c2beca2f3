"""The few /proc/sys/net settings the node needs.

/proc/sys/net shows the network namespace of the task that opens it, so these read and write
the namespace the calling thread is in: the node's own namespace in production, a test
namespace in tests.
"""

from __future__ import annotations

from pathlib import Path

from runtime.network.errors import SysctlError

PROC_SYS = Path("/proc/sys")


def _path(key: str) -> Path:
    return PROC_SYS / key.replace(".", "/")


def read(key: str) -> str:
    try:
        return _path(key).read_text().strip()
    except OSError as e:
        raise SysctlError(f"read sysctl {key}", e.errno) from e


def ensure(key: str, value: str) -> None:
    """Set ``key`` to ``value`` unless it already is (a write may be refused when nothing changes)."""
    if read(key) == value:
        return
    try:
        _path(key).write_text(value + "\n")
    except OSError as e:
        raise SysctlError(f"write sysctl {key}={value}", e.errno) from e
