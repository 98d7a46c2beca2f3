"""One Event, two API groups: core/v1 and events.k8s.io/v1 read and write the same objects."""

from __future__ import annotations

CORE = "/api/v1/namespaces/default/events"
NEW = "/apis/events.k8s.io/v1/namespaces/default/events"


def test_a_core_event_reads_through_events_k8s_io(api) -> None:
    core = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ev-core"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Started", "message": "started container", "type": "Normal", "count": 2,
            "source": {"component": "kubelet"}, "firstTimestamp": "2026-01-01T00:00:00Z",
            "lastTimestamp": "2026-01-01T00:00:00Z"}
    r = api.request("POST", CORE, core)
    assert r.status == 201, r.body
    new = api.request("GET", f"{NEW}/ev-core").body
    assert new["apiVersion"] == "events.k8s.io/v1"
    assert new["regarding"]["name"] == "p" and new["note"] == "started container"
    assert new["deprecatedCount"] == 2 and new["deprecatedSource"] == {"component": "kubelet"}
    assert new["metadata"]["resourceVersion"] == r.body["metadata"]["resourceVersion"]


def test_an_events_k8s_io_event_reads_through_core(api) -> None:
    rv = api.request("GET", CORE).body["metadata"]["resourceVersion"]
    new = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "ev-new"},
           "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "kyb.io/scheduler",
           "reportingInstance": "sched-1", "action": "Binding", "reason": "Scheduled", "type": "Normal",
           "regarding": {"kind": "Pod", "name": "q", "namespace": "default"}, "note": "assigned q to node-1"}
    r = api.request("POST", NEW, new)
    assert r.status == 201, r.body
    core = api.request("GET", f"{CORE}/ev-new").body
    assert core["message"] == "assigned q to node-1" and core["involvedObject"]["name"] == "q"
    assert core["reportingComponent"] == "kyb.io/scheduler"
    events = api.watch_lines(f"{NEW}?watch=1&resourceVersion={rv}&fieldSelector=metadata.name%3Dev-new", 1)
    assert events[0]["object"]["note"] == "assigned q to node-1"
