"""The resuming watch: events in order, resumed after drops without loss or repeats, bookmarks
moving the resume point, and 410 raised as Gone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from client_fake_apiserver import FakeApiServer

from client import errors
from client.resources import PODS
from client.watch import WatchEvent


def pod(name: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default"}}


async def next_event(it: AsyncIterator[WatchEvent]) -> WatchEvent:
    return await asyncio.wait_for(it.__anext__(), 5)


def resumed_from(fake: FakeApiServer) -> list[str]:
    """The resourceVersion each watch connection asked for, in order."""
    out = []
    for method, qs, _ in fake.requests:
        if method == "GET" and "watch=true" in qs:
            out.append(dict(p.split("=", 1) for p in qs.split("?", 1)[1].split("&")).get("resourceVersion", ""))
    return out


async def test_events_arrive_as_type_and_object() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        it = api.watch(PODS, "default", resource_version=str(fake.revision))
        fake.put("pods", pod("a"))
        kind, obj = await next_event(it)
        assert (kind, obj["metadata"]["name"]) == ("ADDED", "a")
        fake.put("pods", pod("a"))
        fake.remove("pods", "default", "a")
        assert [(await next_event(it)).type for _ in range(2)] == ["MODIFIED", "DELETED"]
        await it.aclose()


async def test_history_after_the_given_resource_version_is_replayed() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        start = str(fake.revision)
        fake.put("pods", pod("a"))
        fake.put("pods", pod("b"))
        it = api.watch(PODS, "default", resource_version=start)
        assert [(await next_event(it)).object["metadata"]["name"] for _ in range(2)] == ["a", "b"]
        await it.aclose()


async def test_dropped_stream_resumes_from_last_seen_version_without_repeats() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        it = api.watch(PODS, "default", resource_version=str(fake.revision))
        fake.put("pods", pod("a"))
        first = await next_event(it)
        fake.drop_watches()
        await asyncio.sleep(0.05)
        fake.put("pods", pod("b"))  # happens while disconnected
        second = await next_event(it)
        assert second.object["metadata"]["name"] == "b"
        assert fake.watch_connects == 2
        assert resumed_from(fake)[-1] == first.object["metadata"]["resourceVersion"]
        await it.aclose()


async def test_bookmark_moves_the_resume_point_and_is_not_yielded() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        it = api.watch(PODS, "default", resource_version=str(fake.revision))
        fake.put("pods", pod("a"))
        await next_event(it)
        fake.put("configmaps", {"metadata": {"name": "unrelated", "namespace": "default"}})
        fake.bookmark()
        await asyncio.sleep(0.05)
        fake.drop_watches()
        fake.put("pods", pod("b"))
        assert (await next_event(it)).object["metadata"]["name"] == "b"
        assert resumed_from(fake)[-1] == str(fake.revision - 1)  # the bookmark's version
        await it.aclose()


async def test_bookmarks_are_yielded_when_asked_for() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        it = api.watch(PODS, "default", resource_version=str(fake.revision), yield_bookmarks=True)
        task = asyncio.create_task(next_event(it))
        while not fake.watchers:
            await asyncio.sleep(0.01)
        fake.bookmark()
        event = await task
        assert event.type == "BOOKMARK" and event.object["metadata"]["resourceVersion"] == str(fake.revision)
        await it.aclose()


async def test_watch_asks_for_bookmarks_and_a_server_timeout() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        it = api.watch(PODS, "default", resource_version="5")
        task = asyncio.create_task(next_event(it))
        while not fake.watchers:
            await asyncio.sleep(0.01)
        qs = [q for m, q, _ in fake.requests if "watch=true" in q][0]
        assert "allowWatchBookmarks=true" in qs and "timeoutSeconds=" in qs
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await it.aclose()


async def test_error_event_with_410_raises_gone() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        old = str(fake.revision)
        fake.put("pods", pod("a"))
        fake.compact()
        with pytest.raises(errors.Gone) as info:
            async for _ in api.watch(PODS, "default", resource_version=old):
                pass
        assert info.value.code == 410 and "too old" in info.value.message


async def test_compaction_while_disconnected_raises_gone_on_resume() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        it = api.watch(PODS, "default", resource_version=str(fake.revision))
        fake.put("pods", pod("a"))
        await next_event(it)
        fake.drop_watches()
        fake.put("pods", pod("b"))
        fake.compact()
        with pytest.raises(errors.Gone):
            await next_event(it)


async def test_bounded_watch_ends_when_server_closes() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("pods", pod("a"))
        events = [e async for e in api.watch(PODS, "default", resource_version="100", timeout_seconds=1)]
        assert [e.type for e in events] == ["ADDED"]
        assert fake.watch_connects == 1


async def test_watch_gives_up_after_bounded_reconnect_failures() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.fail_next(100, 0)
        with pytest.raises(errors.TransportError):
            async for _ in api.watch(PODS, "default", resource_version="1", max_reconnects=2):
                pass


async def test_events_split_across_chunks_or_packed_together_are_parsed() -> None:
    import json

    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from client.api import ApiClient
    from client.kubeconfig import ClusterConfig

    lines = b"".join(json.dumps({"type": "ADDED", "object": {"metadata": {"name": f"p{i}", "resourceVersion":
                                                                          str(i)}}}).encode() + b"\n"
                     for i in range(50))

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        cuts = [0, 7, 8, 300, 301, 2000, len(lines)]  # mid-line, mid-object, many lines at once
        for a, b in zip(cuts, cuts[1:], strict=False):
            await resp.write(lines[a:b])
            await asyncio.sleep(0.01)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/default/pods", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with ApiClient(ClusterConfig(server=str(server.make_url("")).rstrip("/"))) as api:
            names = [e.object["metadata"]["name"]
                     async for e in api.watch(PODS, "default", resource_version="0", timeout_seconds=5)]
        assert names == [f"p{i}" for i in range(50)]
    finally:
        await server.close()
