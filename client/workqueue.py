"""A rate-limited, de-duplicating work queue for asyncio (client-go's ``workqueue``).

Three sets give the guarantees controllers rely on::

    add(k) ──> dirty ──(not processing)──> queue ──get()──> processing ──done(k)──┐
                 │                                                               │
                 └──(k is processing: wait; done(k) puts it back in the queue)<──┘

- **De-duplication**: a key added many times before a worker takes it is worked on once.
- **One worker per key**: a key being processed is never handed to a second worker; if it is
  added meanwhile it is marked dirty and queued again when ``done`` is called, so the latest
  change is never lost.
- **Delays**: ``add_after(k, s)`` adds after ``s`` seconds (an earlier deadline for the same key
  wins); ``add_rate_limited(k)`` asks the rate limiter how long ``k`` should wait (per-item
  exponential backoff plus an overall token bucket by default); ``forget(k)`` clears its backoff.
- **Shutdown**: ``shut_down()`` refuses new adds and wakes every waiting ``get``, which then
  raises ``ShutDown``; ``shut_down(drain=True)`` first lets queued keys be handed out.

Every method except ``get`` is synchronous, so informer handlers can call ``add`` directly. The
queue belongs to one event loop and is not thread-safe: code running in a thread adds with
``loop.call_soon_threadsafe(queue.add, key)``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from client.clock import Clock, LoopClock, TimerHandle
from client.ratelimit import RateLimiter, default_controller_limiter

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """The queue was shut down: the worker should exit."""


class WorkQueue(Generic[T]):
    def __init__(self, rate_limiter: RateLimiter | None = None, clock: Clock | None = None, name: str = "") -> None:
        self.name = name
        self.clock: Clock = clock or LoopClock()
        self.rate_limiter: RateLimiter = rate_limiter or default_controller_limiter(self.clock)
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiting: dict[T, tuple[float, TimerHandle]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._drain = False

    # -- adding --------------------------------------------------------------------------------

    def add(self, item: T) -> None:
        if self._shutting_down:
            return
        if item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return  # done() requeues it
        self._queue.append(item)
        self._wake_one()

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` once ``delay`` seconds have passed (now, when ``delay <= 0``)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready_at = self.clock.now() + delay
        current = self._waiting.get(item)
        if current is not None:
            if current[0] <= ready_at:
                return  # already due sooner
            current[1].cancel()
        handle = self.clock.call_later(delay, lambda: self._fire(item, ready_at))
        self._waiting[item] = (ready_at, handle)

    def _fire(self, item: T, ready_at: float) -> None:
        current = self._waiting.get(item)
        if current is not None and current[0] == ready_at:
            del self._waiting[item]
        self.add(item)

    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the delay its rate limiter decides (counts as a failure of ``item``)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Stop tracking ``item``'s failures: its next retry starts from the base delay."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)

    # -- taking --------------------------------------------------------------------------------

    async def get(self) -> T:
        """The next item to work on; pair every ``get`` with ``done``. Raises ShutDown."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._getters:
                    self._getters.remove(waiter)
                elif self._queue:
                    self._wake_one()  # pass the wake-up on to another getter
                raise
        if self._shutting_down and not self._drain:
            raise ShutDown(self.name)
        item = self._queue.popleft()
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def done(self, item: T) -> None:
        """The worker finished with ``item``; if it was added meanwhile, queue it again."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()
        elif self._shutting_down and not self._processing:
            self._wake_all()

    def _wake_one(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _wake_all(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    # -- lifecycle -----------------------------------------------------------------------------

    def shut_down(self, drain: bool = False) -> None:
        """Refuse new items; waiting ``get`` calls raise ShutDown (after the queue empties with drain)."""
        self._shutting_down = True
        self._drain = drain
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        if not drain:
            self._queue.clear()
            self._dirty.clear()
        self._wake_all()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Items ready to be handed out (not those waiting on a delay or being processed)."""
        return len(self._queue)

    @property
    def processing(self) -> frozenset[T]:
        return frozenset(self._processing)

    @property
    def waiting(self) -> int:
        """Items scheduled by ``add_after`` that are not yet due."""
        return len(self._waiting)
