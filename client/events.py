"""Recording Kubernetes Events (``kubectl describe`` shows them) without ever getting in the way.

Components report what they did to an object (``Scheduled``, ``Pulled``, ``FailedCreate``) as
core/v1 ``Event`` objects. Two rules shape this module:

- **Never block, never fail the caller.** ``EventRecorder.event`` is synchronous and returns at
  once; the write happens in a background task, and a failed write is logged, not raised. An
  event is a diagnostic, never a reason for a reconcile to fail.
- **Repeats are counted, not multiplied.** The same (object, type, reason, message) seen again
  within ``dedup_window`` seconds bumps ``count`` and ``lastTimestamp`` of the existing Event
  (a merge patch) instead of creating another one, as upstream's event correlator does, so a
  crash-looping pod does not flood the store.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from client.api import ApiClient
from client.errors import ClientError, NotFound
from client.objects import meta
from client.resources import EVENTS

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"


def _timestamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def involved_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ObjectReference an Event points at."""
    m = meta(obj)
    ref = {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""), "name": m.get("name", ""),
           "namespace": m.get("namespace", ""), "uid": m.get("uid", ""),
           "resourceVersion": m.get("resourceVersion", "")}
    return {k: v for k, v in ref.items() if v}


class EventRecorder:
    def __init__(self, api: ApiClient, component: str, host: str = "", *, dedup_window: float = 600.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.component = component
        self.host = host
        self.dedup_window = dedup_window
        self.clock = clock
        # (uid or ns/name, type, reason, message) -> (event namespace, event name, count, last seen)
        self._seen: dict[tuple[str, str, str, str], tuple[str, str, int, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # one write at a time keeps counts exact

    def event(self, obj: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        """Record an event about ``obj`` in the background (``Normal`` or ``Warning``)."""
        if event_type not in (NORMAL, WARNING):
            raise ValueError(f"event type must be {NORMAL!r} or {WARNING!r}, not {event_type!r}")
        when = self.clock()  # when it happened, not when the write gets its turn
        task = asyncio.get_running_loop().create_task(self._record(dict(obj), event_type, reason, message, when))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.event(obj, NORMAL, reason, message)

    def warning(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.event(obj, WARNING, reason, message)

    async def flush(self) -> None:
        """Wait for every event recorded so far to be written (or to have failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _record(self, obj: dict[str, Any], event_type: str, reason: str, message: str, now: float) -> None:
        ref = involved_object(obj)
        identity = ref.get("uid") or f"{ref.get('namespace', '')}/{ref.get('name', '')}"
        key = (identity, event_type, reason, message)
        async with self._lock:
            try:
                seen = self._seen.get(key)
                if seen is not None and now - seen[3] <= self.dedup_window:
                    ns, name, count, _ = seen
                    try:
                        await self.api.patch(EVENTS, name, {"count": count + 1, "lastTimestamp": _timestamp(now)}, ns)
                        self._seen[key] = (ns, name, count + 1, now)
                        return
                    except NotFound:
                        pass  # the Event expired or was deleted: start a new one
                ns = ref.get("namespace") or "default"
                name = f"{ref.get('name', 'object')}.{secrets.token_hex(8)}"
                body = {
                    "apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": name, "namespace": ns},
                    "involvedObject": ref, "reason": reason, "message": message, "type": event_type,
                    "source": {"component": self.component, **({"host": self.host} if self.host else {})},
                    "firstTimestamp": _timestamp(now), "lastTimestamp": _timestamp(now), "count": 1,
                    "reportingComponent": self.component, "reportingInstance": self.host or self.component,
                }
                await self.api.create(EVENTS, body, ns)
                self._seen[key] = (ns, name, 1, now)
                self._forget_old(now)
            except ClientError as e:
                log.warning("could not record event", extra={"reason": reason, "object": identity,
                                                             "error": str(e)})

    def _forget_old(self, now: float) -> None:
        if len(self._seen) > 4096:
            self._seen = {k: v for k, v in self._seen.items() if now - v[3] <= self.dedup_window}
