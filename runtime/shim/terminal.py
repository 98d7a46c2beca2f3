"""Terminals made inside the container's own /dev/pts, so ``tty`` shows a real /dev/pts/N.

A pty opened by the shim on the host would work as a terminal but live in the host's devpts,
where the container cannot name it (``ttyname`` fails). So the process that is already inside
the container's mount namespace opens ``/dev/ptmx`` there and hands the master end out over a
unix socket (SCM_RIGHTS) to whoever copies the terminal's output: the shim for a container's
own terminal, the daemon for an exec.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import termios

TIOCGPTN = 0x80045430
TIOCSPTLCK = 0x40045431
MAX_DIMENSION = 0xFFFF  # struct winsize holds unsigned shorts, as Kubernetes' TerminalSize does


def container_pty() -> tuple[int, int]:
    """Open a pseudo-terminal pair in the current mount namespace's /dev/pts."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, struct.pack("I", 0)))[0]
    slave = os.open(f"/dev/pts/{number}", os.O_RDWR | os.O_NOCTTY)
    return master, slave


def window_size(message: object) -> tuple[int, int] | None:
    """(width, height) of a decoded resize message, ``{"Width": 80, "Height": 24}`` (a field left
    out is 0, as when the kubelet decodes it), or None when the message is not one: a client's
    malformed resize is ignored, never fatal to whoever serves it."""
    if not isinstance(message, dict):
        return None
    width, height = message.get("Width", 0), message.get("Height", 0)
    if type(width) is not int or type(height) is not int:
        return None
    if not (0 <= width <= MAX_DIMENSION and 0 <= height <= MAX_DIMENSION):
        return None
    return width, height


def resize_request(payload: bytes) -> tuple[int, int] | None:
    """``window_size`` of one JSON-encoded resize message."""
    try:
        return window_size(json.loads(payload))
    except ValueError:  # not JSON, or not UTF-8
        return None


def set_window_size(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
