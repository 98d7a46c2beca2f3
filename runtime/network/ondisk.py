"""On-disk primitives the network state is built on: an exclusive file lock and atomic writes.

Locks are ``flock(2)`` locks on a file we open per acquisition. flock locks belong to the open
file description, so they exclude other threads of this process as well as other processes,
which is what concurrent RunPodSandbox calls (threads) and a second runtime on the same state
directory (processes) both need. Waits are bounded: a lock held for longer than the timeout
raises instead of hanging the caller.

Writes go to a temporary file in the same directory, then ``os.replace`` it over the target,
so a crashed process leaves either the old or the new content. ``durable=True`` also fsyncs the
file and the directory, for state that must outlive a power loss. Pod-network state does not
need it: a reboot takes every network namespace, veth and iptables rule with it, so after one
the recorded allocations describe nothing that exists, while a crash of the process alone
loses nothing that reached the page cache. Skipping fsync keeps about 7 disk flushes (tens of
milliseconds) out of every attach/detach.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.network.errors import NetworkError

LOCK_TIMEOUT_SECONDS = 30.0


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    key = os.path.abspath(path)
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())


@contextmanager
def flocked(
    path: Path, op: str, timeout: float = LOCK_TIMEOUT_SECONDS, error: type[NetworkError] = NetworkError
) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (created if missing) for the duration of the block.

    Threads of this process first queue on a per-path threading.Lock (woken the moment it is
    free), so only other processes are waited for by polling the flock.
    """
    deadline = time.monotonic() + timeout
    local = _thread_lock(path)
    if not local.acquire(timeout=timeout):
        raise error(f"{op}: lock {path}", detail=f"still held by another thread after {timeout:.0f}s")
    try:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise error(f"{op}: open lock file {path}", e.errno) from e
        try:
            delay = 0.0005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise error(
                            f"{op}: lock {path}", detail=f"still held by another process after {timeout:.0f}s"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.01)
                except OSError as e:
                    raise error(f"{op}: lock {path}", e.errno) from e
            yield
        finally:
            os.close(fd)  # closing the last descriptor releases the flock
    finally:
        local.release()


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable:
        fsync_directory(path.parent)


def create_exclusive(path: Path, data: bytes, durable: bool = True) -> bool:
    """Create ``path`` holding ``data`` only if it does not exist; False if it already did."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    return True
