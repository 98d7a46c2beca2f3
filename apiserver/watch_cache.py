"""One store watch feeding every HTTP watcher, with a ring of recent events per resource type.

The cache opens a single watch on the whole ``/registry/`` prefix and sorts each event into the
buffer of its type (the first three key segments, ``/registry/<group>/<plural>/``). A buffer
keeps the last ``capacity`` events and a ``floor``: every event of that type with a revision
above the floor is in the buffer or still to come. A watcher asking to start after revision R
is therefore served from memory when ``R >= floor``; older starts fall back to a store watch of
their own, which replays the log or answers Compacted (410 upstairs).

Because the one store watch sees every write, ``progress`` (the newest revision dispatched) is
a safe resourceVersion for BOOKMARK events of any type: nothing at or below it is still to come.

Each watcher has a bounded queue. A watcher that falls too far behind is closed rather than
allowed to grow memory without bound; its client re-watches from the last revision it saw,
exactly as client-go does after any closed watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apiserver.storage.interface import Compacted, Event, Store

log = logging.getLogger(__name__)

ROOT_PREFIX = "/registry/"
DEFAULT_CAPACITY = 2048
SUBSCRIBER_QUEUE = 20000


@dataclass(frozen=True)
class CachedEvent:
    """A store event decoded once and shared (read-only) by every watcher."""

    type: str  # "PUT" | "DELETE"
    key: str
    revision: int
    obj: dict[str, Any]
    prev: dict[str, Any] | None
    _encoded: list[bytes] = field(default_factory=list, compare=False, repr=False)

    def object_json(self) -> bytes:
        """``obj`` as compact JSON, encoded once however many watchers send it."""
        if not self._encoded:
            self._encoded.append(json.dumps(self.obj, separators=(",", ":"), ensure_ascii=False).encode())
        return self._encoded[0]


def to_cached(ev: Event) -> CachedEvent:
    obj = json.loads(ev.kv.value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(ev.kv.mod_revision)
    prev = None
    if ev.prev_kv is not None:
        prev = json.loads(ev.prev_kv.value)
        prev.setdefault("metadata", {})["resourceVersion"] = str(ev.prev_kv.mod_revision)
    return CachedEvent(ev.type, ev.kv.key, ev.kv.mod_revision, obj, prev)


def type_prefix_of(key: str) -> str:
    parts = key.split("/", 4)  # ["", "registry", group, plural, rest]
    if len(parts) < 4:
        return key
    return "/".join(parts[:4]) + "/"


class Subscriber:
    """One watcher's view: a queue of events under its key prefix, after its start revision."""

    def __init__(self, prefix: str, after: int) -> None:
        self.prefix = prefix
        self.after = after
        self.queue: asyncio.Queue[CachedEvent | None] = asyncio.Queue()
        self.closed = False
        self.overflowed = False
        self.error: BaseException | None = None

    def offer(self, ev: CachedEvent) -> None:
        if self.closed or ev.revision <= self.after or not ev.key.startswith(self.prefix):
            return
        if self.queue.qsize() >= SUBSCRIBER_QUEUE:
            self.overflowed = True
            self.close()
            return
        self.queue.put_nowait(ev)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class _TypeBuffer:
    def __init__(self, floor: int, capacity: int) -> None:
        self.events: deque[CachedEvent] = deque()
        self.floor = floor
        self.capacity = capacity
        self.subscribers: set[Subscriber] = set()

    def append(self, ev: CachedEvent) -> None:
        self.events.append(ev)
        while len(self.events) > self.capacity:
            self.floor = self.events.popleft().revision


class WatchCache:
    def __init__(self, store: Store, capacity: int = DEFAULT_CAPACITY) -> None:
        self.store = store
        self.capacity = capacity
        self.progress = 0
        self._start_rev = 0
        self._buffers: dict[str, _TypeBuffer] = {}
        self._listeners: list[tuple[str, Callable[[CachedEvent], None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self._ready = asyncio.Event()

    def add_listener(self, prefix: str, fn: Callable[[CachedEvent], None]) -> None:
        """Call ``fn`` for every event under ``prefix`` (used to follow CRDs written elsewhere)."""
        self._listeners.append((prefix, fn))

    async def start(self) -> None:
        self._start_rev = await self.store.current_revision()
        self.progress = self._start_rev
        self._task = asyncio.create_task(self._run(), name="watch-cache")
        self._ready.set()

    async def close(self) -> None:
        """Stop following the store and end every open watch stream (their clients re-watch)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for buf in self._buffers.values():
            for sub in list(buf.subscribers):
                sub.close()
        for pump in list(self._pumps):
            pump.cancel()
        if self._pumps:
            await asyncio.wait(list(self._pumps), timeout=5)

    async def _run(self) -> None:
        while True:
            try:
                async for ev in self.store.watch(ROOT_PREFIX, self.progress + 1):
                    self._dispatch(to_cached(ev))
                log.warning("store watch ended; reopening", extra={"revision": self.progress})
            except asyncio.CancelledError:
                raise
            except Compacted:
                # History we never saw is gone: every buffer restarts empty and every watcher
                # is closed so its client re-lists.
                current = await self.store.current_revision()
                log.warning("watch cache fell behind compaction; resetting",
                            extra={"from": self.progress, "to": current})
                self._reset(current)
            except Exception as e:  # the store failed: back off, then resume where we were
                log.warning("store watch failed; retrying", extra={"error": str(e)})
            await asyncio.sleep(0.5)

    def _reset(self, revision: int) -> None:
        self.progress = revision
        self._start_rev = revision
        for buf in self._buffers.values():
            for sub in list(buf.subscribers):
                sub.close()
            buf.subscribers.clear()
            buf.events.clear()
            buf.floor = revision

    def _buffer(self, tprefix: str) -> _TypeBuffer:
        buf = self._buffers.get(tprefix)
        if buf is None:
            buf = self._buffers[tprefix] = _TypeBuffer(self._start_rev, self.capacity)
        return buf

    def _dispatch(self, ev: CachedEvent) -> None:
        if ev.revision <= self.progress:
            return
        self.progress = ev.revision
        buf = self._buffer(type_prefix_of(ev.key))
        buf.append(ev)
        for sub in list(buf.subscribers):
            sub.offer(ev)
            if sub.closed:
                buf.subscribers.discard(sub)
        for prefix, fn in self._listeners:
            if ev.key.startswith(prefix):
                try:
                    fn(ev)
                except Exception:
                    log.exception("watch cache listener failed", extra={"key": ev.key})

    def subscribe(self, tprefix: str, prefix: str, after: int) -> Subscriber | None:
        """A subscriber for events under ``prefix`` with revision > ``after``; None if not cached."""
        buf = self._buffer(tprefix)
        if after < buf.floor:
            return None
        sub = Subscriber(prefix, after)
        for ev in buf.events:
            sub.offer(ev)
        buf.subscribers.add(sub)
        return sub

    def unsubscribe(self, tprefix: str, sub: Subscriber) -> None:
        sub.closed = True
        self._buffer(tprefix).subscribers.discard(sub)

    def open_stream(self, tprefix: str, prefix: str, after: int) -> EventStream:
        """Every event under ``prefix`` after ``after``: from memory if possible, else the store."""
        cached = self.subscribe(tprefix, prefix, after)
        if cached is not None:
            return EventStream(cached, lambda: self.unsubscribe(tprefix, cached), cached=True)
        sub = Subscriber(prefix, after)
        pump = asyncio.create_task(self._pump(prefix, after, sub), name="watch-store-fallback")
        self._pumps.add(pump)
        pump.add_done_callback(self._pumps.discard)

        def stop() -> None:
            pump.cancel()

        return EventStream(sub, stop, cached=False)

    async def _pump(self, prefix: str, after: int, sub: Subscriber) -> None:
        try:
            async for ev in self.store.watch(prefix, after + 1):
                sub.offer(to_cached(ev))
                if sub.closed:
                    return
        except Compacted as e:
            sub.error = e
        except asyncio.CancelledError:
            raise
        except Exception as e:
            sub.error = e
        finally:
            sub.close()


class EventStream:
    """What a watch handler reads: ``get`` waits at most ``timeout`` seconds (None on timeout)."""

    def __init__(self, sub: Subscriber, on_close: Callable[[], None], cached: bool) -> None:
        self._sub = sub
        self._on_close = on_close
        self.cached = cached
        self.ended = False

    @property
    def error(self) -> BaseException | None:
        return self._sub.error

    async def get(self, timeout: float) -> CachedEvent | None:
        """The next event; None on timeout or end (then ``ended`` is True)."""
        try:
            item = await asyncio.wait_for(self._sub.queue.get(), timeout)
        except TimeoutError:
            return None
        if item is None:
            self.ended = True
        return item

    def close(self) -> None:
        self._sub.closed = True
        self._on_close()
