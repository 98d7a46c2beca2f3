"""The project's own asyncio client against a running `kyb apiserver`: the path every component uses."""

from __future__ import annotations

import asyncio

import pytest
from apiserver_process import start_apiserver, stop_apiserver

from client import ApiClient, Gone, NotFound
from client.informer import Informer
from client.resources import for_kind

PODS = for_kind("v1", "Pod")
CONFIGMAPS = for_kind("v1", "ConfigMap")


def pod(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def run(apiserver, scenario) -> None:
    async def main() -> None:
        async with ApiClient.from_kubeconfig(str(apiserver.kubeconfig)) as api:
            await asyncio.wait_for(scenario(api), 30)

    asyncio.run(main())


def test_verbs_round_trip(apiserver) -> None:
    async def scenario(api: ApiClient) -> None:
        created = await api.create(PODS, pod("kc-one", app="kc"), "default")
        assert created["metadata"]["uid"]
        listed = await api.list(PODS, "default", label_selector="app=kc")
        assert [p["metadata"]["name"] for p in listed] == ["kc-one"]
        patched = await api.patch(PODS, "kc-one", {"metadata": {"labels": {"x": "y"}}}, "default")
        assert patched["metadata"]["labels"]["x"] == "y"
        await api.delete(PODS, "kc-one", "default")
        with pytest.raises(NotFound):
            await api.get(PODS, "kc-one", "default")

    run(apiserver, scenario)


def test_informer_syncs_and_follows_changes(apiserver) -> None:
    async def scenario(api: ApiClient) -> None:
        await api.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kc-inf"}},
                         "default")
        informer = Informer(api, CONFIGMAPS, "default")
        task = asyncio.create_task(informer.run())
        try:
            assert await informer.wait_for_sync(10)
            keys = {o["metadata"]["name"] for o in informer.cache.list()}
            assert "kc-inf" in keys
            await api.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "kc-inf-2"}}, "default")
            for _ in range(100):
                if any(o["metadata"]["name"] == "kc-inf-2" for o in informer.cache.list()):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the informer never saw the new ConfigMap")
        finally:
            await informer.stop()
            task.cancel()

    run(apiserver, scenario)


async def compacted_past(api: ApiClient, revision: str, deadline: float = 20.0) -> None:
    """Wait until the server has compacted ``revision`` away (an exact read of it is 410).

    The compactor keeps one interval of history and its period stretches with the store's
    commit latency (each compaction is fsynced writes), so on a loaded machine two intervals of
    wall-clock time are not enough: wait for the compaction itself, boundedly.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        try:
            await api.list(CONFIGMAPS, "default", resource_version=revision, resource_version_match="Exact")
        except Gone:
            return
        if loop.time() > end:
            raise AssertionError(f"revision {revision} was not compacted within {deadline}s")
        await asyncio.sleep(0.1)


def test_watch_from_a_compacted_revision_raises_gone(tmp_path) -> None:
    server = start_apiserver(tmp_path, "--compaction-interval", "0.3")
    try:
        async def scenario(api: ApiClient) -> None:
            first = await api.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "kc-gone"}}, "default")
            await api.patch(CONFIGMAPS, "kc-gone", {"data": {"a": "1"}}, "default")
            await compacted_past(api, first["metadata"]["resourceVersion"])
            with pytest.raises(Gone):
                async for _ in api.watch(CONFIGMAPS, "default", resource_version=first["metadata"]["resourceVersion"],
                                         timeout_seconds=5):
                    pass

        run(server, scenario)
    finally:
        stop_apiserver(server)
