"""Informers: the cache follows the server through list, watch, drops and 410 re-lists, and the
handlers hear about every change exactly as it happened."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from client_fake_apiserver import FakeApiServer

from client.api import ApiClient
from client.cache import NODE_NAME_INDEX, by_node_name
from client.informer import Informer, InformerFactory
from client.kubeconfig import ClusterConfig
from client.resources import NODES, PODS
from client.transport import NO_RETRY


def pod(name: str, node: str = "", ns: str = "default") -> dict:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"nodeName": node}}


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


class Recorder:
    def __init__(self, informer: Informer) -> None:
        self.events: list[tuple[str, str]] = []
        informer.add_event_handler(on_add=lambda o: self.events.append(("add", o["metadata"]["name"])),
                                   on_update=lambda old, new: self.events.append(("update", new["metadata"]["name"])),
                                   on_delete=lambda o: self.events.append(("delete", o["metadata"]["name"])))


async def test_initial_list_fills_cache_and_reports_adds() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("pods", pod("a"))
        fake.put("pods", pod("b"))
        inf = Informer(api, PODS, page_size=1)
        rec = Recorder(inf)
        inf.start()
        assert await inf.wait_for_sync(5)
        assert sorted(inf.cache.keys()) == ["default/a", "default/b"]
        assert sorted(rec.events) == [("add", "a"), ("add", "b")]
        assert inf.last_sync_resource_version == str(fake.revision)
        await inf.stop()


async def test_watch_events_update_cache_and_call_handlers() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        inf = Informer(api, PODS, "default")
        rec = Recorder(inf)
        inf.start()
        await inf.wait_for_sync(5)
        fake.put("pods", pod("a"))
        fake.put("pods", pod("a", node="n1"))
        fake.remove("pods", "default", "a")
        await until(lambda: len(rec.events) == 3)
        assert rec.events == [("add", "a"), ("update", "a"), ("delete", "a")]
        assert len(inf.cache) == 0
        await inf.stop()


async def test_update_handler_gets_old_and_new_objects() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        seen: list[tuple[str, str]] = []
        inf = Informer(api, PODS)
        inf.add_event_handler(on_update=lambda old, new: seen.append((old["spec"]["nodeName"],
                                                                      new["spec"]["nodeName"])))
        fake.put("pods", pod("a"))
        inf.start()
        await inf.wait_for_sync(5)
        fake.put("pods", pod("a", node="n1"))
        await until(lambda: bool(seen))
        assert seen == [("", "n1")]
        await inf.stop()


async def test_custom_index_follows_changes() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        inf = Informer(api, PODS, indexers={NODE_NAME_INDEX: by_node_name})
        inf.start()
        await inf.wait_for_sync(5)
        fake.put("pods", pod("a", node="n1"))
        fake.put("pods", pod("b", node="n2"))
        await until(lambda: len(inf.cache) == 2)
        fake.put("pods", pod("a", node="n2"))
        await until(lambda: len(inf.cache.by_index(NODE_NAME_INDEX, "n2")) == 2)
        assert inf.cache.by_index(NODE_NAME_INDEX, "n1") == []
        await inf.stop()


async def test_dropped_watch_resumes_without_relisting() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        inf = Informer(api, PODS)
        rec = Recorder(inf)
        inf.start()
        await inf.wait_for_sync(5)
        fake.drop_watches()
        fake.put("pods", pod("a"))
        await until(lambda: rec.events == [("add", "a")])
        assert inf.lists == 1
        await inf.stop()


async def test_compacted_history_triggers_relist_that_reconciles_the_cache() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("pods", pod("stays"))
        fake.put("pods", pod("goes"))
        fake.put("pods", pod("changes"))
        inf = Informer(api, PODS)
        rec = Recorder(inf)
        inf.start()
        await inf.wait_for_sync(5)
        rec.events.clear()
        # while the informer is disconnected, things change and history is compacted away
        fake.drop_watches()
        fake.remove("pods", "default", "goes")
        fake.put("pods", pod("changes", node="n1"))
        fake.put("pods", pod("new"))
        fake.compact()
        await until(lambda: inf.lists == 2)
        assert sorted(rec.events) == [("add", "new"), ("delete", "goes"), ("update", "changes")]
        assert sorted(inf.cache.keys()) == ["default/changes", "default/new", "default/stays"]
        # and the new watch works
        fake.put("pods", pod("after"))
        await until(lambda: "default/after" in inf.cache)
        await inf.stop()


async def test_resync_replays_updates_for_cached_objects() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("nodes", {"metadata": {"name": "n1"}})
        inf = Informer(api, NODES, resync_period=0.05)
        rec = Recorder(inf)
        inf.start()
        await until(lambda: rec.events.count(("update", "n1")) >= 2)
        await inf.stop()


async def test_handler_added_after_sync_sees_existing_objects() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("pods", pod("a"))
        inf = Informer(api, PODS)
        inf.start()
        await inf.wait_for_sync(5)
        rec = Recorder(inf)
        assert rec.events == [("add", "a")]
        await inf.stop()


async def test_failing_handler_does_not_stop_the_informer() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        inf = Informer(api, PODS)

        def broken(obj: dict) -> None:
            raise RuntimeError("handler bug")

        inf.add_event_handler(on_add=broken)
        rec = Recorder(inf)
        inf.start()
        await inf.wait_for_sync(5)
        fake.put("pods", pod("a"))
        await until(lambda: rec.events == [("add", "a")])
        await inf.stop()


async def test_wait_for_sync_times_out_when_server_is_down() -> None:
    async with FakeApiServer() as fake:
        url = fake.url
    async with ApiClient(ClusterConfig(server=url), retry=NO_RETRY) as api:
        inf = Informer(api, PODS, backoff_base=0.01)
        inf.start()
        assert not await inf.wait_for_sync(0.2)
        assert inf.running  # still trying
        await inf.stop()


async def test_informer_retries_list_after_server_errors() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.put("pods", pod("a"))
        fake.fail_next(5, 500, only=lambda r: "watch" not in r.query)
        inf = Informer(api, PODS, backoff_base=0.01)
        inf.start()
        assert await inf.wait_for_sync(5)
        assert "default/a" in inf.cache
        await inf.stop()


async def test_factory_shares_one_informer_per_resource() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        factory = InformerFactory(api)
        first = factory.informer(PODS)
        second = factory.informer(PODS, indexers={NODE_NAME_INDEX: by_node_name})
        other = factory.informer(NODES)
        assert first is second and first is not other
        assert NODE_NAME_INDEX in first.cache.index_names()
        factory.start()
        assert await factory.wait_for_sync(5)
        await until(lambda: len(fake.watchers) == 2)
        assert fake.watch_connects == 2  # one watch per resource, however many users
        await factory.stop()


async def test_bookmarks_advance_the_informers_resource_version() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        inf = Informer(api, PODS)
        inf.start()
        await inf.wait_for_sync(5)
        await until(lambda: bool(fake.watchers))
        fake.put("configmaps", {"metadata": {"name": "elsewhere", "namespace": "default"}})
        fake.bookmark()
        await until(lambda: inf.last_sync_resource_version == str(fake.revision))
        assert len(inf.cache) == 0
        await inf.stop()
