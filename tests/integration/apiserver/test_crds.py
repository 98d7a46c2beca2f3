"""CustomResourceDefinitions: their resources are served, discoverable, validated and cleaned up."""

from __future__ import annotations

from typing import Any

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


def crd() -> dict[str, Any]:
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"size": {"type": "integer"}, "replicas": {"type": "integer"}}},
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "additionalPrinterColumns": [{"name": "Size", "type": "integer",
                                                                 "jsonPath": ".spec.size"}],
                                   "schema": {"openAPIV3Schema": schema},
                                   "subresources": {"status": {}, "scale": {
                                       "specReplicasPath": ".spec.replicas",
                                       "statusReplicasPath": ".status.replicas"}}}]}}


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def test_crd_lifecycle(api) -> None:
    r = api.request("POST", CRDS, crd())
    assert r.status == 201, r.body
    conditions = {c["type"]: c["status"] for c in r.body["status"]["conditions"]}
    assert conditions["Established"] == "True"

    resources = api.request("GET", "/apis/example.com/v1").body["resources"]
    assert {r["name"] for r in resources} == {"widgets", "widgets/status", "widgets/scale"}
    assert any(g["name"] == "example.com" for g in api.request("GET", "/apis").body["groups"])

    created = api.request("POST", WIDGETS, widget("w1", size=3, replicas=1))
    assert created.status == 201, created.body
    assert created.body["metadata"]["generation"] == 1
    assert api.request("GET", f"{WIDGETS}/w1").body["spec"]["size"] == 3
    assert [w["metadata"]["name"] for w in api.request("GET", WIDGETS).body["items"]] == ["w1"]
    table = api.request("GET", WIDGETS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).body
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size"]
    assert table["rows"][0]["cells"] == ["w1", 3]

    bad = api.request("POST", WIDGETS, widget("w2", size="big"))
    assert bad.status == 422 and bad.body["details"]["causes"][0]["field"] == "spec.size"

    strict = api.request("POST", WIDGETS + "?fieldValidation=Strict", widget("w3", size=1, colour="red"))
    assert strict.status == 400 and 'unknown field "spec.colour"' in strict.body["message"]
    assert "metadata" not in strict.body["message"]
    assert api.request("POST", WIDGETS + "?fieldValidation=Strict", widget("w5", size=1)).status == 201
    warned = api.request("POST", WIDGETS, widget("w4", size=1, colour="red"))
    assert warned.status == 201 and "spec.colour" in warned.headers.get("warning", "")

    scaled = api.request("PATCH", f"{WIDGETS}/w1/scale", {"spec": {"replicas": 4}},
                         content_type="application/merge-patch+json")
    assert scaled.status == 200 and scaled.body["spec"]["replicas"] == 4
    status = api.request("PATCH", f"{WIDGETS}/w1/status", {"status": {"replicas": 4}, "spec": {"size": 99}},
                         content_type="application/merge-patch+json")
    assert status.body["status"]["replicas"] == 4 and status.body["spec"]["size"] == 3

    assert api.request("DELETE", f"{CRDS}/widgets.example.com").status == 200
    assert api.request("GET", WIDGETS).status == 404
    api.request("POST", CRDS, crd())
    assert api.request("GET", WIDGETS).body["items"] == []
