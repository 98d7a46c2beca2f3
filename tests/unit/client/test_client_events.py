"""Events are written in the background, repeats are counted, and failures never reach the caller."""

from __future__ import annotations

from client_fake_apiserver import FakeApiServer

from client.events import EventRecorder
from client.resources import EVENTS

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "prod", "uid": "u-1",
                                                       "resourceVersion": "5"}}


async def test_event_is_created_about_the_object() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        rec = EventRecorder(api, "kyb-scheduler", clock=lambda: 0.0)
        rec.normal(POD, "Scheduled", "Successfully assigned prod/web-0 to n1")
        await rec.flush()
        [event] = (await api.list(EVENTS, "prod")).items
        assert event["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "name": "web-0", "namespace": "prod",
                                           "uid": "u-1", "resourceVersion": "5"}
        assert (event["type"], event["reason"], event["count"]) == ("Normal", "Scheduled", 1)
        assert event["source"] == {"component": "kyb-scheduler"}
        assert event["firstTimestamp"] == "1970-01-01T00:00:00Z"


async def test_repeated_event_bumps_count_instead_of_creating_another() -> None:
    now = [100.0]
    async with FakeApiServer() as fake, fake.client() as api:
        rec = EventRecorder(api, "kyb-kubelet", "node-1", clock=lambda: now[0])
        for _ in range(3):
            rec.warning(POD, "BackOff", "Back-off restarting failed container")
            now[0] += 10
        rec.warning(POD, "Failed", "something else")
        await rec.flush()
        events = {e["reason"]: e for e in (await api.list(EVENTS, "prod")).items}
        assert set(events) == {"BackOff", "Failed"}
        assert events["BackOff"]["count"] == 3
        assert events["BackOff"]["lastTimestamp"] == "1970-01-01T00:02:00Z"


async def test_repeat_after_the_window_starts_a_new_event() -> None:
    now = [0.0]
    async with FakeApiServer() as fake, fake.client() as api:
        rec = EventRecorder(api, "c", dedup_window=60, clock=lambda: now[0])
        rec.normal(POD, "Pulled", "pulled")
        await rec.flush()
        now[0] = 120.0
        rec.normal(POD, "Pulled", "pulled")
        await rec.flush()
        assert len((await api.list(EVENTS, "prod")).items) == 2


async def test_write_failures_are_swallowed() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.fail_next(10, 500)
        rec = EventRecorder(api, "c")
        rec.normal(POD, "Pulled", "pulled")  # must not raise, now or later
        await rec.flush()
        assert fake.objects == {}
