"""Server-side apply: merge by list type, field ownership, conflicts and removal of dropped fields."""

import pytest

from apiserver.kinds import registry
from apiserver.kinds.registry import ResourceType
from apiserver.patch import PatchError
from apiserver.patch.apply import ApplyConflict, apply_server_side, record_update
from apiserver.patch.fieldsets import decode, encode

DEPLOYMENTS = registry.lookup("apps", "v1", "deployments")
NOW = "2026-01-01T00:00:00Z"


def config(image="nginx:1", replicas=None, containers=None, labels=None):
    spec = {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": containers or [{"name": "web", "image": image}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": labels or {"app": "web"}}, "spec": spec}


def owned(obj, manager, operation="Apply"):
    entry = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager
                 and e["operation"] == operation)
    return decode(entry["fieldsV1"])


def test_apply_creates_and_records_ownership():
    obj = apply_server_side(None, config(replicas=2), DEPLOYMENTS, "kubectl", now=NOW)
    assert obj["spec"]["replicas"] == 2
    assert obj["spec"]["template"]["spec"]["containers"] == [{"name": "web", "image": "nginx:1"}]
    paths = owned(obj, "kubectl")
    assert ("f:spec", "f:replicas") in paths
    assert ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}', "f:image") in paths
    entry = obj["metadata"]["managedFields"][0]
    assert entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']["."] == {}
    assert entry["operation"] == "Apply" and entry["apiVersion"] == "apps/v1" and entry["time"] == NOW


def test_reapply_changes_value_and_removes_dropped_fields():
    first = apply_server_side(None, config(containers=[{"name": "web", "image": "a"}, {"name": "side",
                                                                                        "image": "b"}],
                                           labels={"app": "web", "tier": "fe"}), DEPLOYMENTS, "kubectl")
    second = apply_server_side(first, config(image="a2"), DEPLOYMENTS, "kubectl")
    assert second["spec"]["template"]["spec"]["containers"] == [{"name": "web", "image": "a2"}]
    assert second["metadata"]["labels"] == {"app": "web"}


def test_fields_set_by_others_survive_an_apply():
    live = apply_server_side(None, config(), DEPLOYMENTS, "kubectl")
    live["spec"]["template"]["spec"]["containers"].append({"name": "injected", "image": "x"})
    live["metadata"]["annotations"] = {"other": "1"}
    out = apply_server_side(live, config(image="nginx:2"), DEPLOYMENTS, "kubectl")
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["web", "injected"]
    assert out["metadata"]["annotations"] == {"other": "1"}


def test_conflict_with_another_manager_and_force():
    live = apply_server_side(None, config(replicas=1), DEPLOYMENTS, "kubectl")
    scaled = dict(live, spec=dict(live["spec"], replicas=5))
    record_update(live, scaled, DEPLOYMENTS, "kubectl-scale")
    assert ("f:spec", "f:replicas") in owned(scaled, "kubectl-scale", "Update")
    assert ("f:spec", "f:replicas") not in owned(scaled, "kubectl")
    with pytest.raises(ApplyConflict) as e:
        apply_server_side(scaled, config(replicas=3), DEPLOYMENTS, "ci")
    assert 'conflict with "kubectl-scale" using apps/v1: .spec.replicas' in str(e.value)
    assert e.value.causes()[0] == {"reason": "FieldManagerConflict", "message": 'conflict with "kubectl-scale" '
                                   "using apps/v1", "field": ".spec.replicas"}
    forced = apply_server_side(scaled, config(replicas=3), DEPLOYMENTS, "ci", force=True)
    assert forced["spec"]["replicas"] == 3
    assert ("f:spec", "f:replicas") in owned(forced, "ci")
    assert all(e["manager"] != "kubectl-scale" for e in forced["metadata"]["managedFields"])


def test_same_value_is_shared_not_conflicting():
    live = apply_server_side(None, config(replicas=2), DEPLOYMENTS, "a")
    out = apply_server_side(live, config(replicas=2), DEPLOYMENTS, "b")
    assert ("f:spec", "f:replicas") in owned(out, "a") and ("f:spec", "f:replicas") in owned(out, "b")
    # a stops applying replicas; b still owns it, so it stays
    dropped = config()
    after = apply_server_side(out, dropped, DEPLOYMENTS, "a")
    assert after["spec"]["replicas"] == 2


def test_sets_merge_by_value():
    live = apply_server_side(None, {**config(), "metadata": {"name": "d", "finalizers": ["a"]}}, DEPLOYMENTS, "m1")
    out = apply_server_side(live, {**config(), "metadata": {"name": "d", "finalizers": ["b"]}}, DEPLOYMENTS, "m2")
    assert out["metadata"]["finalizers"] == ["a", "b"]


def test_custom_resources_use_their_schema():
    rt = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, custom=True)
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"],
                  "items": {"type": "object", "properties": {"id": {"type": "string"}, "v": {"type": "integer"}}}},
        "tags": {"type": "array", "items": {"type": "string"}}}}}}
    registry.register_custom(rt, schema)
    try:
        base = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
        live = apply_server_side(None, {**base, "spec": {"items": [{"id": "a", "v": 1}], "tags": ["x"]}}, rt, "m1")
        out = apply_server_side(live, {**base, "spec": {"items": [{"id": "b", "v": 2}], "tags": ["y"]}}, rt,
                                "m2", force=True)
        assert out["spec"]["items"] == [{"id": "a", "v": 1}, {"id": "b", "v": 2}]
        assert out["spec"]["tags"] == ["y"]  # atomic list: replaced
    finally:
        registry.unregister_custom("example.com", "v1", "widgets")


def test_malformed_apply_requests():
    with pytest.raises(PatchError):
        apply_server_side(None, config(), DEPLOYMENTS, "")
    with pytest.raises(PatchError):
        apply_server_side(None, {"apiVersion": "v1", "kind": "Pod"}, DEPLOYMENTS, "m")


def test_fields_v1_round_trip():
    paths = {("f:spec", "f:replicas"), ("f:spec", "f:containers", 'k:{"name":"a"}'),
             ("f:spec", "f:containers", 'k:{"name":"a"}', "f:image"), ("f:metadata", "f:finalizers", 'v:"x"')}
    assert decode(encode(paths)) == paths


def test_record_update_on_create_owns_everything_it_set():
    obj = config(replicas=1)
    record_update(None, obj, DEPLOYMENTS, "python-client", now=NOW)
    assert ("f:spec", "f:replicas") in owned(obj, "python-client", "Update")
    assert ("f:metadata", "f:name") not in owned(obj, "python-client", "Update")


def test_port_keys_default_protocol_so_defaulted_live_ports_match():
    from apiserver.kinds.defaults import apply_defaults

    containers = [{"name": "web", "image": "a", "ports": [{"containerPort": 80}]}]
    live = apply_server_side(None, config(containers=containers), DEPLOYMENTS, "kubectl")
    apply_defaults(DEPLOYMENTS, live)  # the stored object has protocol: TCP
    other = config(containers=[{"name": "web", "image": "a", "ports": [{"containerPort": 80}]}], replicas=2)
    out = apply_server_side(live, other, DEPLOYMENTS, "ci")  # same values: no conflict
    assert out["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    dropped = apply_server_side(out, config(containers=[{"name": "web", "image": "a"}]), DEPLOYMENTS, "kubectl")
    # ci still owns the port, so kubectl dropping it does not remove it
    assert dropped["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80,
                                                                              "protocol": "TCP"}]
