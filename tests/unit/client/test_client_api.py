"""ApiClient verbs against the in-process fake apiserver: CRUD, paging, errors and retries."""

from __future__ import annotations

import pytest
from client_fake_apiserver import FakeApiServer

from client import errors
from client.request import PatchType
from client.resources import NODES, PODS
from client.transport import NO_RETRY


def pod(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def test_create_get_update_delete_round_trip() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        created = await api.create(PODS, pod("a"), "default")
        assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
        got = await api.get(PODS, "a", "default")
        got["metadata"]["labels"] = {"tier": "web"}
        updated = await api.update(PODS, got)
        assert updated["metadata"]["labels"] == {"tier": "web"}
        assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
        answer = await api.delete(PODS, "a", "default")
        assert answer["status"] == "Success"
        with pytest.raises(errors.NotFound):
            await api.get(PODS, "a", "default")


async def test_not_found_error_carries_the_status() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        with pytest.raises(errors.NotFound) as info:
            await api.get(PODS, "missing", "default")
        assert info.value.code == 404 and info.value.reason == "NotFound"
        assert info.value.details["name"] == "missing"
        assert 'pods "missing" not found' in str(info.value)


async def test_create_twice_is_already_exists() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(PODS, pod("a"), "default")
        with pytest.raises(errors.AlreadyExists):
            await api.create(PODS, pod("a"), "default")


async def test_stale_update_is_conflict() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        first = await api.create(PODS, pod("a"), "default")
        await api.update(PODS, first)
        with pytest.raises(errors.Conflict):
            await api.update(PODS, first)


async def test_list_with_label_and_field_selectors() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(PODS, pod("a", app="web"), "default")
        await api.create(PODS, pod("b", app="db"), "default")
        await api.create(PODS, pod("c", app="web"), "other")
        web = await api.list(PODS, "default", label_selector="app=web")
        assert [p["metadata"]["name"] for p in web] == ["a"]
        everywhere = await api.list(PODS, label_selector={"app": "web"})
        assert sorted(p["metadata"]["name"] for p in everywhere) == ["a", "c"]
        by_name = await api.list(PODS, field_selector="metadata.name=b")
        assert [p["metadata"]["name"] for p in by_name] == ["b"]
        assert web.resource_version == str(fake.revision)


async def test_list_pages_with_limit_and_continue() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        for i in range(5):
            await api.create(PODS, pod(f"p{i}"), "default")
        page = await api.list(PODS, "default", limit=2)
        assert len(page) == 2 and page.continue_token and page.remaining_item_count == 3
        names = [p["metadata"]["name"] for p in page]
        while page.continue_token:
            page = await api.list(PODS, "default", limit=2, continue_token=page.continue_token)
            names += [p["metadata"]["name"] for p in page]
        assert names == [f"p{i}" for i in range(5)]


async def test_list_all_follows_continue_tokens() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        for i in range(7):
            await api.create(PODS, pod(f"p{i}"), "default")
        everything = await api.list_all(PODS, "default", page_size=3)
        assert len(everything) == 7 and everything.continue_token is None
        limits = [q for m, q, _ in fake.requests if m == "GET" and "limit=3" in q]
        assert len(limits) == 3


async def test_expired_continue_token_is_gone() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        for i in range(3):
            await api.create(PODS, pod(f"p{i}"), "default")
        page = await api.list(PODS, "default", limit=1)
        await api.create(PODS, pod("later"), "default")
        fake.compact()
        with pytest.raises(errors.Gone):
            await api.list(PODS, "default", limit=1, continue_token=page.continue_token)


async def test_update_status_changes_only_status() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        node = await api.create(NODES, {"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.0.0.0/24"}})
        node["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
        node["spec"]["podCIDR"] = "changed"
        after = await api.update_status(NODES, node)
        assert after["status"]["conditions"][0]["type"] == "Ready"
        assert after["spec"]["podCIDR"] == "10.0.0.0/24"
        assert fake.requests[-1][:2] == ("PUT", "/api/v1/nodes/n1/status")


async def test_merge_patch_is_sent_with_its_content_type() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(PODS, pod("a", app="web"), "default")
        patched = await api.patch(PODS, "a", {"metadata": {"labels": {"app": None, "x": "y"}}}, "default")
        assert patched["metadata"]["labels"] == {"x": "y"}
        with pytest.raises(errors.UnsupportedMediaType):  # the fake does not do JSON patch
            await api.patch(PODS, "a", [{"op": "remove", "path": "/x"}], "default", patch_type=PatchType.JSON)


async def test_delete_sends_delete_options() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        created = await api.create(PODS, pod("a"), "default")
        with pytest.raises(errors.Conflict):
            await api.delete(PODS, "a", "default", preconditions_uid="not-the-uid")
        await api.delete(PODS, "a", "default", propagation_policy="Foreground", grace_period_seconds=0,
                         preconditions_uid=created["metadata"]["uid"])
        body = fake.requests[-1][2]
        assert body["propagationPolicy"] == "Foreground" and body["gracePeriodSeconds"] == 0


async def test_delete_collection_by_label() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(PODS, pod("a", app="web"), "default")
        await api.create(PODS, pod("b", app="db"), "default")
        await api.delete_collection(PODS, "default", label_selector="app=web")
        assert [p["metadata"]["name"] for p in await api.list(PODS, "default")] == ["b"]


async def test_429_is_retried_after_the_retry_after_delay() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.fail_next(2, 429, retry_after=0)
        await api.create(PODS, pod("a"), "default")  # POSTs too: 429 means "not processed"
        assert [m for m, _, _ in fake.requests] == ["POST", "POST", "POST"]


async def test_retry_after_header_sets_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(PODS, pod("a"), "default")
        fake.fail_next(1, 429, retry_after=7)
        monkeypatch.setattr("client.transport.asyncio.sleep", fake_sleep)
        await api.get(PODS, "a", "default")
        assert slept == [7.0]


async def test_5xx_on_get_is_retried_then_succeeds() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(PODS, pod("a"), "default")
        fake.fail_next(2, 503)
        assert (await api.get(PODS, "a", "default"))["metadata"]["name"] == "a"


async def test_5xx_on_post_without_retry_after_is_not_retried() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.fail_next(1, 500)
        with pytest.raises(errors.InternalError):
            await api.create(PODS, pod("a"), "default")
        assert len(fake.requests) == 1


async def test_retries_are_bounded() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.fail_next(10, 503)
        with pytest.raises(errors.ServiceUnavailable):
            await api.list(PODS, "default")
        assert len(fake.requests) == 4  # max_attempts of the test client


async def test_dropped_connection_on_get_is_retried() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(PODS, pod("a"), "default")
        fake.fail_next(1, 0)
        assert (await api.get(PODS, "a", "default"))["metadata"]["name"] == "a"


async def test_dropped_connection_on_post_is_not_resent() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.fail_next(1, 0)
        with pytest.raises(errors.TransportError):
            await api.create(PODS, pod("a"), "default")
        assert len(fake.requests) == 1


async def test_unreachable_server_is_a_transport_error() -> None:
    async with FakeApiServer() as fake:
        url = fake.url
    from client.api import ApiClient
    from client.kubeconfig import ClusterConfig
    async with ApiClient(ClusterConfig(server=url), retry=NO_RETRY) as api:
        with pytest.raises(errors.TransportError, match="cannot connect"):
            await api.get(PODS, "a", "default")


async def test_mapping_selector_is_validated_before_sending() -> None:
    from client.labels import SelectorError, parse_selector

    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(PODS, pod("a", app="web"), "default")
        assert len(await api.list(PODS, "default", label_selector=parse_selector("app in (web,db)"))) == 1
        sent = len(fake.requests)
        with pytest.raises(SelectorError):
            await api.list(PODS, "default", label_selector={"bad key!": "x"})
        assert len(fake.requests) == sent


async def test_client_side_qps_paces_requests() -> None:
    import time

    async with FakeApiServer() as fake, fake.client(qps=20, burst=2) as api:
        started = time.monotonic()
        for _ in range(6):
            await api.list(PODS, "default")
        assert time.monotonic() - started >= (6 - 2) / 20 * 0.9


async def test_answer_cut_halfway_is_retried_for_get() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        await api.create(PODS, pod("a"), "default")
        fake.fail_next(2, -1)
        assert (await api.get(PODS, "a", "default"))["metadata"]["name"] == "a"
        assert [m for m, _, _ in fake.requests].count("GET") == 3


async def test_answer_cut_halfway_is_not_resent_for_post() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        fake.fail_next(1, -1)
        with pytest.raises(errors.TransportError):
            await api.create(PODS, pod("a"), "default")
        assert [m for m, _, _ in fake.requests] == ["POST"]
