"""Informers: keep a local cache of one resource in step with the apiserver, and say what changed.

An ``Informer`` runs the reflector loop client-go made standard::

        +--> list (paged) --> replace cache, diff --> handlers
        |          | resourceVersion
        |          v
        |    watch from it --> apply each event to the cache --> handlers
        |          |
        +-- 410 Gone (history compacted): list again
            other failures: back off, then list again

The watch itself resumes across dropped connections (``client.watch``), so a fresh list is
needed only when the history is gone or the watch failed for good. A re-list diffs the new
list against the cache: objects that vanished meanwhile get ``on_delete`` with their last known
state, changed ones ``on_update``, new ones ``on_add``.

Handlers run synchronously inside the loop and must only be cheap and non-blocking: the
intended use is enqueueing a key (see ``client.controller``). A handler that raises is logged and
does not stop the informer. Handlers receive the cache's own objects: they must not change them
(``client.objects.deep_copy`` first). ``resync_period`` replays ``on_update(obj, obj)`` for every cached
object periodically, so a controller that missed acting on something gets another chance.

``InformerFactory`` hands out one informer per (resource, namespace, selectors), so several
controllers in one process share one watch and one cache.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from client.api import ApiClient, LabelSelector, selector_text
from client.cache import Indexer, IndexFunc
from client.errors import ClientError, Gone
from client.objects import resource_version_of
from client.resources import Resource
from client.watch import ADDED, BOOKMARK, DELETED, MODIFIED, WatchEvent

log = logging.getLogger(__name__)

Obj = dict[str, Any]


@dataclass(frozen=True)
class EventHandler:
    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


class Informer:
    def __init__(self, api: ApiClient, resource: Resource, namespace: str | None = None, *,
                 label_selector: LabelSelector | None = None, field_selector: str | None = None,
                 resync_period: float | None = None, indexers: Mapping[str, IndexFunc] | None = None,
                 page_size: int = 500, backoff_base: float = 0.5, backoff_max: float = 30.0) -> None:
        self.api = api
        self.resource = resource
        self.namespace = namespace
        self.label_selector = selector_text(label_selector)
        self.field_selector = field_selector
        self.resync_period = resync_period
        self.page_size = page_size
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.cache = Indexer(indexers)
        self.last_sync_resource_version = ""
        self.lists = 0  # how many full lists ran: 1 + re-lists
        self._handlers: list[EventHandler] = []
        self._synced = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- handlers ------------------------------------------------------------------------------

    def add_event_handler(self, on_add: Callable[[Obj], None] | None = None,
                          on_update: Callable[[Obj, Obj], None] | None = None,
                          on_delete: Callable[[Obj], None] | None = None) -> EventHandler:
        """Register handlers; when the cache is already filled, ``on_add`` sees every object now."""
        handler = EventHandler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if self.has_synced and on_add is not None:
            for obj in self.cache.list():
                self._call(on_add, obj)
        return handler

    def remove_event_handler(self, handler: EventHandler) -> None:
        self._handlers.remove(handler)

    def _call(self, fn: Callable[..., None], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("informer event handler failed", extra={"resource": str(self.resource)})

    def _added(self, obj: Obj) -> None:
        for h in list(self._handlers):
            if h.on_add is not None:
                self._call(h.on_add, obj)

    def _updated(self, old: Obj, new: Obj) -> None:
        for h in list(self._handlers):
            if h.on_update is not None:
                self._call(h.on_update, old, new)

    def _deleted(self, obj: Obj) -> None:
        for h in list(self._handlers):
            if h.on_delete is not None:
                self._call(h.on_delete, obj)

    # -- state ---------------------------------------------------------------------------------

    @property
    def has_synced(self) -> bool:
        """True once the first list is in the cache (and ever after)."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until the first list is in the cache; False when ``timeout`` passed first."""
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def start(self) -> None:
        """Run the reflector (and resync) loop in background tasks; idempotent."""
        if self.running:
            return
        self._tasks = [asyncio.create_task(self.run(), name=f"informer-{self.resource}")]
        if self.resync_period:
            self._tasks.append(asyncio.create_task(self._resync_loop(), name=f"resync-{self.resource}"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("informer task failed", extra={"resource": str(self.resource)})
        self._tasks = []

    # -- the reflector -------------------------------------------------------------------------

    async def run(self) -> None:
        """List and watch until cancelled."""
        failures = 0
        gone_in_a_row = 0
        while True:
            try:
                rv = await self._list()
                failures = 0
                async for event in self.api.watch(self.resource, self.namespace, label_selector=self.label_selector,
                                                  field_selector=self.field_selector, resource_version=rv,
                                                  yield_bookmarks=True):
                    self._apply(event)
                    gone_in_a_row = 0
            except Gone as e:
                gone_in_a_row += 1
                log.info("watch history compacted; listing again",
                         extra={"resource": str(self.resource), "error": str(e)})
                if gone_in_a_row > 1:  # a fresh list went stale at once: do not spin on it
                    await asyncio.sleep(self._backoff(gone_in_a_row - 1))
            except ClientError as e:
                failures += 1
                delay = self._backoff(failures)
                log.warning("list/watch failed; retrying",
                            extra={"resource": str(self.resource), "error": str(e), "delay": round(delay, 3)})
                await asyncio.sleep(delay)
            except Exception:
                # A bug (say, an object without a name) must not silently end the informer.
                failures += 1
                log.exception("informer loop failed; retrying", extra={"resource": str(self.resource)})
                await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * 2 ** min(failures - 1, 20))) * random.uniform(0.8, 1.0)

    async def _list(self) -> str:
        result = await self.api.list_all(self.resource, self.namespace, label_selector=self.label_selector,
                                         field_selector=self.field_selector, page_size=self.page_size)
        self._replace(result.items)
        self.lists += 1
        self.last_sync_resource_version = result.resource_version
        self._synced.set()
        log.debug("listed", extra={"resource": str(self.resource), "count": len(result.items),
                                   "resourceVersion": result.resource_version})
        return result.resource_version

    def _replace(self, items: list[Obj]) -> None:
        """Make the cache equal ``items`` and report the difference to the handlers."""
        old_items = {key: self.cache.get(key) for key in self.cache.keys()}
        self.cache.replace(items)
        for obj in items:
            key = self.cache.key_of(obj)
            old = old_items.pop(key, None)
            if old is None:
                self._added(obj)
            elif resource_version_of(old) != resource_version_of(obj):
                self._updated(old, obj)
        for gone in old_items.values():
            if gone is not None:
                self._deleted(gone)

    def _apply(self, event: WatchEvent) -> None:
        kind, obj = event
        if kind == BOOKMARK:
            pass  # nothing changed; only the resourceVersion below moves on
        elif kind in (ADDED, MODIFIED):
            old = self.cache.add(obj)
            if old is None:
                self._added(obj)
            else:
                self._updated(old, obj)
        elif kind == DELETED:
            self.cache.delete(obj)
            self._deleted(obj)
        rv = resource_version_of(obj)
        if rv:
            self.last_sync_resource_version = rv

    async def _resync_loop(self) -> None:
        assert self.resync_period
        await self._synced.wait()
        while True:
            await asyncio.sleep(self.resync_period)
            for obj in self.cache.list():
                self._updated(obj, obj)


class InformerFactory:
    """One shared informer per (resource, namespace, selectors) for a whole process."""

    def __init__(self, api: ApiClient, *, resync_period: float | None = None) -> None:
        self.api = api
        self.resync_period = resync_period
        self._informers: dict[tuple[Resource, str | None, str | None, str | None], Informer] = {}

    def informer(self, resource: Resource, namespace: str | None = None, *,
                 label_selector: LabelSelector | None = None,
                 field_selector: str | None = None, indexers: Mapping[str, IndexFunc] | None = None) -> Informer:
        """The shared informer; indexes asked for by a later caller are added to it."""
        key = (resource, namespace, selector_text(label_selector), field_selector)
        inf = self._informers.get(key)
        if inf is None:
            inf = Informer(self.api, resource, namespace, label_selector=label_selector,
                           field_selector=field_selector, resync_period=self.resync_period, indexers=indexers)
            self._informers[key] = inf
        else:
            for name, func in (indexers or {}).items():
                if name not in inf.cache.index_names():
                    inf.cache.add_indexer(name, func)
        return inf

    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def start(self) -> None:
        for inf in self._informers.values():
            inf.start()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        results = await asyncio.gather(*(inf.wait_for_sync(timeout) for inf in self._informers.values()))
        return all(results)

    async def stop(self) -> None:
        await asyncio.gather(*(inf.stop() for inf in self._informers.values()))
