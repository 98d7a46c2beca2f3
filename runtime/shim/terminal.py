"""Terminals made inside the container's own /dev/pts, so ``tty`` shows a real /dev/pts/N.

A pty opened by the shim on the host would work as a terminal but live in the host's devpts,
where the container cannot name it (``ttyname`` fails). So the process that is already inside
the container's mount namespace opens ``/dev/ptmx`` there and hands the master end out over a
unix socket (SCM_RIGHTS) to whoever copies the terminal's output: the shim for a container's
own terminal, the daemon for an exec.
"""

from __future__ import annotations

import fcntl
import os
import struct

TIOCGPTN = 0x80045430
TIOCSPTLCK = 0x40045431


def container_pty() -> tuple[int, int]:
    """Open a pseudo-terminal pair in the current mount namespace's /dev/pts."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, struct.pack("I", 0)))[0]
    slave = os.open(f"/dev/pts/{number}", os.O_RDWR | os.O_NOCTTY)
    return master, slave
