"""The event bus behind GetContainerEvents: publishing never waits for the statuses an event
carries, and subscribers still get every event, in order, with those statuses."""

from __future__ import annotations

import os
import queue
import threading
import time
from typing import Any

from cri import api_pb2
from runtime.processes import start_time
from runtime.service.events import EventBus


class SlowRecords:
    """Managers (of sandboxes and containers alike) whose every status read takes a while, as
    reading many records from disk does. Sandboxes are ready while their holder lives."""

    def __init__(self, delay: float, containers: tuple[str, ...] = ("c1",)) -> None:
        self.delay = delay
        self.containers = list(containers)
        self.versions = dict.fromkeys(containers, 1)
        self.reads: list[str] = []
        self.holder = {"pid": os.getpid(), "start": start_time(os.getpid())}

    def get(self, object_id: str) -> dict[str, Any]:
        time.sleep(self.delay)
        self.reads.append(object_id)
        return {"id": object_id, "state": "SANDBOX_READY", "holder": self.holder}

    def ids_in_sandbox(self, sandbox_id: str) -> list[str]:
        return self.containers

    def record_version(self, object_id: str) -> int:
        return self.versions.get(object_id, 1)


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


def test_a_container_whose_record_did_not_change_is_not_read_again(monkeypatch: Any) -> None:
    converted(monkeypatch)
    records = SlowRecords(delay=0, containers=("c1", "c2"))
    bus = EventBus(records, records)  # type: ignore[arg-type]
    events, thread = collect(bus, Subscriber(), want=3)
    bus.publish("c1", "s1", "created")
    bus.publish("c1", "s1", "started")
    deadline = time.monotonic() + 5
    while len(events) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    records.versions["c1"] = 2  # c1's record was rewritten (it exited); c2's was not
    bus.publish("c1", "s1", "stopped")
    thread.join(10)
    container_reads = [r for r in records.reads if r.startswith("c")]
    assert container_reads.count("c2") == 1
    assert container_reads.count("c1") == 2
    assert all([s.id for s in e.containers_statuses] == ["c1", "c2"] for e in events)


def publish_and_collect(bus: EventBus, kinds: list[str], between: Any = None) -> list[api_pb2.ContainerEventResponse]:
    events, thread = collect(bus, Subscriber(), want=len(kinds))
    deadline = time.monotonic() + 5
    for index, kind in enumerate(kinds):
        bus.publish("c1", "s1", kind)
        while len(events) <= index and time.monotonic() < deadline:
            time.sleep(0.01)
        if between is not None:
            between(index)
    thread.join(10)
    return events


def test_a_pod_whose_record_did_not_change_is_read_once_while_its_holder_lives(monkeypatch: Any) -> None:
    converted(monkeypatch)
    records = SlowRecords(delay=0)
    bus = EventBus(records, records)  # type: ignore[arg-type]

    def rewrite_after_the_second(index: int) -> None:
        if index == 1:
            records.versions["s1"] = 2

    events = publish_and_collect(bus, ["created", "started", "stopped"], rewrite_after_the_second)
    assert [r for r in records.reads if r.startswith("s")] == ["s1", "s1"]
    assert [e.pod_sandbox_status.id for e in events] == ["s1", "s1", "s1"]


def test_a_pod_whose_holder_is_gone_is_read_again_for_every_event(monkeypatch: Any) -> None:
    converted(monkeypatch)
    records = SlowRecords(delay=0)
    records.holder = {"pid": os.getpid(), "start": records.holder["start"] + 1}  # not this process: gone
    bus = EventBus(records, records)  # type: ignore[arg-type]
    publish_and_collect(bus, ["created", "started", "stopped"])
    assert [r for r in records.reads if r.startswith("s")] == ["s1", "s1", "s1"]


def test_the_published_record_gives_the_containers_own_status_without_a_read(monkeypatch: Any) -> None:
    converted(monkeypatch)
    records = SlowRecords(delay=0, containers=("c1", "c2"))
    bus = EventBus(records, records)  # type: ignore[arg-type]
    events, thread = collect(bus, Subscriber(), want=1)
    bus.publish("c1", "s1", "started", {"id": "c1", "state": "CONTAINER_RUNNING"})
    thread.join(10)
    assert [s.id for s in events[0].containers_statuses] == ["c1", "c2"]
    assert [r for r in records.reads if r.startswith("c")] == ["c2"]


def test_a_subscriber_that_does_not_keep_up_loses_its_oldest_events(monkeypatch: Any) -> None:
    converted(monkeypatch)
    monkeypatch.setattr("runtime.service.events.QUEUE_SIZE", 3)
    records = SlowRecords(delay=0)
    bus = EventBus(records, records)  # type: ignore[arg-type]
    behind: queue.SimpleQueue[api_pb2.ContainerEventResponse] = queue.SimpleQueue()
    bus._subscribers.append(behind)
    for created_at in range(1, 6):
        bus._fan_out("c1", "s1", "created", created_at)
    assert [behind.get_nowait().created_at for _ in range(behind.qsize())] == [3, 4, 5]


class GatedRecords(SlowRecords):
    """Records whose first sandbox read waits until the test lets it go; counts version checks."""

    def __init__(self, containers: tuple[str, ...]) -> None:
        super().__init__(delay=0, containers=containers)
        self.reading = threading.Event()
        self.go_on = threading.Event()
        self.version_checks: list[str] = []

    def get(self, object_id: str) -> dict[str, Any]:
        if object_id.startswith("s") and not self.reading.is_set():
            self.reading.set()
            self.go_on.wait(5)
        return super().get(object_id)

    def record_version(self, object_id: str) -> int:
        self.version_checks.append(object_id)
        return super().record_version(object_id)


def test_events_that_queued_up_together_check_each_status_once(monkeypatch: Any) -> None:
    converted(monkeypatch)
    records = GatedRecords(containers=("c1", "c2", "c3"))
    bus = EventBus(records, records)  # type: ignore[arg-type]
    events, thread = collect(bus, Subscriber(), want=4)
    bus.publish("c1", "s1", "created")
    assert records.reading.wait(5)  # the dispatcher builds the first event alone
    for container in ("c1", "c2", "c3"):
        bus.publish(container, "s1", "started")
    records.go_on.set()
    thread.join(10)
    assert [e.container_id for e in events] == ["c1", "c1", "c2", "c3"]
    assert all([s.id for s in e.containers_statuses] == ["c1", "c2", "c3"] for e in events)
    # once for the first event, once for the three built together
    assert records.version_checks.count("c2") == 2
    assert records.version_checks.count("s1") == 2
