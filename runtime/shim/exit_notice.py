"""The datagram a shim sends once its container's exit is on disk.

The daemon (``runtime.container.exit_watcher``) listens on an abstract unix socket named after
its root, in its own network namespace, which the shims it starts share. Abstract, so there is
no file to leave behind and no path-length limit; a notice carries only the container id and
is a hint the daemon checks against the shim's files.
"""

from __future__ import annotations

import socket

MAX_NOTICE = 256


def notice_address(root: str) -> str:
    """The abstract socket name (leading NUL) on which the daemon serving ``root`` hears exits."""
    import hashlib  # here, not at the top: shims send notices and need not load it

    return "\0kybernetes-exits-" + hashlib.sha256(root.encode()).hexdigest()[:16]


def send_notice(address: str, container_id: str) -> None:
    """Called by a shim once its container's exit is on disk; a daemon that is not listening
    hears it from the pidfd instead."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto(container_id.encode(), address)
    except OSError:
        pass
