"""The event bus behind GetContainerEvents: publishing never waits for the statuses an event
carries, and subscribers still get every event, in order, with those statuses."""

from __future__ import annotations

import threading
import time
from typing import Any

from cri import api_pb2
from runtime.service.events import EventBus


class SlowRecords:
    """Managers whose every status read takes a while, as reading many records from disk does."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def get(self, object_id: str) -> dict[str, Any]:
        time.sleep(self.delay)
        return {"id": object_id}

    def ids_in_sandbox(self, sandbox_id: str) -> list[str]:
        return ["c1"]


class Subscriber:
    def __init__(self) -> None:
        self.active = True

    def is_active(self) -> bool:
        return self.active


def converted(monkeypatch: Any) -> None:
    monkeypatch.setattr("runtime.service.convert.pod_sandbox_status",
                        lambda record: api_pb2.PodSandboxStatus(id=record["id"]))
    monkeypatch.setattr("runtime.service.convert.container_status",
                        lambda record: api_pb2.ContainerStatus(id=record["id"], state=api_pb2.CONTAINER_EXITED))


def collect(bus: EventBus, context: Subscriber, want: int) -> tuple[list[api_pb2.ContainerEventResponse], threading.Thread]:
    events: list[api_pb2.ContainerEventResponse] = []

    def run() -> None:
        for event in bus.subscribe(context):  # type: ignore[arg-type]
            events.append(event)
            if len(events) == want:
                context.active = False
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not bus._subscribers and time.monotonic() < deadline:
        time.sleep(0.01)
    return events, thread


def test_publishing_does_not_wait_for_the_statuses_the_event_carries(monkeypatch: Any) -> None:
    converted(monkeypatch)
    records = SlowRecords(delay=0.2)
    bus = EventBus(records, records)  # type: ignore[arg-type]
    context = Subscriber()
    events, thread = collect(bus, context, want=3)
    started = time.monotonic()
    for kind in ("created", "started", "stopped"):
        bus.publish("c1", "s1", kind)
    assert time.monotonic() - started < 0.1
    thread.join(10)
    assert [e.container_event_type for e in events] == [
        api_pb2.CONTAINER_CREATED_EVENT, api_pb2.CONTAINER_STARTED_EVENT, api_pb2.CONTAINER_STOPPED_EVENT]
    assert all(e.pod_sandbox_status.id == "s1" for e in events)
    assert all([s.id for s in e.containers_statuses] == ["c1"] for e in events)


def test_an_event_keeps_the_time_it_was_published_not_the_time_it_was_built(monkeypatch: Any) -> None:
    converted(monkeypatch)
    records = SlowRecords(delay=0.3)
    bus = EventBus(records, records)  # type: ignore[arg-type]
    events, thread = collect(bus, Subscriber(), want=1)
    before = time.time_ns()
    bus.publish("c1", "s1", "started")
    after = time.time_ns()
    thread.join(10)
    assert before <= events[0].created_at <= after


def test_nothing_is_queued_while_nobody_listens(monkeypatch: Any) -> None:
    converted(monkeypatch)
    records = SlowRecords(delay=0)
    bus = EventBus(records, records)  # type: ignore[arg-type]
    bus.publish("c1", "s1", "created")
    assert bus._pending.empty()
