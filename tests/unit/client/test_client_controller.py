"""The controller runner: handlers enqueue keys, workers reconcile them, failures back off, and
every reconcile is timed in a structured log field."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from client_fake_apiserver import FakeApiServer

from client.clock import FakeClock
from client.controller import Controller, Outcome, PermanentError, RequeuePolicy, owner_key
from client.informer import Informer
from client.objects import owner_reference
from client.ratelimit import ItemExponentialBackoff
from client.resources import PODS, REPLICASETS
from client.workqueue import WorkQueue


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def fast_queue() -> WorkQueue[str]:
    return WorkQueue(ItemExponentialBackoff(0.001, 0.01))


async def test_informer_events_become_reconciles_of_keys() -> None:
    seen: list[str] = []

    async def reconcile(key: str) -> None:
        seen.append(key)

    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("pods", {"metadata": {"name": "a", "namespace": "default"}})
        ctl = Controller("test", reconcile, queue=fast_queue())
        ctl.watch(Informer(api, PODS))
        await ctl.start()
        await until(lambda: "default/a" in seen)
        fake.put("pods", {"metadata": {"name": "b", "namespace": "ns2"}})
        await until(lambda: "ns2/b" in seen)
        await ctl.stop()


async def test_secondary_objects_enqueue_their_owner() -> None:
    seen: list[str] = []

    async def reconcile(key: str) -> None:
        seen.append(key)

    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "default",
                                                                     "uid": "u1"}}
    async with FakeApiServer() as fake, fake.client() as api:
        ctl = Controller("rs", reconcile, queue=fast_queue())
        ctl.watch(Informer(api, REPLICASETS))
        ctl.watch(Informer(api, PODS), owner_key("ReplicaSet"))
        await ctl.start()
        fake.put("pods", {"metadata": {"name": "orphan", "namespace": "default"}})
        fake.put("pods", {"metadata": {"name": "web-1", "namespace": "default",
                                       "ownerReferences": [owner_reference(rs)]}})
        await until(lambda: "default/web" in seen)
        assert "default/orphan" not in seen
        await ctl.stop()


async def test_failed_reconcile_is_retried_with_backoff_until_success() -> None:
    attempts: list[str] = []

    async def reconcile(key: str) -> None:
        attempts.append(key)
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    ctl = Controller("retry", reconcile, queue=fast_queue(), workers=1)
    await ctl.start()
    ctl.enqueue("k")
    await until(lambda: ctl.counts[Outcome.SUCCESS] == 1)
    assert attempts == ["k", "k", "k"]
    assert ctl.counts[Outcome.RETRY] == 2
    assert ctl.queue.num_requeues("k") == 0  # forgotten after success
    await ctl.stop()


async def test_retry_delay_comes_from_the_queue_rate_limiter() -> None:
    clock = FakeClock()
    queue: WorkQueue[str] = WorkQueue(ItemExponentialBackoff(2.0, 60.0), clock=clock)

    async def reconcile(key: str) -> None:
        raise RuntimeError("always")

    ctl = Controller("clocked", reconcile, queue=queue)
    for expected in (2.0, 4.0):
        assert await ctl.process("k") is Outcome.RETRY
        clock.advance(expected - 0.001)
        assert len(queue) == 0
        clock.advance(0.001)
        assert len(queue) == 1
        queue.done(await queue.get())


async def test_key_is_dropped_after_max_retries() -> None:
    async def reconcile(key: str) -> None:
        raise RuntimeError("broken forever")

    ctl = Controller("drop", reconcile, queue=fast_queue(), policy=RequeuePolicy(max_retries=3), workers=1)
    await ctl.start()
    ctl.enqueue("k")
    await until(lambda: ctl.counts[Outcome.DROPPED] == 1)
    assert ctl.counts[Outcome.RETRY] == 3
    await asyncio.sleep(0.05)
    assert ctl.counts[Outcome.DROPPED] == 1 and len(ctl.queue) == 0 and ctl.queue.waiting == 0
    await ctl.stop()


async def test_permanent_error_is_not_retried() -> None:
    async def reconcile(key: str) -> None:
        raise PermanentError("bad spec")

    ctl = Controller("perm", reconcile, queue=fast_queue())
    assert await ctl.process("k") is Outcome.DROPPED
    assert ctl.queue.waiting == 0 and len(ctl.queue) == 0


async def test_returning_a_delay_requeues_after_it() -> None:
    clock = FakeClock()
    queue: WorkQueue[str] = WorkQueue(ItemExponentialBackoff(1.0, 60.0), clock=clock)

    async def reconcile(key: str) -> float:
        return 30.0

    ctl = Controller("periodic", reconcile, queue=queue)
    assert await ctl.process("k") is Outcome.REQUEUE_AFTER
    clock.advance(29.9)
    assert len(queue) == 0
    clock.advance(0.1)
    assert len(queue) == 1


async def test_one_key_is_reconciled_by_one_worker_at_a_time() -> None:
    running: set[str] = set()
    overlaps: list[str] = []
    calls: list[str] = []

    async def reconcile(key: str) -> None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        calls.append(key)
        await asyncio.sleep(0.02)
        running.discard(key)

    ctl = Controller("serial", reconcile, queue=fast_queue(), workers=4)
    await ctl.start()
    for _ in range(5):
        ctl.enqueue("same")
        ctl.enqueue("other")
        await asyncio.sleep(0.005)
    await until(lambda: not ctl.queue.processing and len(ctl.queue) == 0)
    assert overlaps == []
    assert 2 <= calls.count("same") < 5  # coalesced, yet the last add was processed
    await ctl.stop()


async def test_reconcile_duration_is_logged_as_a_structured_field(caplog: pytest.LogCaptureFixture) -> None:
    async def reconcile(key: str) -> None:
        await asyncio.sleep(0.01)

    ctl = Controller("timed", reconcile, queue=fast_queue())
    with caplog.at_level(logging.DEBUG, logger="client.controller"):
        await ctl.process("ns/x")
    record = [r for r in caplog.records if r.getMessage() == "reconciled"][0]
    assert record.controller == "timed" and record.key == "ns/x" and record.outcome == "success"
    assert record.duration_ms >= 10


async def test_start_fails_when_caches_do_not_sync() -> None:
    from client.api import ApiClient
    from client.kubeconfig import ClusterConfig
    from client.transport import NO_RETRY

    async def reconcile(key: str) -> None:
        pass

    async with FakeApiServer() as fake:
        url = fake.url
    async with ApiClient(ClusterConfig(server=url), retry=NO_RETRY) as api:
        ctl = Controller("nosync", reconcile, sync_timeout=0.1)
        ctl.watch(Informer(api, PODS, backoff_base=0.01))
        with pytest.raises(TimeoutError, match="did not sync"):
            await ctl.start()
        await ctl.stop()
