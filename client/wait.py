"""Waiting for an object to reach a condition, by watching rather than polling.

``wait_for`` reads the object once (a list narrowed to its name, which also yields the
resourceVersion to watch from), and then follows a watch on that one name until the condition
holds, re-reading after a 410. The condition sees ``None`` while the object does not exist, so
"until deleted" is ``lambda obj: obj is None``. It is how tests and tools wait for a pod to run
or a deployment to roll out without hammering the apiserver.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from client.api import ApiClient
from client.errors import Gone
from client.resources import Resource
from client.watch import DELETED

Condition = Callable[[dict[str, Any] | None], bool]


async def wait_for(api: ApiClient, resource: Resource, name: str, namespace: str | None,
                   condition: Condition, timeout: float) -> dict[str, Any] | None:
    """The object (or None) once ``condition`` holds for it; TimeoutError after ``timeout`` seconds."""
    field_selector = f"metadata.name={name}"

    async def follow() -> dict[str, Any] | None:
        while True:
            listed = await api.list(resource, namespace, field_selector=field_selector)
            current = listed.items[0] if listed.items else None
            if condition(current):
                return current
            try:
                async for event_type, obj in api.watch(resource, namespace, field_selector=field_selector,
                                                       resource_version=listed.resource_version):
                    current = None if event_type == DELETED else obj
                    if condition(current):
                        return current
            except Gone:
                continue

    try:
        return await asyncio.wait_for(follow(), timeout)
    except TimeoutError:
        raise TimeoutError(f"{resource} {namespace + '/' if namespace else ''}{name}: condition not met "
                           f"within {timeout}s") from None
