"""WATCH over real HTTP: initial events, resume from a resourceVersion, selectors, bookmarks, 410."""

from __future__ import annotations

import threading
import time
from typing import Any

CMS = "/api/v1/namespaces/default/configmaps"


def cm(name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": data or {}}


def later(seconds: float, fn: Any) -> threading.Thread:
    t = threading.Thread(target=lambda: (time.sleep(seconds), fn()), daemon=True)
    t.start()
    return t


def test_watch_without_resource_version_starts_with_synthetic_added_events(api) -> None:
    api.request("POST", CMS, cm("w-init", {"suite": "w-init"}))
    events = api.watch_lines(f"{CMS}?watch=1&labelSelector=suite%3Dw-init&timeoutSeconds=1", 5)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w-init")]


def test_watch_resumes_after_a_resource_version_with_every_later_change(api) -> None:
    first = api.request("POST", CMS, cm("w-resume", {"suite": "w-resume"})).body
    rv = first["metadata"]["resourceVersion"]
    api.request("PATCH", f"{CMS}/w-resume", {"data": {"a": "1"}}, content_type="application/merge-patch+json")
    api.request("DELETE", f"{CMS}/w-resume")
    events = api.watch_lines(f"{CMS}?watch=1&resourceVersion={rv}&labelSelector=suite%3Dw-resume", 2)
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["data"] == {"a": "1"}
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) > int(
        events[0]["object"]["metadata"]["resourceVersion"])


def test_live_events_arrive_while_watching(api) -> None:
    rv = api.request("GET", CMS).body["metadata"]["resourceVersion"]
    later(0.3, lambda: api.request("POST", CMS, cm("w-live", {"suite": "w-live"})))
    events = api.watch_lines(f"{CMS}?watch=1&resourceVersion={rv}&labelSelector=suite%3Dw-live", 1)
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "w-live"


def test_objects_moving_out_of_and_into_a_selection_are_deleted_and_added(api) -> None:
    rv = api.request("POST", CMS, cm("w-move", {"tier": "a"})).body["metadata"]["resourceVersion"]
    merge = "application/merge-patch+json"
    api.request("PATCH", f"{CMS}/w-move", {"metadata": {"labels": {"tier": "b"}}}, content_type=merge)
    api.request("PATCH", f"{CMS}/w-move", {"metadata": {"labels": {"tier": "a"}}}, content_type=merge)
    api.request("PATCH", f"{CMS}/w-move", {"data": {"x": "y"}}, content_type=merge)
    events = api.watch_lines(f"{CMS}?watch=1&resourceVersion={rv}&labelSelector=tier%3Da", 3)
    assert [e["type"] for e in events] == ["DELETED", "ADDED", "MODIFIED"]


def test_field_selector_on_name_follows_one_object(api) -> None:
    rv = api.request("GET", CMS).body["metadata"]["resourceVersion"]
    api.request("POST", CMS, cm("w-other"))
    api.request("POST", CMS, cm("w-named"))
    events = api.watch_lines(f"{CMS}?watch=1&resourceVersion={rv}&fieldSelector=metadata.name%3Dw-named", 1)
    assert events[0]["object"]["metadata"]["name"] == "w-named"


def test_idle_watch_with_bookmarks_gets_bookmark_events(api) -> None:
    rv = api.request("GET", CMS).body["metadata"]["resourceVersion"]
    events = api.watch_lines(
        f"{CMS}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&labelSelector=none%3Dever&timeoutSeconds=3", 2)
    assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)
    assert events[0]["object"]["kind"] == "ConfigMap"


def test_timeout_seconds_ends_the_stream(api) -> None:
    started = time.monotonic()
    events = api.watch_lines(f"{CMS}?watch=1&resourceVersion=1&labelSelector=none%3Dever&timeoutSeconds=1", 10)
    assert events == [] and time.monotonic() - started < 5


def test_watch_from_a_compacted_revision_gets_a_410_error_event(api) -> None:
    old = api.request("POST", CMS, cm("w-compact")).body["metadata"]["resourceVersion"]
    for i in range(3):
        api.request("PATCH", f"{CMS}/w-compact", {"data": {"i": str(i)}}, content_type="application/merge-patch+json")
    current = api.run(api.server.store.current_revision())
    api.run(api.server.store.compact(current))
    events = api.watch_lines(f"{CMS}?watch=1&resourceVersion={int(old) - 1}", 1)
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["code"] == 410 and status["reason"] == "Expired"
    assert status["message"].startswith("too old resource version")


def test_list_with_an_exact_compacted_revision_is_410(api) -> None:
    current = api.run(api.server.store.current_revision())
    api.run(api.server.store.compact(current))
    r = api.request("GET", f"{CMS}?resourceVersion=1&resourceVersionMatch=Exact")
    assert r.status == 410 and r.body["reason"] == "Expired"


def test_legacy_watch_path_streams_events(api) -> None:
    api.request("POST", CMS, cm("w-legacy"))
    events = api.watch_lines("/api/v1/watch/namespaces/default/configmaps/w-legacy?timeoutSeconds=1", 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w-legacy")]


def test_send_initial_events_ends_with_an_annotated_bookmark(api) -> None:
    api.request("POST", CMS, cm("w-stream", {"suite": "w-stream"}))
    events = api.watch_lines(f"{CMS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                             "&allowWatchBookmarks=true&labelSelector=suite%3Dw-stream&timeoutSeconds=1", 2)
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_a_continue_token_from_before_compaction_is_410(api) -> None:
    for i in range(3):
        api.request("POST", CMS, cm(f"w-page-{i}", {"suite": "w-page"}))
    first = api.request("GET", f"{CMS}?labelSelector=suite%3Dw-page&limit=1").body
    token = first["metadata"]["continue"]
    api.request("PATCH", f"{CMS}/w-page-0", {"data": {"x": "1"}}, content_type="application/merge-patch+json")
    api.run(api.server.store.compact(api.run(api.server.store.current_revision())))
    r = api.request("GET", f"{CMS}?labelSelector=suite%3Dw-page&limit=1&continue={token}")
    assert r.status == 410 and r.body["reason"] == "Expired"
    assert "continue parameter is too old" in r.body["message"]
