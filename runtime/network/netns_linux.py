"""Reaching into a pod's network namespace without forking.

A netlink socket belongs to the network namespace its creator was in when it was created, and
keeps talking to that namespace afterwards. So to configure a pod's interfaces we switch only
the calling thread into the pod's namespace with ``setns(2)``, create the socket, and switch
straight back. Nothing forks (the CRI server is multi-threaded), and no other thread is affected,
because network-namespace membership is per thread.

Python 3.11 has no ``os.setns``; we call libc through ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from runtime.network.errors import NetnsError, NetnsNotFound

CLONE_NEWNET = 0x40000000
NETLINK_ROUTE = 0

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int, op: str) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise NetnsError(op, ctypes.get_errno())


def open_netns(path: str) -> int:
    """An O_RDONLY descriptor of the namespace at ``path`` (/proc/<pid>/ns/net or a bind mount)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as e:
        raise NetnsNotFound(f"open network namespace {path}", e.errno) from e
    except OSError as e:
        if e.errno == errno.ESRCH:  # /proc/<pid>/ns/net of a process that just exited
            raise NetnsNotFound(f"open network namespace {path}", e.errno) from e
        raise NetnsError(f"open network namespace {path}", e.errno) from e


@contextmanager
def entered(path: str) -> Iterator[None]:
    """Run the block with this thread inside the namespace at ``path``, then return."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = open_netns(path)
        try:
            _setns(target, f"enter network namespace {path}")
        finally:
            os.close(target)
        try:
            yield
        finally:
            # If this failed the thread would keep working in the pod's namespace: never ignore it.
            _setns(own, "return to the original network namespace")
    finally:
        os.close(own)


def netlink_socket_in(path: str) -> socket.socket:
    """A NETLINK_ROUTE socket bound to the namespace at ``path``."""
    with entered(path):
        try:
            return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
        except OSError as e:
            raise NetnsError(f"create a netlink socket in {path}", e.errno) from e
