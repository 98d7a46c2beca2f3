"""A watch that survives broken connections: an endless stream of (type, object) events.

The server's watch is a chunked stream of ``{"type": ..., "object": ...}`` lines that ends
whenever the server's ``timeoutSeconds`` runs out or the connection drops. ``watch_events`` hides
both: it remembers the resourceVersion of the last event (or BOOKMARK) it saw and opens the next
watch from there, so the caller sees each change once and in order. Bookmarks only move that
position forward; they reach the caller only when asked for.

What cannot be hidden is raised:

- an ``ERROR`` event or an HTTP error carrying 410 (``Expired``/``Gone``) raises ``Gone``: the
  history the caller needs is compacted away and the only way forward is a fresh list (the
  informer does exactly that);
- any other ``ERROR`` event raises its ``ApiError``;
- more than ``max_reconnects`` consecutive failed reconnects raise the last ``TransportError``.

Each connection asks the server to end it after a randomised 5-10 minutes (as client-go does) so
many clients do not reconnect in lockstep, and reads time out a little after that in case the
connection died silently.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace
from typing import Any, NamedTuple

from client.errors import TransportError, error_from_status
from client.request import ListOptions, watch_request
from client.resources import Resource
from client.transport import Transport

log = logging.getLogger(__name__)

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"


class WatchEvent(NamedTuple):
    type: str
    object: dict[str, Any]


def _server_timeout() -> int:
    return random.randint(300, 600)


async def watch_events(transport: Transport, resource: Resource, namespace: str | None = None,
                       options: ListOptions | None = None, *, yield_bookmarks: bool = False,
                       max_reconnects: int = 10) -> AsyncIterator[WatchEvent]:
    """Events from ``options.resource_version`` on, resuming after every disconnect.

    With ``options.timeout_seconds`` set the watch is bounded: it ends when the server closes
    the stream after that long instead of reconnecting.
    """
    options = options or ListOptions()
    rv = options.resource_version
    bounded = options.timeout_seconds is not None
    failures = 0
    while True:
        server_timeout = options.timeout_seconds if bounded else _server_timeout()
        opts = replace(options, resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=server_timeout,
                       limit=None, continue_token=None)
        req = watch_request(resource, namespace, opts)
        read_timeout = float(server_timeout or 0) + 30.0
        started = asyncio.get_running_loop().time()
        received = 0
        try:
            async with aclosing(transport.stream(req, read_timeout=read_timeout)) as raw_events:
                async for raw in raw_events:
                    failures = 0
                    received += 1
                    kind = raw.get("type")
                    obj = raw.get("object") or {}
                    if kind == ERROR:
                        raise error_from_status(obj)
                    new_rv = (obj.get("metadata") or {}).get("resourceVersion")
                    if new_rv:
                        rv = str(new_rv)
                    if kind == BOOKMARK:
                        if yield_bookmarks:
                            yield WatchEvent(kind, obj)
                        continue
                    if kind not in (ADDED, MODIFIED, DELETED):
                        log.warning("ignoring unknown watch event type", extra={"type": kind,
                                                                                "resource": str(resource)})
                        continue
                    yield WatchEvent(kind, obj)
        except TransportError as e:
            failures += 1
            if failures > max_reconnects:
                raise
            delay = transport.retry.backoff(min(failures, 8))
            log.info("watch connection lost; resuming", extra={"resource": str(resource), "resourceVersion": rv,
                                                              "delay": delay, "error": str(e)})
            await asyncio.sleep(delay)
            continue
        if bounded:
            return
        if not received and asyncio.get_running_loop().time() - started < 1.0:
            # A server that ends every watch at once must not make us spin: back off.
            failures += 1
            await asyncio.sleep(transport.retry.backoff(min(failures, 8)))
        log.debug("watch ended by the server; resuming", extra={"resource": str(resource), "resourceVersion": rv})
