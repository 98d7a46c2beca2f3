"""wait_for: returns as soon as the condition holds, follows the watch, and times out clearly."""

from __future__ import annotations

import asyncio

import pytest
from client_fake_apiserver import FakeApiServer

from client.resources import PODS
from client.wait import wait_for


def pod(phase: str) -> dict:
    return {"metadata": {"name": "p", "namespace": "default"}, "status": {"phase": phase}}


def phase_is(phase: str):  # type: ignore[no-untyped-def]
    return lambda obj: obj is not None and obj.get("status", {}).get("phase") == phase


async def test_condition_already_true_returns_at_once() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("pods", pod("Running"))
        obj = await wait_for(api, PODS, "p", "default", phase_is("Running"), timeout=2)
        assert obj is not None and fake.watch_connects == 0


async def test_waits_for_a_later_change() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("pods", pod("Pending"))
        waiter = asyncio.create_task(wait_for(api, PODS, "p", "default", phase_is("Running"), timeout=5))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        fake.put("pods", pod("Running"))
        assert (await waiter)["status"]["phase"] == "Running"  # type: ignore[index]


async def test_waits_for_deletion() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("pods", pod("Running"))
        waiter = asyncio.create_task(wait_for(api, PODS, "p", "default", lambda obj: obj is None, timeout=5))
        await asyncio.sleep(0.05)
        fake.remove("pods", "default", "p")
        assert await waiter is None


async def test_times_out_with_a_clear_message() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        with pytest.raises(TimeoutError, match="pods default/p: condition not met within 0.2s"):
            await wait_for(api, PODS, "p", "default", phase_is("Running"), timeout=0.2)
