"""Reaching a container's shim for Attach: its ``attach.sock`` in the container's directory.

The path is opened through ``/proc/self/fd/<dir fd>/attach.sock`` so that a long state path
never hits the unix socket path limit (the shim binds it relative to its cwd for the same
reason). The protocol spoken there is the shim's framing (``runtime.shim.attach``).
"""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from runtime.container.manager import ContainerManager
from runtime.shim.attach import SOCKET_NAME


async def open_attach_socket(containers: ContainerManager, container_id: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the container's shim; 409 Conflict when the container is not running."""
    directory = str(containers.ctx.containers.path(container_id))
    try:
        dir_fd = os.open(directory, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        raise web.HTTPConflict(text="the container is gone") from None
    try:
        return await asyncio.open_unix_connection(f"/proc/self/fd/{dir_fd}/{SOCKET_NAME}")
    except OSError:
        raise web.HTTPConflict(text="the container is not running") from None
    finally:
        os.close(dir_fd)
