"""Server-side apply (PATCH application/apply-patch+yaml) and field ownership over real HTTP."""

from __future__ import annotations

from typing import Any

import yaml

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
APPLY = "application/apply-patch+yaml"


def deployment(name: str, replicas: int, image: str = "busybox:1", **labels: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name, **labels}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": image}]}}}}


def apply(api, name: str, body: dict[str, Any], query: str = "fieldManager=tester") -> Any:
    return api.request("PATCH", f"{DEPLOYS}/{name}?{query}", yaml.safe_dump(body).encode(), content_type=APPLY)


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def test_apply_without_a_field_manager_is_400(api) -> None:
    r = apply(api, "no-manager", deployment("no-manager", 1), query="")
    assert r.status == 400 and r.body["reason"] == "BadRequest"
    assert "fieldManager" in r.body["message"]
    assert api.request("GET", f"{DEPLOYS}/no-manager").status == 404


def test_apply_of_a_missing_object_creates_it_owned_by_the_manager(api) -> None:
    r = apply(api, "ssa-new", deployment("ssa-new", 2))
    assert r.status == 201, r.body
    assert r.body["spec"]["replicas"] == 2 and r.body["metadata"]["uid"]
    entry = managers(r.body)[("tester", "Apply")]
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1"
    assert "f:replicas" in entry["fieldsV1"]["f:spec"]


def test_applying_a_changed_configuration_updates_the_object(api) -> None:
    apply(api, "ssa-change", deployment("ssa-change", 1, team="a"))
    r = apply(api, "ssa-change", deployment("ssa-change", 3, image="busybox:2"))
    assert r.status == 200, r.body
    assert r.body["spec"]["replicas"] == 3
    assert r.body["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:2"
    # A label the manager applied before and no longer does is removed.
    assert r.body["metadata"]["labels"] == {"app": "ssa-change"}
    assert r.body["metadata"]["generation"] == 2


def test_reapplying_the_same_configuration_writes_nothing(api) -> None:
    first = apply(api, "ssa-same", deployment("ssa-same", 1)).body
    again = apply(api, "ssa-same", deployment("ssa-same", 1)).body
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_applying_a_field_another_writer_changed_is_a_409_with_causes(api) -> None:
    apply(api, "ssa-conflict", deployment("ssa-conflict", 1))
    r = api.request("PATCH", f"{DEPLOYS}/ssa-conflict/scale?fieldManager=scaler", {"spec": {"replicas": 5}},
                    content_type="application/merge-patch+json")
    assert r.status == 200, r.body
    r = apply(api, "ssa-conflict", deployment("ssa-conflict", 2))
    assert r.status == 409 and r.body["reason"] == "Conflict", r.body
    assert r.body["message"].startswith("Apply failed with 1 conflict: ")
    assert r.body["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "scaler" with subresource "scale" using apps/v1',
         "field": ".spec.replicas"}]
    assert api.request("GET", f"{DEPLOYS}/ssa-conflict").body["spec"]["replicas"] == 5


def test_force_takes_ownership_of_conflicting_fields(api) -> None:
    apply(api, "ssa-force", deployment("ssa-force", 1))
    api.request("PATCH", f"{DEPLOYS}/ssa-force?fieldManager=scaler", {"spec": {"replicas": 5}},
                content_type="application/merge-patch+json")
    r = apply(api, "ssa-force", deployment("ssa-force", 2), query="fieldManager=tester&force=true")
    assert r.status == 200, r.body
    assert r.body["spec"]["replicas"] == 2
    scaler = managers(r.body).get(("scaler", "Update"))
    assert scaler is None or "f:replicas" not in scaler["fieldsV1"].get("f:spec", {})


def test_ordinary_writes_record_their_manager_from_the_user_agent(api) -> None:
    body = deployment("ua-writer", 1)
    r = api.request("POST", DEPLOYS, body, headers={"User-Agent": "my-controller/1.0 (linux)"})
    assert r.status == 201, r.body
    entry = managers(r.body)[("my-controller", "Update")]
    assert "f:replicas" in entry["fieldsV1"]["f:spec"]
    r = api.request("PATCH", f"{DEPLOYS}/ua-writer?fieldManager=labeller", {"metadata": {"labels": {"x": "1"}}},
                    content_type="application/merge-patch+json")
    assert managers(r.body)[("labeller", "Update")]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:x": {}}}}


def test_a_write_that_changes_nothing_keeps_the_resource_version(api) -> None:
    created = api.request("POST", DEPLOYS, deployment("noop-writer", 1)).body
    r = api.request("PATCH", f"{DEPLOYS}/noop-writer?fieldManager=other", {"spec": {"replicas": 1}},
                    content_type="application/merge-patch+json")
    assert r.body["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_apply_naming_another_object_is_400(api) -> None:
    r = apply(api, "ssa-url-name", deployment("ssa-other-name", 1))
    assert r.status == 400, r.body


def test_apply_with_a_wrong_kind_is_400(api) -> None:
    body = deployment("ssa-kind", 1)
    body["kind"] = "StatefulSet"
    r = apply(api, "ssa-kind", body)
    assert r.status == 400, r.body
