"""The work queue's guarantees: de-duplication, one worker per key, delays, backoff, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from client.clock import FakeClock
from client.ratelimit import ItemExponentialBackoff, MaxOf, TokenBucket
from client.workqueue import ShutDown, WorkQueue


def queue(clock: FakeClock | None = None, base: float = 1.0, cap: float = 16.0) -> WorkQueue[str]:
    clock = clock or FakeClock()
    return WorkQueue(ItemExponentialBackoff(base, cap), clock=clock)


async def test_items_come_out_in_order_added() -> None:
    q = queue()
    for k in ("a", "b", "c"):
        q.add(k)
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


async def test_duplicate_adds_before_get_are_collapsed() -> None:
    q = queue()
    q.add("a")
    q.add("b")
    q.add("a")
    assert len(q) == 2


async def test_key_is_never_handed_to_two_workers_at_once() -> None:
    q = queue()
    q.add("a")
    first = await q.get()
    q.add("a")  # changed again while being processed
    assert len(q) == 0  # held back, not given to another worker
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    assert not second.done()
    q.done(first)
    assert await asyncio.wait_for(second, 1) == "a"


async def test_key_not_re_added_during_processing_is_not_requeued() -> None:
    q = queue()
    q.add("a")
    q.done(await q.get())
    assert len(q) == 0


async def test_get_waits_for_an_add() -> None:
    q = queue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    assert not getter.done()
    q.add("x")
    assert await asyncio.wait_for(getter, 1) == "x"


async def test_add_after_waits_for_the_clock() -> None:
    clock = FakeClock()
    q = queue(clock)
    q.add_after("a", 5)
    clock.advance(4.9)
    assert len(q) == 0 and q.waiting == 1
    clock.advance(0.1)
    assert len(q) == 1 and q.waiting == 0


async def test_add_after_keeps_the_earlier_deadline() -> None:
    clock = FakeClock()
    q = queue(clock)
    q.add_after("a", 10)
    q.add_after("a", 2)
    q.add_after("a", 7)
    clock.advance(2)
    assert len(q) == 1
    assert clock.pending() == 0  # the 10 s timer was cancelled, the 7 s one never made


async def test_rate_limited_adds_back_off_exponentially_per_item() -> None:
    clock = FakeClock()
    q = queue(clock, base=1.0, cap=4.0)
    expected = [1.0, 2.0, 4.0, 4.0]
    for delay in expected:
        q.add_rate_limited("a")
        clock.advance(delay - 0.01)
        assert len(q) == 0, f"released before {delay}s"
        clock.advance(0.01)
        assert len(q) == 1
        q.done(await q.get())
    assert q.num_requeues("a") == 4


async def test_forget_resets_backoff() -> None:
    clock = FakeClock()
    q = queue(clock)
    q.add_rate_limited("a")
    q.add_rate_limited("a")
    q.forget("a")
    assert q.num_requeues("a") == 0
    assert q.rate_limiter.when("a") == 1.0


async def test_backoff_of_one_item_does_not_delay_another() -> None:
    clock = FakeClock()
    q = queue(clock)
    for _ in range(3):
        q.rate_limiter.when("bad")
    q.add_rate_limited("good")
    clock.advance(1.0)
    assert await q.get() == "good"


def test_token_bucket_allows_burst_then_paces_at_qps() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=10, burst=3, clock=clock)
    assert [bucket.when(i) for i in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.when(3) == pytest.approx(0.1)
    assert bucket.when(4) == pytest.approx(0.2)
    clock.advance(1.0)  # refills (the debt of 2 tokens first)
    assert bucket.when(5) == 0.0


def test_max_of_takes_the_longest_delay() -> None:
    clock = FakeClock()
    limiter = MaxOf(ItemExponentialBackoff(0.01, 100), TokenBucket(qps=1, burst=1, clock=clock))
    assert limiter.when("a") == 0.01
    assert limiter.when("b") == pytest.approx(1.0)
    assert limiter.num_requeues("a") == 1


async def test_shutdown_wakes_waiting_getters_with_shutdown() -> None:
    q = queue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await asyncio.sleep(0.01)
    q.shut_down()
    for g in getters:
        with pytest.raises(ShutDown):
            await asyncio.wait_for(g, 1)


async def test_shutdown_refuses_new_items_and_drops_delayed_ones() -> None:
    clock = FakeClock()
    q = queue(clock)
    q.add_after("later", 1)
    q.shut_down()
    q.add("a")
    clock.advance(5)
    assert len(q) == 0 and q.waiting == 0
    with pytest.raises(ShutDown):
        await q.get()


async def test_shutdown_with_drain_hands_out_queued_items_first() -> None:
    q = queue()
    q.add("a")
    q.add("b")
    q.shut_down(drain=True)
    assert await q.get() == "a"
    assert await q.get() == "b"
    with pytest.raises(ShutDown):
        await q.get()


async def test_cancelled_getter_does_not_swallow_an_item() -> None:
    q = queue()
    doomed = asyncio.create_task(q.get())
    survivor = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    doomed.cancel()
    await asyncio.sleep(0)
    q.add("a")
    assert await asyncio.wait_for(survivor, 1) == "a"
