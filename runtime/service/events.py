"""GetContainerEvents: a stream of container lifecycle events for an evented kubelet (PLEG).

The managers report created/started/stopped/deleted through ``publish``; each subscriber has
its own bounded queue, so a slow client loses its oldest events rather than slowing the
runtime. Every event carries the pod's status and its containers' statuses, as the CRI asks.
Reading those statuses means reading every container record of the pod, so ``publish`` only
queues the notice and one dispatcher thread builds and fans out the events, in order: a
subscribed kubelet never makes CreateContainer or StartContainer slower. The statuses are
read when the event is built, so they may already be newer than the event itself (a CREATED
event of a container that has started since), never older. A container's status is converted
again only when its record changed (each write replaces the file, so the file's identity says
so): with many containers in a pod every event would otherwise re-read and re-convert them all.
When events queue up faster than they are built (a burst of creates in one pod), the
dispatcher takes all that wait and reads each status once for the lot: every one of them was
published before the statuses are read, so none carries a status older than itself.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator

import grpc

from cri import api_pb2
from runtime.container.manager import ContainerManager
from runtime.errors import NotFound
from runtime.lifecycle import SandboxState
from runtime.processes import alive as process_alive
from runtime.sandbox.manager import SandboxManager
from runtime.service import convert

QUEUE_SIZE = 1000
BATCH_SIZE = 256  # events built from one reading of the statuses, at most
log = logging.getLogger(__name__)

EVENT_TYPES = {
    "created": api_pb2.CONTAINER_CREATED_EVENT,
    "started": api_pb2.CONTAINER_STARTED_EVENT,
    "stopped": api_pb2.CONTAINER_STOPPED_EVENT,
    "deleted": api_pb2.CONTAINER_DELETED_EVENT,
}


class BatchReads:
    """The statuses read for one batch of queued events, each read at most once."""

    def __init__(self) -> None:
        self._sandboxes: dict[str, api_pb2.PodSandboxStatus] = {}
        self._members: dict[str, list[str]] = {}
        self._containers: dict[str, api_pb2.ContainerStatus] = {}

    def sandbox(self, sandbox_id: str, read: Callable[[str], api_pb2.PodSandboxStatus]) -> api_pb2.PodSandboxStatus:
        if sandbox_id not in self._sandboxes:
            self._sandboxes[sandbox_id] = read(sandbox_id)
        return self._sandboxes[sandbox_id]

    def members(self, sandbox_id: str, read: Callable[[str], list[str]]) -> list[str]:
        if sandbox_id not in self._members:
            self._members[sandbox_id] = read(sandbox_id)
        return self._members[sandbox_id]

    def container(self, container_id: str, read: Callable[[str], api_pb2.ContainerStatus]) -> api_pb2.ContainerStatus:
        if container_id not in self._containers:
            self._containers[container_id] = read(container_id)
        return self._containers[container_id]


class EventBus:
    def __init__(self, sandboxes: SandboxManager, containers: ContainerManager) -> None:
        self.sandboxes = sandboxes
        self.containers = containers
        # Unbounded C queues (a Condition-based Queue costs a lock dance per event); the
        # dispatcher, their only producer, keeps each to QUEUE_SIZE by dropping the oldest.
        self._subscribers: list[queue.SimpleQueue[api_pb2.ContainerEventResponse]] = []
        self._lock = threading.Lock()
        self._pending: queue.SimpleQueue[tuple[str, str, str, int, dict | None]] = queue.SimpleQueue()
        self._dispatcher: threading.Thread | None = None
        # container id -> (record version, status); used by the dispatcher thread only
        self._statuses: dict[str, tuple[object, api_pb2.ContainerStatus]] = {}
        # sandbox id -> (record version, holder pid and start, status); the dispatcher's too
        self._sandbox_statuses: dict[str, tuple[object, tuple[int, int] | None, api_pb2.PodSandboxStatus]] = {}

    def publish(self, container_id: str, sandbox_id: str, kind: str, record: dict | None = None) -> None:
        """Queue the event. ``record``: the container's record as its publisher just wrote it,
        so the status the event carries for it needs no read of its own."""
        with self._lock:
            if not self._subscribers:
                return
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch, name="kyb-events", daemon=True)
                self._dispatcher.start()
        self._pending.put((container_id, sandbox_id, kind, time.time_ns(), record))

    def _dispatch(self) -> None:
        while True:
            batch = [self._pending.get()]
            with contextlib.suppress(queue.Empty):
                while len(batch) < BATCH_SIZE:
                    batch.append(self._pending.get_nowait())
            reads = BatchReads()
            for container_id, sandbox_id, kind, created_at, record in batch:
                try:
                    self._fan_out(container_id, sandbox_id, kind, created_at, record, reads)
                except Exception:  # one bad record must not end every subscriber's stream
                    log.exception("cannot build a container event", extra={"container": container_id})

    def _fan_out(self, container_id: str, sandbox_id: str, kind: str, created_at: int,
                 record: dict | None = None, reads: BatchReads | None = None) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        if not subscribers:
            return
        reads = reads if reads is not None else BatchReads()
        event = api_pb2.ContainerEventResponse(
            container_id=container_id, container_event_type=EVENT_TYPES[kind], created_at=created_at)
        with contextlib.suppress(NotFound):
            event.pod_sandbox_status.CopyFrom(reads.sandbox(sandbox_id, self._sandbox_status))
            for other in reads.members(sandbox_id, self.containers.ids_in_sandbox):
                with contextlib.suppress(NotFound):
                    if other == container_id and record is not None:
                        event.containers_statuses.append(convert.container_status(record))
                    else:
                        event.containers_statuses.append(reads.container(other, self._container_status))
        if kind == "deleted":
            self._statuses.pop(container_id, None)
            if not self._statuses:  # forget sandboxes too, now and then, as pods come and go
                self._sandbox_statuses.clear()
        for q in subscribers:
            if q.qsize() >= QUEUE_SIZE:
                with contextlib.suppress(queue.Empty):
                    q.get_nowait()
            q.put(event)

    def _sandbox_status(self, sandbox_id: str) -> api_pb2.PodSandboxStatus:
        """Every event carries its pod's status, which rarely changes: converted again only when
        the record was rewritten, or when its holder died (which ``get`` records)."""
        version = self.sandboxes.record_version(sandbox_id)
        cached = self._sandbox_statuses.get(sandbox_id)
        if cached is not None and cached[0] == version and (cached[1] is None or process_alive(*cached[1])):
            return cached[2]
        record = self.sandboxes.get(sandbox_id)
        ready = record["state"] == SandboxState.READY.value
        holder = (record["holder"]["pid"], record["holder"]["start"]) if ready else None
        status = convert.pod_sandbox_status(record)
        # The version read before the record: a write in between only costs a later re-read.
        self._sandbox_statuses[sandbox_id] = (version, holder, status)
        return status

    def _container_status(self, container_id: str) -> api_pb2.ContainerStatus:
        version = self.containers.record_version(container_id)
        cached = self._statuses.get(container_id)
        if cached is not None and version is not None and cached[0] == version:
            return cached[1]
        status = convert.container_status(self.containers.get(container_id))
        # The version read before the record: a write in between only costs a later re-read.
        self._statuses[container_id] = (version, status)
        return status

    def subscribe(self, context: grpc.ServicerContext) -> Iterator[api_pb2.ContainerEventResponse]:
        q: queue.SimpleQueue[api_pb2.ContainerEventResponse] = queue.SimpleQueue()
        with self._lock:
            self._subscribers.append(q)
        try:
            while context.is_active():
                with contextlib.suppress(queue.Empty):
                    yield q.get(timeout=0.5)
        finally:
            with self._lock:
                self._subscribers.remove(q)


class EventCalls:
    events: EventBus

    def GetContainerEvents(self, request: api_pb2.GetEventsRequest, context: grpc.ServicerContext) -> Iterator[api_pb2.ContainerEventResponse]:
        yield from self.events.subscribe(context)
