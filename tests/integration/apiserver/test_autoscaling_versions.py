"""HorizontalPodAutoscalers served through autoscaling/v1 and autoscaling/v2 from one stored object."""

from __future__ import annotations

from typing import Any

V1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
V2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"


def hpa_v1(name: str, cpu: int | None = 50) -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                            "maxReplicas": 3}
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": spec}


def test_discovery_serves_both_versions_and_prefers_v2(api) -> None:
    group = api.request("GET", "/apis/autoscaling").body
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    names = {r["name"] for r in api.request("GET", "/apis/autoscaling/v1").body["resources"]}
    assert {"horizontalpodautoscalers", "horizontalpodautoscalers/status"} <= names


def test_a_v1_autoscaler_reads_back_as_v2_with_a_cpu_metric(api) -> None:
    r = api.request("POST", V1, hpa_v1("by-v1"))
    assert r.status == 201, r.body
    assert r.body["apiVersion"] == "autoscaling/v1"
    assert r.body["spec"]["targetCPUUtilizationPercentage"] == 50 and r.body["spec"]["minReplicas"] == 1
    v2 = api.request("GET", f"{V2}/by-v1").body
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    assert "targetCPUUtilizationPercentage" not in v2["spec"]
    assert v2["metadata"]["uid"] == r.body["metadata"]["uid"]


def test_a_v1_autoscaler_without_a_cpu_target_gets_the_default_80(api) -> None:
    api.request("POST", V1, hpa_v1("default-cpu", cpu=None))
    assert api.request("GET", f"{V1}/default-cpu").body["spec"]["targetCPUUtilizationPercentage"] == 80


def test_a_v2_autoscaler_with_other_metrics_keeps_them_through_v1(api) -> None:
    body = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "by-v2"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "maxReplicas": 5, "metrics": [
                         {"type": "Resource", "resource": {"name": "memory", "target": {
                             "type": "AverageValue", "averageValue": "100Mi"}}}]}}
    assert api.request("POST", V2, body).status == 201
    v1 = api.request("GET", f"{V1}/by-v2").body
    assert "targetCPUUtilizationPercentage" not in v1["spec"]
    assert "autoscaling.alpha.kubernetes.io/metrics" in v1["metadata"]["annotations"]
    v1["spec"]["maxReplicas"] = 7
    r = api.request("PUT", f"{V1}/by-v2", v1)
    assert r.status == 200, r.body
    v2 = api.request("GET", f"{V2}/by-v2").body
    assert v2["spec"]["maxReplicas"] == 7
    assert v2["spec"]["metrics"] == body["spec"]["metrics"]
    assert "autoscaling.alpha.kubernetes.io/metrics" not in (v2["metadata"].get("annotations") or {})


def test_lists_and_watches_of_v1_carry_v1_objects(api) -> None:
    api.request("POST", V2, {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                             "metadata": {"name": "watched"},
                             "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 2}})
    listed = api.request("GET", V1).body
    assert listed["kind"] == "HorizontalPodAutoscalerList" and listed["apiVersion"] == "autoscaling/v1"
    assert {i["apiVersion"] for i in listed["items"]} == {"autoscaling/v1"}
    events = api.watch_lines(f"{V1}?watch=true&fieldSelector=metadata.name=watched&resourceVersion=0", 1)
    assert events[0]["type"] == "ADDED"
    assert events[0]["object"]["apiVersion"] == "autoscaling/v1"
    assert events[0]["object"]["spec"]["targetCPUUtilizationPercentage"] == 80


def test_an_invalid_v1_autoscaler_is_422(api) -> None:
    body = hpa_v1("bad-v1", cpu=0)
    body["spec"]["maxReplicas"] = 0
    r = api.request("POST", V1, body)
    assert r.status == 422, r.body
    fields = {c["field"] for c in r.body["details"]["causes"]}
    assert {"spec.targetCPUUtilizationPercentage", "spec.maxReplicas"} <= fields


def test_the_v1_table_shows_the_cpu_target(api) -> None:
    api.request("POST", V1, hpa_v1("tabled", cpu=65))
    table = api.request("GET", f"{V1}/tabled", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert table.status == 200, table.body
    assert [c["name"] for c in table.body["columnDefinitions"]][:3] == ["Name", "Reference", "Targets"]
    cells = table.body["rows"][0]["cells"]
    assert cells[:3] == ["tabled", "Deployment/web", "cpu: <unknown>/65%"]
