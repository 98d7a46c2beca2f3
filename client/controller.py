"""The controller runner: informers feed keys to a work queue, N workers call ``reconcile(key)``.

The layering kopf and client-go settled on, kept strictly apart:

- **Handlers** (``Controller.watch``) only turn an informer event into keys and enqueue them. A
  key function maps an object to the key(s) to reconcile: the object's own key for the primary
  resource, its controller owner's key for a secondary one (``owner_key``).
- **Business logic** is ``reconcile(key) -> None | float``: read the caches, compare desired and
  observed state, write the difference, raise on failure. Returning a number asks for another
  look after that many seconds (periodic work such as a CronJob's schedule).
- **Policy** (``RequeuePolicy``) decides what a failure means: requeue with the queue's
  rate-limited backoff, or give up after ``max_retries`` (logged) so one poisoned key cannot
  spin forever. ``PermanentError`` skips the retries.

Every reconcile is timed; the duration goes into the log record as the structured field
``duration_ms`` next to ``controller``, ``key`` and ``outcome``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from client.informer import Informer
from client.objects import controller_of, make_key, namespace_of, object_key
from client.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)

Reconcile = Callable[[str], Awaitable[float | None]]
KeyFunc = Callable[[Mapping[str, Any]], str | Iterable[str] | None]


class PermanentError(Exception):
    """Raised by ``reconcile`` for failures retrying cannot fix (the key is dropped, logged)."""


class Outcome(enum.Enum):
    SUCCESS = "success"
    REQUEUE_AFTER = "requeue_after"
    RETRY = "retry"
    DROPPED = "dropped"


@dataclass(frozen=True)
class RequeuePolicy:
    """Retry failed keys with backoff; after ``max_retries`` requeues, drop them (None: never drop)."""

    max_retries: int | None = 15

    def on_error(self, key: str, error: BaseException, requeues: int) -> Outcome:
        if isinstance(error, PermanentError):
            return Outcome.DROPPED
        if self.max_retries is not None and requeues >= self.max_retries:
            return Outcome.DROPPED
        return Outcome.RETRY


def owner_key(kind: str) -> KeyFunc:
    """Key function for secondary objects: the key of their controller owner of ``kind``."""
    def key_of(obj: Mapping[str, Any]) -> str | None:
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != kind or not ref.get("name"):
            return None
        return make_key(namespace_of(obj), str(ref["name"]))
    return key_of


class Controller:
    def __init__(self, name: str, reconcile: Reconcile, *, workers: int = 2, queue: WorkQueue[str] | None = None,
                 policy: RequeuePolicy = RequeuePolicy(), sync_timeout: float | None = 60.0) -> None:
        self.name = name
        self.reconcile = reconcile
        self.workers = workers
        self.queue: WorkQueue[str] = queue if queue is not None else WorkQueue(name=name)
        self.policy = policy
        self.sync_timeout = sync_timeout
        self.informers: list[Informer] = []
        self.counts: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        self._workers: list[asyncio.Task[None]] = []
        self._started_informers: list[Informer] = []

    # -- wiring --------------------------------------------------------------------------------

    def enqueue(self, key: str) -> None:
        self.queue.add(key)

    def _enqueue_for(self, key_func: KeyFunc, obj: Mapping[str, Any]) -> None:
        keys = key_func(obj)
        if keys is None:
            return
        for key in [keys] if isinstance(keys, str) else keys:
            self.queue.add(key)

    def watch(self, informer: Informer, key_func: KeyFunc = object_key, *,
              update_filter: Callable[[Mapping[str, Any], Mapping[str, Any]], bool] | None = None) -> None:
        """Enqueue ``key_func(obj)`` on every add, update and delete ``informer`` reports.

        ``update_filter(old, new)`` returning False skips an update (e.g. status-only changes).
        On update the keys of both the old and the new object are enqueued, so a change of owner
        wakes both owners.
        """
        def on_update(old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
            if update_filter is not None and not update_filter(old, new):
                return
            self._enqueue_for(key_func, new)
            if old is not new:
                self._enqueue_for(key_func, old)

        informer.add_event_handler(
            on_add=lambda obj: self._enqueue_for(key_func, obj),
            on_update=on_update,
            on_delete=lambda obj: self._enqueue_for(key_func, obj),
        )
        if informer not in self.informers:
            self.informers.append(informer)

    # -- running -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start informers not yet running, wait for their caches, then start the workers.

        Informers shared through an ``InformerFactory`` should be started by the factory's owner
        first; the controller then neither starts nor stops them.
        """
        for inf in self.informers:
            if not inf.running:
                inf.start()
                self._started_informers.append(inf)
        synced = await asyncio.gather(*(inf.wait_for_sync(self.sync_timeout) for inf in self.informers))
        if not all(synced):
            missing = [str(inf.resource) for inf, ok in zip(self.informers, synced, strict=True) if not ok]
            raise TimeoutError(f"controller {self.name}: caches of {missing} did not sync "
                               f"within {self.sync_timeout}s")
        self._workers = [asyncio.create_task(self._worker(i), name=f"{self.name}-worker-{i}")
                         for i in range(self.workers)]
        log.info("controller started", extra={"controller": self.name, "workers": self.workers})

    async def stop(self) -> None:
        """Shut the queue down, let in-flight reconciles finish, stop the informers we started."""
        self.queue.shut_down()
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        for inf in self._started_informers:
            await inf.stop()
        self._started_informers = []

    async def run(self) -> None:
        """Start and run until cancelled, then stop cleanly."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.shield(self.stop())

    async def _worker(self, index: int) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: str) -> Outcome:
        """Reconcile one key and apply the requeue policy; never raises (except cancellation)."""
        started = time.monotonic()
        error: BaseException | None = None
        after: float | None = None
        try:
            after = await self.reconcile(key)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            error = e
        duration_ms = round((time.monotonic() - started) * 1000, 3)
        fields: dict[str, Any] = {"controller": self.name, "key": key, "duration_ms": duration_ms}
        if error is None:
            self.queue.forget(key)
            if after is not None and after >= 0:
                self.queue.add_after(key, after)
                outcome = Outcome.REQUEUE_AFTER
                fields["requeue_after"] = after
            else:
                outcome = Outcome.SUCCESS
            log.debug("reconciled", extra={**fields, "outcome": outcome.value})
        else:
            requeues = self.queue.num_requeues(key)
            outcome = self.policy.on_error(key, error, requeues)
            fields.update(outcome=outcome.value, requeues=requeues, error=f"{type(error).__name__}: {error}")
            if outcome is Outcome.RETRY:
                self.queue.add_rate_limited(key)
                log.warning("reconcile failed; will retry", extra=fields)
            else:
                self.queue.forget(key)
                log.error("reconcile failed; giving up on key", extra=fields)
        self.counts[outcome] += 1
        return outcome
