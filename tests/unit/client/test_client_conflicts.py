"""Read-change-write loops survive concurrent writers by retrying on Conflict."""

from __future__ import annotations

import pytest
from client_fake_apiserver import FakeApiServer

from client import errors
from client.conflicts import modify, retry_on_conflict
from client.resources import CONFIGMAPS


def conflict() -> errors.Conflict:
    return errors.Conflict({"kind": "Status", "code": 409, "reason": "Conflict", "message": "modified"})


async def test_retry_on_conflict_runs_again_until_success() -> None:
    calls = 0

    async def fn() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise conflict()
        return "done"

    assert await retry_on_conflict(fn, delay=0) == "done" and calls == 3


async def test_retry_on_conflict_gives_up_after_attempts() -> None:
    async def fn() -> None:
        raise conflict()

    with pytest.raises(errors.Conflict):
        await retry_on_conflict(fn, attempts=2, delay=0)


async def test_other_errors_are_not_retried() -> None:
    calls = 0

    async def fn() -> None:
        nonlocal calls
        calls += 1
        raise errors.NotFound({"code": 404, "reason": "NotFound", "message": "gone"})

    with pytest.raises(errors.NotFound):
        await retry_on_conflict(fn, delay=0)
    assert calls == 1


async def test_modify_reapplies_the_change_after_a_concurrent_write() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"a": "1"}}, "default")
        raced = False

        def change(obj: dict) -> None:
            nonlocal raced
            if not raced:  # someone else writes between our read and our write
                raced = True
                other = dict(fake.objects[("configmaps", "default", "c")])
                fake.put("configmaps", {**other, "data": {**other["data"], "b": "2"}})
            obj["data"]["mine"] = "yes"

        result = await modify(api, CONFIGMAPS, "c", "default", change)
        assert result["data"] == {"a": "1", "b": "2", "mine": "yes"}
        assert [m for m, _, _ in fake.requests].count("PUT") == 2  # the first PUT got 409


async def test_modify_writes_nothing_when_nothing_changes() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"a": "1"}}, "default")
        await modify(api, CONFIGMAPS, "c", "default", lambda obj: obj["data"].update(a="1"))
        await modify(api, CONFIGMAPS, "c", "default", lambda obj: False)
        assert "PUT" not in [m for m, _, _ in fake.requests]
