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


def test_watch_from_a_compacted_revision_raises_gone(tmp_path) -> None:
    server = start_apiserver(tmp_path, "--compaction-interval", "0.3")
    try:
        async def scenario(api: ApiClient) -> None:
            first = await api.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "kc-gone"}}, "default")
            await api.patch(CONFIGMAPS, "kc-gone", {"data": {"a": "1"}}, "default")
            await asyncio.sleep(1.5)  # two compaction intervals: the first revision is gone
            with pytest.raises(Gone):
                async for _ in api.watch(CONFIGMAPS, "default", resource_version=first["metadata"]["resourceVersion"],
                                         timeout_seconds=5):
                    pass

        run(server, scenario)
    finally:
        stop_apiserver(server)
