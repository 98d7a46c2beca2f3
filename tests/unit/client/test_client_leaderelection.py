"""Leader election: one leader at a time, prompt hand-over on release, takeover after expiry, and a
leader that loses its Lease stops working before anyone else starts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from client_fake_apiserver import FakeApiServer

from client.leaderelection import LeaderElector, State
from client.resources import LEASES

TIMING = {"lease_duration": 0.6, "renew_deadline": 0.4, "retry_period": 0.05}


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def forever(log: list[str], who: str) -> Callable[[], Coroutine[Any, Any, None]]:
    async def work() -> None:
        log.append(f"{who} starts")
        try:
            await asyncio.Event().wait()
        finally:
            log.append(f"{who} stops")
    return work


def test_timing_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        LeaderElector(None, "l", "ns", "a", lease_duration=1, renew_deadline=2, retry_period=0.1)  # type: ignore[arg-type]


async def test_first_candidate_creates_the_lease_and_leads() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        log: list[str] = []
        a = LeaderElector(api, "ctl", "kube-system", "a", **TIMING)
        task = asyncio.create_task(a.run(forever(log, "a")))
        await until(lambda: a.is_leader)
        lease = await api.get(LEASES, "ctl", "kube-system")
        assert lease["spec"]["holderIdentity"] == "a" and lease["spec"]["leaseTransitions"] == 0
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert log == ["a starts", "a stops"] and a.state is State.STOPPED


async def test_only_one_leader_and_release_hands_over_at_once() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        log: list[str] = []
        a = LeaderElector(api, "ctl", "default", "a", **TIMING)
        b = LeaderElector(api, "ctl", "default", "b", **TIMING)
        ta = asyncio.create_task(a.run(forever(log, "a")))
        await until(lambda: a.is_leader)
        tb = asyncio.create_task(b.run(forever(log, "b")))
        await asyncio.sleep(1.0)  # longer than the lease: a keeps renewing, so b must wait
        assert a.is_leader and not b.is_leader
        ta.cancel()
        with pytest.raises(asyncio.CancelledError):
            await ta
        loop = asyncio.get_running_loop()
        released_at = loop.time()
        await until(lambda: "b starts" in log)
        assert loop.time() - released_at < 0.5  # no need to wait out the lease
        assert log == ["a starts", "a stops", "b starts"]
        lease = await api.get(LEASES, "ctl", "default")
        assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1
        tb.cancel()
        with pytest.raises(asyncio.CancelledError):
            await tb


async def test_a_silent_leader_is_replaced_after_the_lease_expires() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        log: list[str] = []
        a = LeaderElector(api, "ctl", "default", "a", release_on_stop=False, **TIMING)
        ta = asyncio.create_task(a.run(forever(log, "a")))
        await until(lambda: a.is_leader)
        ta.cancel()  # dies without releasing: like a crashed process
        with pytest.raises(asyncio.CancelledError):
            await ta
        b = LeaderElector(api, "ctl", "default", "b", **TIMING)
        loop = asyncio.get_running_loop()
        started = loop.time()
        tb = asyncio.create_task(b.run(forever(log, "b")))
        await until(lambda: b.is_leader)
        assert loop.time() - started >= 0.5  # waited for a's lease to run out
        tb.cancel()
        with pytest.raises(asyncio.CancelledError):
            await tb


async def test_leader_whose_lease_is_taken_stops_working() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        log: list[str] = []
        a = LeaderElector(api, "ctl", "default", "a", **TIMING)
        ta = asyncio.create_task(a.run(forever(log, "a")))
        await until(lambda: a.is_leader)
        stolen = dict(fake.objects[("leases", "default", "ctl")])
        fake.put("leases", {**stolen, "spec": {**stolen["spec"], "holderIdentity": "intruder"}})
        await asyncio.wait_for(ta, 2)  # run returns by itself
        assert log == ["a starts", "a stops"] and a.state is State.STOPPED
        lease = await api.get(LEASES, "ctl", "default")
        assert lease["spec"]["holderIdentity"] == "intruder"  # release leaves others' leases alone


async def test_leader_that_cannot_reach_the_server_stops_by_the_renew_deadline() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        log: list[str] = []
        a = LeaderElector(api, "ctl", "default", "a", **TIMING)
        ta = asyncio.create_task(a.run(forever(log, "a")))
        await until(lambda: a.is_leader)
        fake.fail_next(1000, 503)
        loop = asyncio.get_running_loop()
        cut = loop.time()
        await asyncio.wait_for(ta, 3)
        assert log == ["a starts", "a stops"]
        assert loop.time() - cut < TIMING["lease_duration"]  # stopped before anyone may take over


async def test_a_renewer_cancelled_just_as_its_attempt_completes_stops() -> None:
    """The cancellation must not be lost (Python 3.11's wait_for loses one that lands as the
    awaited call completes, and the renewer then kept renewing after its elector stopped)."""
    elector = LeaderElector(None, "ctl", "default", "a", **TIMING)  # type: ignore[arg-type]
    answers: list[asyncio.Future[bool]] = []

    async def attempt() -> bool:
        answers.append(asyncio.get_running_loop().create_future())
        return await answers[-1]

    elector._attempt = attempt  # type: ignore[method-assign]
    renewer = asyncio.create_task(elector._renew_until_lost())
    await until(lambda: bool(answers))
    answers[-1].set_result(True)  # the attempt completes...
    renewer.cancel()  # ...and the cancellation lands in the same step
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(renewer), 2.0)
    assert renewer.cancelled()
