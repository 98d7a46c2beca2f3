"""Knowing a process by more than its pid: (pid, start time) pairs survive pid reuse.

The daemon is not the parent of holders and shims, so it cannot wait(2) for them. It records
each one's pid with its start time (field 22 of /proc/<pid>/stat) and later treats the process
as alive only while both still match; waiting uses a pidfd, which works for any process.
"""

from __future__ import annotations

import os
import select
import signal
import time

from runtime.small_file import read_bytes


def start_time(pid: int) -> int | None:
    try:
        raw = read_bytes(f"/proc/{pid}/stat")
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    state = fields[0]
    if state in (b"Z", b"X"):
        return None
    return int(fields[19])


def alive(pid: int | None, started: int | None) -> bool:
    if not pid:
        return False
    current = start_time(pid)
    return current is not None and (started is None or current == started)


def signal_process(pid: int | None, started: int | None, sig: int) -> bool:
    """Send ``sig`` if the process is still the one we recorded; True when sent."""
    if not alive(pid, started):
        return False
    try:
        os.kill(pid, sig)  # type: ignore[arg-type]
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int | None, started: int | None, timeout: float) -> bool:
    """Wait until the process has exited (zombie counts as exited); True if it did in time."""
    if not alive(pid, started):
        return True
    try:
        fd = os.pidfd_open(pid)  # type: ignore[arg-type]
    except ProcessLookupError:
        return True
    try:
        if not alive(pid, started):
            return True
        ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
        return bool(ready) or not alive(pid, started)
    finally:
        os.close(fd)


def kill_and_wait(pid: int | None, started: int | None, timeout: float = 5.0) -> None:
    if signal_process(pid, started, signal.SIGKILL):
        deadline = time.monotonic() + timeout
        while not wait_gone(pid, started, 0.1) and time.monotonic() < deadline:
            pass
