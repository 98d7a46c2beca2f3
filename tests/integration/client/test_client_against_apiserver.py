"""The client against the real ``kyb apiserver``: verbs, errors, paging, watch resume and 410,
informers and a controller, and surviving an apiserver crash."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from client_apiserver_process import ApiServerProcess

from client import errors
from client.api import ApiClient
from client.cache import NODE_NAME_INDEX, by_node_name
from client.controller import Controller
from client.informer import Informer
from client.objects import deep_copy, owner_reference, split_key
from client.request import PatchType
from client.resources import CONFIGMAPS, NAMESPACES, PODS, REPLICASETS
from client.watch import WatchEvent


@asynccontextmanager
async def connected(server: ApiServerProcess) -> AsyncIterator[tuple[ApiClient, str]]:
    """A client from the apiserver's own kubeconfig, and a fresh namespace for this test."""
    async with ApiClient.from_kubeconfig(server.kubeconfig) as api:
        ns = f"t-{uuid.uuid4().hex[:8]}"
        await api.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        yield api, ns


def pod(name: str, node: str = "", **labels: str) -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}, "spec": spec}


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def next_event(it: AsyncIterator[WatchEvent], timeout: float = 10.0) -> WatchEvent:
    return await asyncio.wait_for(it.__anext__(), timeout)


async def test_crud_round_trip(apiserver: ApiServerProcess) -> None:
    async with connected(apiserver) as (api, ns):
        created = await api.create(PODS, pod("web", app="web"), ns)
        assert created["metadata"]["uid"] and created["metadata"]["namespace"] == ns
        got = await api.get(PODS, "web", ns)
        got["metadata"]["labels"]["tier"] = "front"
        updated = await api.update(PODS, got)
        assert updated["metadata"]["labels"] == {"app": "web", "tier": "front"}
        await api.delete(PODS, "web", ns, grace_period_seconds=0)
        with pytest.raises(errors.NotFound):
            await api.get(PODS, "web", ns)


async def test_server_errors_map_to_the_error_tree(apiserver: ApiServerProcess) -> None:
    async with connected(apiserver) as (api, ns):
        first = await api.create(CONFIGMAPS, cm("a", k="1"), ns)
        with pytest.raises(errors.AlreadyExists):
            await api.create(CONFIGMAPS, cm("a"), ns)
        await api.update(CONFIGMAPS, {**first, "data": {"k": "2"}})
        with pytest.raises(errors.Conflict):
            await api.update(CONFIGMAPS, {**first, "data": {"k": "3"}})
        with pytest.raises(errors.Invalid) as info:
            await api.create(CONFIGMAPS, cm("Not_A_DNS_Name"), ns)
        assert info.value.code == 422 and any(c.get("field") == "metadata.name" for c in info.value.causes)
        with pytest.raises(errors.NotFound):
            await api.create(CONFIGMAPS, cm("x"), f"missing-{ns}")


async def test_list_selectors_and_paging(apiserver: ApiServerProcess) -> None:
    async with connected(apiserver) as (api, ns):
        for i in range(7):
            await api.create(CONFIGMAPS, {**cm(f"c{i}"), "metadata": {"name": f"c{i}",
                                                                     "labels": {"parity": str(i % 2)}}}, ns)
        odd = await api.list(CONFIGMAPS, ns, label_selector="parity=1")
        assert sorted(c["metadata"]["name"] for c in odd) == ["c1", "c3", "c5"]
        assert [c["metadata"]["name"] for c in await api.list(CONFIGMAPS, ns, field_selector="metadata.name=c4")] \
            == ["c4"]
        page = await api.list(CONFIGMAPS, ns, limit=3)
        assert len(page) == 3 and page.continue_token
        everything = await api.list_all(CONFIGMAPS, ns, page_size=3)
        assert sorted(c["metadata"]["name"] for c in everything) == [f"c{i}" for i in range(7)]
        await api.delete_collection(CONFIGMAPS, ns, label_selector="parity=0")
        assert sorted(c["metadata"]["name"] for c in await api.list(CONFIGMAPS, ns)) == ["c1", "c3", "c5"]


async def test_patch_flavours_and_status_subresource(apiserver: ApiServerProcess) -> None:
    async with connected(apiserver) as (api, ns):
        await api.create(PODS, pod("p", app="a"), ns)
        merged = await api.patch(PODS, "p", {"metadata": {"labels": {"app": None, "m": "1"}}}, ns)
        assert merged["metadata"]["labels"] == {"m": "1"}
        jsoned = await api.patch(PODS, "p", [{"op": "add", "path": "/metadata/labels/j", "value": "2"}], ns,
                                 patch_type=PatchType.JSON)
        assert jsoned["metadata"]["labels"] == {"m": "1", "j": "2"}
        strategic = await api.patch(PODS, "p", {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}, ns,
                                    patch_type=PatchType.STRATEGIC)
        assert strategic["spec"]["containers"][0]["image"] == "busybox:2"
        current = deep_copy(strategic)
        current["status"] = {"phase": "Running"}
        current["metadata"]["labels"]["ignored"] = "yes"
        after = await api.update_status(PODS, current)
        assert after["status"]["phase"] == "Running" and "ignored" not in after["metadata"]["labels"]
        patched = await api.patch_status(PODS, "p", {"status": {"phase": "Succeeded"}}, ns)
        assert patched["status"]["phase"] == "Succeeded"


async def test_watch_sees_changes_and_resumes_from_a_resource_version(apiserver: ApiServerProcess) -> None:
    async with connected(apiserver) as (api, ns):
        start = (await api.list(CONFIGMAPS, ns)).resource_version
        await api.create(CONFIGMAPS, cm("a"), ns)
        it = api.watch(CONFIGMAPS, ns, resource_version=start)
        added = await next_event(it)
        assert (added.type, added.object["metadata"]["name"]) == ("ADDED", "a")
        await api.patch(CONFIGMAPS, "a", {"data": {"k": "v"}}, ns)
        await api.delete(CONFIGMAPS, "a", ns)
        assert [(await next_event(it)).type for _ in range(2)] == ["MODIFIED", "DELETED"]
        await it.aclose()
        # a new watch from the ADDED event's version replays exactly what came after it
        replay = api.watch(CONFIGMAPS, ns, resource_version=added.object["metadata"]["resourceVersion"])
        assert [(await next_event(replay)).type for _ in range(2)] == ["MODIFIED", "DELETED"]
        await replay.aclose()


async def test_bookmarks_arrive_on_idle_watches(apiserver: ApiServerProcess) -> None:
    async with connected(apiserver) as (api, ns):
        rv = (await api.list(CONFIGMAPS, ns)).resource_version
        it = api.watch(CONFIGMAPS, ns, resource_version=rv, yield_bookmarks=True)
        event = await next_event(it, timeout=15)
        assert event.type == "BOOKMARK" and int(event.object["metadata"]["resourceVersion"]) >= int(rv)
        await it.aclose()


async def test_watch_from_a_compacted_version_raises_gone(apiserver: ApiServerProcess) -> None:
    async with connected(apiserver) as (api, ns):
        old = (await api.list(CONFIGMAPS, ns)).resource_version
        for i in range(3):
            await api.create(CONFIGMAPS, cm(f"c{i}"), ns)
        await asyncio.sleep(2.5)  # two compaction intervals: ``old`` is now below the compacted revision
        with pytest.raises(errors.Gone) as info:
            async for _ in api.watch(CONFIGMAPS, ns, resource_version=old):
                pass
        assert info.value.code == 410


async def test_informer_follows_adds_updates_deletes_with_index(apiserver: ApiServerProcess) -> None:
    async with connected(apiserver) as (api, ns):
        await api.create(PODS, pod("early", node="n1"), ns)
        inf = Informer(api, PODS, ns, indexers={NODE_NAME_INDEX: by_node_name})
        events: list[tuple[str, str]] = []
        inf.add_event_handler(on_add=lambda o: events.append(("add", o["metadata"]["name"])),
                              on_update=lambda a, b: events.append(("update", b["metadata"]["name"])),
                              on_delete=lambda o: events.append(("delete", o["metadata"]["name"])))
        inf.start()
        try:
            assert await inf.wait_for_sync(10)
            assert events == [("add", "early")]
            await api.create(PODS, pod("late", node="n2"), ns)
            await api.patch(PODS, "early", {"metadata": {"labels": {"x": "y"}}}, ns)
            await api.delete(PODS, "late", ns, grace_period_seconds=0)
            await until(lambda: ("delete", "late") in events)
            assert events == [("add", "early"), ("add", "late"), ("update", "early"), ("delete", "late")]
            assert [p["metadata"]["name"] for p in inf.cache.by_index(NODE_NAME_INDEX, "n1")] == ["early"]
            assert inf.cache.by_index(NODE_NAME_INDEX, "n2") == []
        finally:
            await inf.stop()


async def test_controller_reconciles_owned_objects(apiserver: ApiServerProcess) -> None:
    """A toy controller: every ReplicaSet gets a ConfigMap it owns, holding its replica count."""
    async with connected(apiserver) as (api, ns):
        rs_informer = Informer(api, REPLICASETS, ns)

        async def reconcile(key: str) -> None:
            rs = rs_informer.cache.get(key)
            if rs is None:
                return
            _, name = split_key(key)
            want = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"{name}-info", "ownerReferences": [owner_reference(rs)]},
                    "data": {"replicas": str(rs["spec"].get("replicas", 1))}}
            try:
                current = await api.get(CONFIGMAPS, f"{name}-info", ns)
            except errors.NotFound:
                await api.create(CONFIGMAPS, want, ns)
                return
            if current.get("data") != want["data"]:
                await api.update(CONFIGMAPS, {**current, "data": want["data"]})

        ctl = Controller("rs-info", reconcile, workers=2)
        ctl.watch(rs_informer)
        await ctl.start()
        try:
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
            created = await api.create(REPLICASETS, rs, ns)

            async def replicas_recorded() -> str | None:
                try:
                    return (await api.get(CONFIGMAPS, "web-info", ns))["data"]["replicas"]
                except errors.NotFound:
                    return None

            for _ in range(200):
                if await replicas_recorded() == "2":
                    break
                await asyncio.sleep(0.05)
            info = await api.get(CONFIGMAPS, "web-info", ns)
            assert info["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
            await api.patch(REPLICASETS, "web", {"spec": {"replicas": 5}}, ns)
            for _ in range(200):
                if await replicas_recorded() == "5":
                    break
                await asyncio.sleep(0.05)
            assert await replicas_recorded() == "5"
        finally:
            await ctl.stop()


async def test_informer_survives_an_apiserver_crash(private_apiserver: ApiServerProcess) -> None:
    async with connected(private_apiserver) as (api, ns):
        await api.create(CONFIGMAPS, cm("before"), ns)
        inf = Informer(api, CONFIGMAPS, ns, backoff_base=0.1, backoff_max=0.5)
        inf.start()
        try:
            assert await inf.wait_for_sync(10)
            private_apiserver.kill()
            await asyncio.sleep(0.3)
            await asyncio.to_thread(private_apiserver.start)
            await api.create(CONFIGMAPS, cm("after"), ns)
            await api.delete(CONFIGMAPS, "before", ns)
            await until(lambda: sorted(inf.cache.keys()) == [f"{ns}/after"], timeout=20)
        finally:
            await inf.stop()


async def test_events_are_recorded_and_counted(apiserver: ApiServerProcess) -> None:
    from client.events import EventRecorder
    from client.resources import EVENTS

    async with connected(apiserver) as (api, ns):
        target = await api.create(CONFIGMAPS, cm("subject"), ns)
        rec = EventRecorder(api, "kyb-test", "host-1")
        rec.normal(target, "Synced", "configmap synced")
        rec.normal(target, "Synced", "configmap synced")
        rec.warning(target, "Broken", "something failed")
        await rec.flush()
        events = {e["reason"]: e for e in (await api.list(EVENTS, ns)).items}
        assert set(events) == {"Synced", "Broken"}
        assert events["Synced"]["count"] == 2 and events["Broken"]["type"] == "Warning"
        assert events["Synced"]["involvedObject"]["uid"] == target["metadata"]["uid"]


async def test_modify_retries_through_a_conflicting_writer(apiserver: ApiServerProcess) -> None:
    from client.conflicts import modify

    async with connected(apiserver) as (api, ns):
        await api.create(CONFIGMAPS, cm("shared", n="0"), ns)

        async def bump(times: int) -> None:
            for _ in range(times):
                await modify(api, CONFIGMAPS, "shared", ns,
                             lambda obj: obj["data"].update(n=str(int(obj["data"]["n"]) + 1)), attempts=50)

        await asyncio.gather(bump(10), bump(10), bump(10))
        assert (await api.get(CONFIGMAPS, "shared", ns))["data"]["n"] == "30"


async def test_leader_election_hands_over_between_candidates(apiserver: ApiServerProcess) -> None:
    from client.leaderelection import LeaderElector
    from client.resources import LEASES

    async with connected(apiserver) as (api, ns):
        log: list[str] = []

        def work(who: str):  # type: ignore[no-untyped-def]
            async def run() -> None:
                log.append(f"{who} starts")
                try:
                    await asyncio.Event().wait()
                finally:
                    log.append(f"{who} stops")
            return run

        timing = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.1}
        a = LeaderElector(api, "ctl", ns, "a", **timing)
        b = LeaderElector(api, "ctl", ns, "b", **timing)
        ta = asyncio.create_task(a.run(work("a")))
        await until(lambda: "a starts" in log)
        tb = asyncio.create_task(b.run(work("b")))
        await asyncio.sleep(0.5)
        assert log == ["a starts"]
        ta.cancel()
        await asyncio.gather(ta, return_exceptions=True)
        await until(lambda: "b starts" in log)
        assert log == ["a starts", "a stops", "b starts"]
        lease = await api.get(LEASES, "ctl", ns)
        assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1
        tb.cancel()
        await asyncio.gather(tb, return_exceptions=True)


async def test_wait_for_follows_one_object_by_name(apiserver: ApiServerProcess) -> None:
    from client.wait import wait_for

    async with connected(apiserver) as (api, ns):
        await api.create(CONFIGMAPS, cm("other"), ns)
        waiter = asyncio.create_task(wait_for(api, CONFIGMAPS, "target", ns,
                                              lambda o: o is not None and o.get("data", {}).get("ready") == "yes",
                                              timeout=10))
        await asyncio.sleep(0.2)
        await api.create(CONFIGMAPS, cm("target", ready="no"), ns)
        await api.patch(CONFIGMAPS, "other", {"data": {"ready": "yes"}}, ns)  # a different name: ignored
        await asyncio.sleep(0.2)
        assert not waiter.done()
        await api.patch(CONFIGMAPS, "target", {"data": {"ready": "yes"}}, ns)
        found = await waiter
        assert found is not None and found["metadata"]["name"] == "target"
        gone = asyncio.create_task(wait_for(api, CONFIGMAPS, "target", ns, lambda o: o is None, timeout=10))
        await api.delete(CONFIGMAPS, "target", ns)
        assert await gone is None


async def test_cut_connections_resume_the_watch_without_relisting(apiserver: ApiServerProcess) -> None:
    from client_tcp_proxy import TcpProxy

    from client.kubeconfig import ClusterConfig

    async with connected(apiserver) as (direct, ns), TcpProxy(apiserver.port) as proxy, \
            ApiClient(ClusterConfig(server=proxy.url)) as api:
        inf = Informer(api, CONFIGMAPS, ns)
        inf.start()
        try:
            assert await inf.wait_for_sync(10)
            for i in range(3):
                proxy.cut()
                await direct.create(CONFIGMAPS, cm(f"c{i}"), ns)
                await until(lambda i=i: f"{ns}/c{i}" in inf.cache)
            assert inf.lists == 1 and proxy.connections >= 4
        finally:
            await inf.stop()


async def test_informer_relists_when_its_history_was_compacted_while_unreachable(
        apiserver: ApiServerProcess, caplog: pytest.LogCaptureFixture) -> None:
    from client_tcp_proxy import TcpProxy

    from client.kubeconfig import ClusterConfig

    async with connected(apiserver) as (direct, ns), TcpProxy(apiserver.port) as proxy, \
            ApiClient(ClusterConfig(server=proxy.url)) as api:
        await direct.create(CONFIGMAPS, cm("stays"), ns)
        await direct.create(CONFIGMAPS, cm("goes"), ns)
        inf = Informer(api, CONFIGMAPS, ns)
        events: list[tuple[str, str]] = []
        inf.add_event_handler(on_add=lambda o: events.append(("add", o["metadata"]["name"])),
                              on_delete=lambda o: events.append(("delete", o["metadata"]["name"])))
        inf.start()
        try:
            assert await inf.wait_for_sync(10)
            proxy.refusing = True
            proxy.cut()
            await direct.delete(CONFIGMAPS, "goes", ns)
            await direct.create(CONFIGMAPS, cm("new"), ns)
            await asyncio.sleep(2.5)  # the apiserver compacts every second: the informer's version is gone
            with caplog.at_level("INFO", logger="client.informer"):
                proxy.refusing = False
                await until(lambda: sorted(inf.cache.keys()) == [f"{ns}/new", f"{ns}/stays"], timeout=20)
            assert inf.lists == 2
            assert any(r.getMessage() == "watch history compacted; listing again" for r in caplog.records)
            assert events[-2:] == [("add", "new"), ("delete", "goes")]
        finally:
            await inf.stop()


async def test_subresources_binding_and_scale(apiserver: ApiServerProcess) -> None:
    from client.resources import DEPLOYMENTS

    async with connected(apiserver) as (api, ns):
        await api.create(PODS, pod("unbound"), ns)
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "unbound"},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": "node-7"}}
        await api.create_subresource(PODS, "unbound", "binding", binding, ns)
        assert (await api.get(PODS, "unbound", ns))["spec"]["nodeName"] == "node-7"
        deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                           "template": {"metadata": {"labels": {"app": "d"}},
                                        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
        await api.create(DEPLOYMENTS, deploy, ns)
        scale = await api.get(DEPLOYMENTS, "d", ns, subresource="scale")
        assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1
        await api.patch(DEPLOYMENTS, "d", {"spec": {"replicas": 4}}, ns, subresource="scale")
        assert (await api.get(DEPLOYMENTS, "d", ns))["spec"]["replicas"] == 4
        # a group resource takes the same DeleteOptions body; Foreground leaves it for the GC to finish
        answer = await api.delete(DEPLOYMENTS, "d", ns, propagation_policy="Foreground")
        assert answer["kind"] == "Deployment" and answer["metadata"]["deletionTimestamp"]
        assert "foregroundDeletion" in answer["metadata"].get("finalizers", [])


async def test_discovery_lists_the_servers_types(apiserver: ApiServerProcess) -> None:
    from client.discovery import discover, server_version, with_verbs
    from client.resources import BUILTIN

    async with ApiClient.from_kubeconfig(apiserver.kubeconfig) as api:
        found = {r.resource: r for r in await discover(api)}
        assert (await server_version(api))["major"] == "1"
    for builtin in BUILTIN:  # the client's table agrees with what the server says
        assert builtin in found, f"{builtin} not served"
    assert "status" in found[PODS].subresources and "binding" in found[PODS].subresources
    assert PODS in {r.resource for r in with_verbs(found.values(), "list", "watch", "deletecollection")}


async def test_merge_patch_of_a_difference_and_its_precondition(apiserver: ApiServerProcess) -> None:
    from client.patches import merge_patch, with_precondition

    async with connected(apiserver) as (api, ns):
        read = await api.create(CONFIGMAPS, cm("c", a="1", b="2"), ns)
        await api.patch(CONFIGMAPS, "c", {"metadata": {"labels": {"other": "writer"}}}, ns)
        mine = deep_copy(read)
        mine["data"] = {"a": "1", "c": "3"}
        patch = merge_patch(read, mine)
        assert patch == {"data": {"b": None, "c": "3"}}
        with pytest.raises(errors.Conflict):  # pinned to the version we read, which is gone
            await api.patch(CONFIGMAPS, "c", with_precondition(patch, read["metadata"]["resourceVersion"]), ns)
        result = await api.patch(CONFIGMAPS, "c", patch, ns)
        assert result["data"] == {"a": "1", "c": "3"} and result["metadata"]["labels"] == {"other": "writer"}
