"""Optimistic concurrency from the writer's side: read, change, write, and try again on Conflict.

Every PUT carries the resourceVersion it was based on, so a write that raced with another one
fails with 409 ``Conflict`` instead of silently undoing it. The fix is always the same: read the
object again, re-apply the change to the fresh copy, write again. ``retry_on_conflict`` runs any
such read-change-write function again (a few times, with a short jittered pause, like client-go's
``retry.RetryOnConflict``); ``modify`` is the common case packaged: a change function applied to a
fresh deep copy, written only when it actually changed something.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from client.api import ApiClient
from client.errors import Conflict
from client.objects import deep_copy
from client.resources import Resource

T = TypeVar("T")


async def retry_on_conflict(fn: Callable[[], Awaitable[T]], *, attempts: int = 5, delay: float = 0.01) -> T:
    """``await fn()``, again after each ``Conflict`` up to ``attempts`` times; the last Conflict escapes."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except Conflict:
            if attempt == attempts:
                raise
            await asyncio.sleep(delay * random.uniform(1.0, 1.1))
    raise AssertionError("unreachable")


async def modify(api: ApiClient, resource: Resource, name: str, namespace: str | None,
                 change: Callable[[dict[str, Any]], bool | None], *, status: bool = False,
                 attempts: int = 5) -> dict[str, Any]:
    """Apply ``change`` to the latest version of an object and write it back.

    ``change`` edits the copy it is given in place; returning ``False`` means "nothing to do", and
    then nothing is written (the fresh object is returned). With ``status=True`` the write goes to
    the ``/status`` subresource. Raises NotFound when the object does not exist.
    """
    async def attempt() -> dict[str, Any]:
        current = await api.get(resource, name, namespace)
        desired = deep_copy(current)
        if change(desired) is False or desired == current:
            return current
        if status:
            return await api.update_status(resource, desired, namespace)
        return await api.update(resource, desired, namespace)

    return await retry_on_conflict(attempt, attempts=attempts)
