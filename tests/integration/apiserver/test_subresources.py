"""Subresources over real HTTP: status, scale, binding, eviction, finalize, kubelet-backed ones."""

from __future__ import annotations

from typing import Any

PODS = "/api/v1/namespaces/default/pods"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
MERGE = "application/merge-patch+json"


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def test_scale_reads_and_writes_spec_replicas(api) -> None:
    api.request("POST", DEPLOYS, deployment("scaled", 2))
    scale = api.request("GET", f"{DEPLOYS}/scaled/scale").body
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"]["replicas"] == 2 and scale["status"]["selector"] == "app=scaled"
    r = api.request("PATCH", f"{DEPLOYS}/scaled/scale", {"spec": {"replicas": 5}}, content_type=MERGE)
    assert r.status == 200 and r.body["spec"]["replicas"] == 5
    scale = r.body
    scale["spec"]["replicas"] = 7
    assert api.request("PUT", f"{DEPLOYS}/scaled/scale", scale).status == 200
    got = api.request("GET", f"{DEPLOYS}/scaled").body
    assert got["spec"]["replicas"] == 7 and got["metadata"]["generation"] == 3
    scale["spec"]["replicas"] = 9  # stale resourceVersion now
    assert api.request("PUT", f"{DEPLOYS}/scaled/scale", scale).status == 409


def test_status_is_ignored_on_the_main_resource_and_spec_on_status(api) -> None:
    created = api.request("POST", DEPLOYS, deployment("stat")).body
    created["status"] = {"replicas": 42}
    created["spec"]["replicas"] = 3
    updated = api.request("PUT", f"{DEPLOYS}/stat", created).body
    assert updated["spec"]["replicas"] == 3 and updated.get("status", {}).get("replicas") in (None, 0)
    updated["status"] = {"replicas": 3, "observedGeneration": 2}
    updated["spec"]["replicas"] = 100
    r = api.request("PUT", f"{DEPLOYS}/stat/status", updated)
    assert r.status == 200, r.body
    assert r.body["status"]["replicas"] == 3 and r.body["spec"]["replicas"] == 3
    r = api.request("PATCH", f"{DEPLOYS}/stat/status", {"status": {"readyReplicas": 1}}, content_type=MERGE)
    assert r.body["status"]["readyReplicas"] == 1


def test_binding_assigns_a_node_once(api) -> None:
    api.request("POST", PODS, pod("bindme"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bindme"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-a"}}
    r = api.request("POST", f"{PODS}/bindme/binding", binding)
    assert r.status == 201, r.body
    got = api.request("GET", f"{PODS}/bindme").body
    assert got["spec"]["nodeName"] == "node-a"
    assert any(c["type"] == "PodScheduled" and c["status"] == "True" for c in got["status"]["conditions"])
    again = api.request("POST", f"{PODS}/bindme/binding", binding)
    assert again.status == 409 and 'already assigned to node "node-a"' in again.body["message"]


def test_the_bindings_collection_binds_the_pod_its_binding_names(api) -> None:
    api.request("POST", PODS, pod("bind-coll"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bind-coll"},
               "target": {"kind": "Node", "name": "node-b"}}
    r = api.request("POST", "/api/v1/namespaces/default/bindings", binding)
    assert r.status == 201, r.body
    assert r.body["status"] == "Success"
    assert api.request("GET", f"{PODS}/bind-coll").body["spec"]["nodeName"] == "node-b"
    again = api.request("POST", "/api/v1/namespaces/default/bindings", binding)
    assert again.status == 409


def test_the_bindings_collection_needs_an_existing_pod_and_a_name(api) -> None:
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "no-such-pod"},
               "target": {"kind": "Node", "name": "node-b"}}
    missing = api.request("POST", "/api/v1/namespaces/default/bindings", binding)
    assert missing.status == 404 and missing.body["message"] == 'pods "no-such-pod" not found'
    unnamed = api.request("POST", "/api/v1/namespaces/default/bindings", {**binding, "metadata": {}})
    assert unnamed.status == 422


def test_bindings_are_create_only_and_discoverable(api) -> None:
    resources = {r["name"]: r for r in api.request("GET", "/api/v1").body["resources"]}
    assert resources["bindings"]["verbs"] == ["create"] and resources["bindings"]["kind"] == "Binding"
    assert api.request("GET", "/api/v1/namespaces/default/bindings").status == 405


def test_eviction_deletes_the_pod(api) -> None:
    api.request("POST", PODS, pod("evictme"))
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "evictme"}}
    r = api.request("POST", f"{PODS}/evictme/eviction", eviction)
    assert r.status == 201, r.body
    assert api.request("GET", f"{PODS}/evictme").status == 404


def test_kubelet_subresources_answer_503_until_a_kubelet_serves_them(api) -> None:
    api.request("POST", PODS, pod("logs"))
    r = api.request("GET", f"{PODS}/logs/log")
    assert r.status == 503 and r.body["reason"] == "ServiceUnavailable"


def test_namespace_finalize_completes_a_namespace_deletion(api) -> None:
    api.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fin"}})
    ns = api.request("DELETE", "/api/v1/namespaces/fin").body
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    ns["spec"]["finalizers"] = []
    r = api.request("PUT", "/api/v1/namespaces/fin/finalize", ns)
    assert r.status == 200, r.body
    assert api.request("GET", "/api/v1/namespaces/fin").status == 404


def test_table_form_for_kubectl(api) -> None:
    api.request("POST", PODS, pod("tabled"))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    r = api.request("GET", f"{PODS}?fieldSelector=metadata.name%3Dtabled", headers={"Accept": accept})
    assert r.body["kind"] == "Table"
    assert [c["name"] for c in r.body["columnDefinitions"]][:3] == ["Name", "Ready", "Status"]
    row = r.body["rows"][0]
    assert row["cells"][0] == "tabled" and row["object"]["kind"] == "PartialObjectMetadata"
    r = api.request("GET", f"{PODS}/tabled?includeObject=Object", headers={"Accept": accept})
    assert r.body["rows"][0]["object"]["kind"] == "Pod"


def test_partial_object_metadata_list(api) -> None:
    accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    r = api.request("GET", "/api/v1/namespaces", headers={"Accept": accept})
    assert r.body["kind"] == "PartialObjectMetadataList"
    assert all(set(item) == {"kind", "apiVersion", "metadata"} for item in r.body["items"])
