"""The resource verbs over real HTTP: create, get, list, update, patch, delete, and their errors."""

from __future__ import annotations

from typing import Any

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def test_create_assigns_uid_timestamp_and_resource_version(api) -> None:
    r = api.request("POST", PODS, pod("create-basic"))
    assert r.status == 201, r.body
    meta = r.body["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z") and int(meta["resourceVersion"]) > 0
    assert r.body["status"]["phase"] == "Pending"
    assert api.request("GET", f"{PODS}/create-basic").body["metadata"]["uid"] == meta["uid"]


def test_generate_name_appends_a_random_suffix(api) -> None:
    body = pod("")
    body["metadata"] = {"generateName": "gen-"}
    r = api.request("POST", PODS, body)
    assert r.status == 201
    assert r.body["metadata"]["name"].startswith("gen-") and len(r.body["metadata"]["name"]) == 9


def test_creating_an_existing_name_is_409_already_exists(api) -> None:
    api.request("POST", PODS, pod("dup"))
    r = api.request("POST", PODS, pod("dup"))
    assert r.status == 409 and r.body["reason"] == "AlreadyExists"
    assert r.body["message"] == 'pods "dup" already exists'


def test_get_of_a_missing_object_is_a_404_status(api) -> None:
    r = api.request("GET", f"{PODS}/nope")
    assert r.status == 404
    assert r.body["kind"] == "Status" and r.body["reason"] == "NotFound"
    assert r.body["message"] == 'pods "nope" not found'
    assert r.body["details"] == {"name": "nope", "kind": "pods"}


def test_unknown_resource_is_404(api) -> None:
    assert api.request("GET", "/api/v1/namespaces/default/widgets").status == 404
    assert api.request("GET", "/apis/nope.example.com/v1/things").status == 404


def test_update_with_a_stale_resource_version_is_409_conflict(api) -> None:
    created = api.request("POST", PODS, pod("stale")).body
    fresh = dict(created, metadata=dict(created["metadata"], labels={"a": "1"}))
    assert api.request("PUT", f"{PODS}/stale", fresh).status == 200
    stale = dict(created, metadata=dict(created["metadata"], labels={"a": "2"}))
    r = api.request("PUT", f"{PODS}/stale", stale)
    assert r.status == 409 and r.body["reason"] == "Conflict"
    assert r.body["message"] == ('Operation cannot be fulfilled on pods "stale": the object has been modified;'
                                 ' please apply your changes to the latest version and try again')
    assert api.request("GET", f"{PODS}/stale").body["metadata"]["labels"] == {"a": "1"}


def test_invalid_object_is_422_with_a_cause_per_bad_field(api) -> None:
    body = pod("Bad_Name")
    body["spec"]["containers"] = []
    r = api.request("POST", PODS, body)
    assert r.status == 422 and r.body["reason"] == "Invalid"
    fields = {c["field"] for c in r.body["details"]["causes"]}
    assert {"metadata.name", "spec.containers"} <= fields
    assert api.request("GET", f"{PODS}/Bad_Name").status == 404


def test_malformed_json_is_400(api) -> None:
    r = api.request("POST", PODS, b'{"apiVersion": "v1", "kind": ')
    assert r.status == 400 and r.body["reason"] == "BadRequest"


def test_a_value_of_the_wrong_json_type_is_400_like_a_body_that_does_not_decode(api) -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "typed"},
            "spec": {"replicas": "three", "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    r = api.request("POST", "/apis/apps/v1/namespaces/default/deployments", body)
    assert r.status == 400 and r.body["reason"] == "BadRequest", r.body
    assert r.body["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot'
                                 ' unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32')
    assert api.request("GET", "/apis/apps/v1/namespaces/default/deployments/typed").status == 404


def test_a_replacement_with_a_wrong_json_type_is_400_and_changes_nothing(api) -> None:
    created = api.request("POST", PODS, pod("typed-put")).body
    created["spec"]["containers"][0]["command"] = ["sh", True]
    r = api.request("PUT", f"{PODS}/typed-put", created)
    assert r.status == 400 and "cannot unmarshal bool" in r.body["message"], r.body
    assert "command" not in api.request("GET", f"{PODS}/typed-put").body["spec"]["containers"][0]


def test_yaml_bodies_are_accepted(api) -> None:
    doc = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n"
    r = api.request("POST", "/api/v1/namespaces/default/configmaps", doc, content_type="application/yaml")
    assert r.status == 201 and r.body["data"] == {"k": "v"}


def test_a_body_over_3_mib_is_413(api) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"}, "data": {"k": "x" * (4 << 20)}}
    r = api.request("POST", "/api/v1/namespaces/default/configmaps", body)
    assert r.status == 413 and r.body["reason"] == "RequestEntityTooLarge"


def test_kind_in_the_body_must_match_the_url(api) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "wrong-kind"}}
    r = api.request("POST", PODS, body)
    assert r.status == 400


def test_object_in_a_missing_namespace_is_404(api) -> None:
    r = api.request("POST", "/api/v1/namespaces/ghost/pods", pod("x"))
    assert r.status == 404 and r.body["message"] == 'namespaces "ghost" not found'


def test_object_in_a_terminating_namespace_is_403(api) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}}
    assert api.request("POST", "/api/v1/namespaces", ns).status == 201
    r = api.request("DELETE", "/api/v1/namespaces/doomed")
    assert r.status == 202 and r.body["status"]["phase"] == "Terminating"
    r = api.request("POST", "/api/v1/namespaces/doomed/pods", pod("x"))
    assert r.status == 403
    assert "unable to create new content in namespace doomed because it is being terminated" in r.body["message"]


def test_system_namespaces_exist_and_cannot_be_deleted(api) -> None:
    names = {n["metadata"]["name"] for n in api.request("GET", "/api/v1/namespaces").body["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    assert api.request("DELETE", "/api/v1/namespaces/kube-system").status == 403


def test_list_filters_by_label_selector_operators(api) -> None:
    for name, tier in (("sel-a", "web"), ("sel-b", "db"), ("sel-c", "cache")):
        api.request("POST", PODS, pod(name, {"suite": "sel", "tier": tier}))
    def names(selector: str) -> set[str]:
        r = api.request("GET", f"{PODS}?labelSelector={selector}")
        assert r.status == 200, r.body
        return {p["metadata"]["name"] for p in r.body["items"]}
    assert names("suite%3Dsel,tier%3Dweb") == {"sel-a"}
    assert names("suite%3Dsel,tier%20in%20(db,cache)") == {"sel-b", "sel-c"}
    assert names("suite%3Dsel,tier%20notin%20(db)") == {"sel-a", "sel-c"}
    assert names("suite%3Dsel,!missing") == {"sel-a", "sel-b", "sel-c"}
    assert names("suite%3Dsel,tier!%3Dweb") == {"sel-b", "sel-c"}


def test_list_filters_by_field_selector(api) -> None:
    api.request("POST", PODS, pod("fs-bound", nodeName="node-1"))
    r = api.request("GET", f"{PODS}?fieldSelector=spec.nodeName%3Dnode-1")
    assert [p["metadata"]["name"] for p in r.body["items"]] == ["fs-bound"]
    r = api.request("GET", "/api/v1/pods?fieldSelector=metadata.name%3Dfs-bound,metadata.namespace%3Ddefault")
    assert [p["metadata"]["name"] for p in r.body["items"]] == ["fs-bound"]


def test_limit_and_continue_page_through_one_snapshot(api) -> None:
    for i in range(5):
        api.request("POST", "/api/v1/namespaces/default/configmaps",
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"page-{i}", "labels": {"p": "1"}}})
    first = api.request("GET", "/api/v1/namespaces/default/configmaps?labelSelector=p%3D1&limit=2").body
    token = first["metadata"]["continue"]
    api.request("POST", "/api/v1/namespaces/default/configmaps",
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "page-9", "labels": {"p": "1"}}})
    seen = [c["metadata"]["name"] for c in first["items"]]
    while token:
        page = api.request("GET", f"/api/v1/namespaces/default/configmaps?labelSelector=p%3D1&limit=2&continue={token}")
        assert page.status == 200, page.body
        assert page.body["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        seen += [c["metadata"]["name"] for c in page.body["items"]]
        token = page.body["metadata"].get("continue")
    assert seen == [f"page-{i}" for i in range(5)]


def test_merge_patch_changes_only_the_named_fields(api) -> None:
    api.request("POST", PODS, pod("patched", {"a": "1"}))
    r = api.request("PATCH", f"{PODS}/patched", {"metadata": {"labels": {"b": "2"}}},
                    content_type="application/merge-patch+json")
    assert r.status == 200, r.body
    assert r.body["metadata"]["labels"] == {"a": "1", "b": "2"}


def test_json_patch_applies_operations(api) -> None:
    api.request("POST", PODS, pod("jsonpatched", {"a": "1"}))
    ops = [{"op": "replace", "path": "/metadata/labels/a", "value": "9"}]
    r = api.request("PATCH", f"{PODS}/jsonpatched", ops, content_type="application/json-patch+json")
    assert r.status == 200, r.body
    assert r.body["metadata"]["labels"] == {"a": "9"}


def test_delete_of_an_unscheduled_pod_is_immediate(api) -> None:
    api.request("POST", PODS, pod("gone"))
    r = api.request("DELETE", f"{PODS}/gone")
    assert r.status == 200
    assert api.request("GET", f"{PODS}/gone").status == 404


def test_delete_of_a_bound_pod_is_graceful(api) -> None:
    api.request("POST", PODS, pod("graceful", nodeName="node-1", terminationGracePeriodSeconds=20))
    r = api.request("DELETE", f"{PODS}/graceful")
    assert r.status == 202
    meta = api.request("GET", f"{PODS}/graceful").body["metadata"]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 20
    assert api.request("DELETE", f"{PODS}/graceful?gracePeriodSeconds=0").status == 200
    assert api.request("GET", f"{PODS}/graceful").status == 404


def test_finalizers_hold_an_object_until_removed(api) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/x"]}}
    path = "/api/v1/namespaces/default/configmaps/held"
    api.request("POST", "/api/v1/namespaces/default/configmaps", cm)
    assert api.request("DELETE", path).status == 202
    held = api.request("GET", path).body
    assert held["metadata"]["deletionTimestamp"]
    r = api.request("PATCH", path, {"metadata": {"finalizers": None}}, content_type="application/merge-patch+json")
    assert r.status == 200, r.body
    assert api.request("GET", path).status == 404


def test_foreground_and_orphan_propagation_add_their_finalizers(api) -> None:
    for name, policy, finalizer in (("fg", "Foreground", "foregroundDeletion"), ("or", "Orphan", "orphan")):
        api.request("POST", "/api/v1/namespaces/default/configmaps",
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
        r = api.request("DELETE", f"/api/v1/namespaces/default/configmaps/{name}",
                        {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy})
        assert r.status == 202
        assert r.body["metadata"]["finalizers"] == [finalizer]


def test_delete_precondition_on_uid(api) -> None:
    api.request("POST", PODS, pod("precond"))
    r = api.request("DELETE", f"{PODS}/precond", {"preconditions": {"uid": "not-it"}})
    assert r.status == 409


def test_dry_run_stores_nothing(api) -> None:
    r = api.request("POST", f"{PODS}?dryRun=All", pod("dry"))
    assert r.status == 201
    assert api.request("GET", f"{PODS}/dry").status == 404


def test_deletecollection_deletes_the_selected_objects(api) -> None:
    for i in range(3):
        api.request("POST", PODS, pod(f"coll-{i}", {"coll": "yes" if i < 2 else "no"}))
    r = api.request("DELETE", f"{PODS}?labelSelector=coll%3Dyes")
    assert r.status == 200 and len(r.body["items"]) == 2
    left = api.request("GET", f"{PODS}?labelSelector=coll").body["items"]
    assert [p["metadata"]["name"] for p in left] == ["coll-2"]


def test_a_later_background_delete_replaces_an_orphan_finalizer(api) -> None:
    path = "/api/v1/namespaces/default/configmaps/policy-change"
    api.request("POST", "/api/v1/namespaces/default/configmaps",
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "policy-change",
                                                                        "finalizers": ["example.com/keep"]}})
    r = api.request("DELETE", f"{path}?propagationPolicy=Orphan")
    assert r.body["metadata"]["finalizers"] == ["example.com/keep", "orphan"]
    r = api.request("DELETE", f"{path}?propagationPolicy=Background")
    assert r.body["metadata"]["finalizers"] == ["example.com/keep"]


def test_unknown_fields_are_refused_warned_or_ignored_as_asked(api) -> None:
    body = pod("unknown-fields")
    body["spec"]["foo"] = "bar"
    body["spec"]["containers"][0]["bogus"] = 1
    strict = api.request("POST", f"{PODS}?fieldValidation=Strict", body)
    assert strict.status == 400
    assert strict.body["message"] == ('strict decoding error: unknown field "spec.containers[0].bogus",'
                                      ' unknown field "spec.foo"')
    warned = api.request("POST", PODS, body)
    assert warned.status == 201 and 'unknown field \\"spec.foo\\"' in warned.headers["warning"]
    assert warned.body["spec"]["foo"] == "bar"  # unknown fields are kept
    body["metadata"]["name"] = "unknown-ignored"
    ignored = api.request("POST", f"{PODS}?fieldValidation=Ignore", body)
    assert ignored.status == 201 and "warning" not in ignored.headers


def test_an_object_stored_with_unknown_fields_stays_patchable_in_strict_mode(api) -> None:
    body = pod("kept-unknown")
    body["spec"]["foo"] = "bar"
    assert api.request("POST", PODS, body).status == 201
    r = api.request("PATCH", f"{PODS}/kept-unknown?fieldValidation=Strict", {"metadata": {"labels": {"x": "1"}}},
                    content_type="application/merge-patch+json")
    assert r.status == 200, r.body
    r = api.request("PATCH", f"{PODS}/kept-unknown?fieldValidation=Strict", {"spec": {"bar": 1}},
                    content_type="application/merge-patch+json")
    assert r.status == 400 and r.body["message"] == 'strict decoding error: unknown field "spec.bar"'


def test_put_creates_a_missing_lease_but_not_a_missing_pod(api) -> None:
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "holder"},
             "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}
    r = api.request("PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/holder", lease)
    assert r.status == 201 and r.body["spec"]["holderIdentity"] == "me"
    assert api.request("PUT", f"{PODS}/never-created", pod("never-created")).status == 404
