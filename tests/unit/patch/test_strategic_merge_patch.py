"""Strategic merge patch merges lists by their declared keys, as kubectl expects."""

import pytest

from apiserver.kinds import registry
from apiserver.kinds.registry import ResourceType
from apiserver.patch import PatchError, apply_strategic_merge_patch

PODS = registry.lookup("", "v1", "pods")
DEPLOYMENTS = registry.lookup("apps", "v1", "deployments")


def pod(*containers, **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web"}},
            "spec": {"containers": list(containers), **spec}}


def deployment():
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 1,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                             "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                         {"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}]},
                         {"name": "sidecar", "image": "busybox"}]}}}}


def test_containers_merge_by_name():
    original = pod({"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"})
    out = apply_strategic_merge_patch(original, {"spec": {"containers": [{"name": "b", "image": "y:2"}]}}, PODS)
    assert out["spec"]["containers"] == [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}]


def test_new_element_is_appended():
    out = apply_strategic_merge_patch(pod({"name": "a", "image": "x"}),
                                      {"spec": {"containers": [{"name": "c", "image": "z"}]}}, PODS)
    assert [c["name"] for c in out["spec"]["containers"]] == ["a", "c"]


def test_set_image_like_kubectl():
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}
    out = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENTS)
    containers = out["spec"]["template"]["spec"]["containers"]
    assert containers[0] == {"name": "web", "image": "nginx:2", "ports": [{"containerPort": 80}]}
    assert containers[1] == {"name": "sidecar", "image": "busybox"}


def test_scale_like_kubectl():
    out = apply_strategic_merge_patch(deployment(), {"spec": {"replicas": 5}}, DEPLOYMENTS)
    assert out["spec"]["replicas"] == 5
    assert len(out["spec"]["template"]["spec"]["containers"]) == 2


def test_patch_delete_directive_removes_list_element():
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    out = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENTS)
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_patch_replace_directive_on_list():
    patch = {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "z"}]}}
    out = apply_strategic_merge_patch(pod({"name": "a", "image": "x"}, {"name": "b", "image": "y"}), patch, PODS)
    assert out["spec"]["containers"] == [{"name": "only", "image": "z"}]


def test_patch_replace_directive_on_map():
    out = apply_strategic_merge_patch(pod({"name": "a", "image": "x"}),
                                      {"metadata": {"labels": {"$patch": "replace", "tier": "fe"}}}, PODS)
    assert out["metadata"]["labels"] == {"tier": "fe"}


def test_patch_delete_directive_on_map():
    original = pod({"name": "a", "image": "x"}, securityContext={"runAsUser": 1})
    out = apply_strategic_merge_patch(original, {"spec": {"securityContext": {"$patch": "delete"}}}, PODS)
    assert "securityContext" not in out["spec"]


def test_null_deletes_field_and_labels_merge():
    out = apply_strategic_merge_patch(pod({"name": "a", "image": "x"}),
                                      {"metadata": {"labels": {"app": None, "tier": "fe"}}}, PODS)
    assert out["metadata"]["labels"] == {"tier": "fe"}


def test_list_without_merge_key_is_replaced():
    original = pod({"name": "a", "image": "x", "args": ["1", "2"]}, tolerations=[{"key": "a", "operator": "Exists"}])
    out = apply_strategic_merge_patch(original, {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}],
                                                          "containers": [{"name": "a", "args": ["3"]}]}}, PODS)
    assert out["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]
    assert out["spec"]["containers"][0]["args"] == ["3"]


def test_nested_lists_merge_by_their_own_keys():
    original = pod({"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}],
                    "ports": [{"containerPort": 80, "name": "http"}],
                    "volumeMounts": [{"name": "v", "mountPath": "/a"}]})
    patch = {"spec": {"containers": [{"name": "a", "env": [{"name": "B", "value": "2"}],
                                      "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                      "volumeMounts": [{"name": "w", "mountPath": "/b"}]}]}}
    c = apply_strategic_merge_patch(original, patch, PODS)["spec"]["containers"][0]
    assert c["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert c["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}]
    assert [m["mountPath"] for m in c["volumeMounts"]] == ["/a", "/b"]


def test_set_element_order():
    original = pod({"name": "a", "image": "x"}, {"name": "b", "image": "y"})
    patch = {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                      "containers": [{"name": "a", "image": "x2"}]}}
    out = apply_strategic_merge_patch(original, patch, PODS)
    assert out["spec"]["containers"] == [{"name": "b", "image": "y"}, {"name": "a", "image": "x2"}]


def test_retain_keys_clears_other_strategy_fields():
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    out = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENTS)
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_finalizers_union_and_delete_from_primitive_list():
    original = {"metadata": {"name": "p", "finalizers": ["a", "b"]}, "spec": {"containers": []}}
    out = apply_strategic_merge_patch(original, {"metadata": {"finalizers": ["c", "a"]}}, PODS)
    assert out["metadata"]["finalizers"] == ["a", "b", "c"]
    out = apply_strategic_merge_patch(original, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
                                      PODS)
    assert out["metadata"]["finalizers"] == ["b"]


def test_directives_are_not_stored_on_new_elements():
    out = apply_strategic_merge_patch(pod(), {"spec": {"containers": [
        {"name": "n", "image": "i", "$setElementOrder/env": [{"name": "X"}], "env": [{"name": "X", "value": "1"}]}]}},
        PODS)
    assert out["spec"]["containers"] == [{"name": "n", "image": "i", "env": [{"name": "X", "value": "1"}]}]


def test_kubectl_apply_three_way_patch_shape():
    """What kubectl apply sends after a manifest drops a container and changes an image."""
    live = deployment()
    patch = {"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
             "spec": {"template": {"spec": {
                 "$setElementOrder/containers": [{"name": "web"}],
                 "containers": [{"image": "nginx:3", "name": "web"}, {"$patch": "delete", "name": "sidecar"}]}}}}
    out = apply_strategic_merge_patch(live, patch, DEPLOYMENTS)
    assert out["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:3", "ports": [{"containerPort": 80}]}]
    assert "kubectl.kubernetes.io/last-applied-configuration" in out["metadata"]["annotations"]


def test_missing_merge_key_is_an_error():
    with pytest.raises(PatchError, match="merge key 'name'"):
        apply_strategic_merge_patch(pod({"name": "a", "image": "x"}), {"spec": {"containers": [{"image": "y"}]}},
                                    PODS)


def test_unknown_directive_is_malformed():
    with pytest.raises(PatchError) as e:
        apply_strategic_merge_patch(pod(), {"spec": {"$patch": "explode"}}, PODS)
    assert e.value.malformed


def test_custom_resources_are_refused():
    rt = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, custom=True)
    with pytest.raises(PatchError, match="not supported"):
        apply_strategic_merge_patch({}, {}, rt)


def test_input_not_modified():
    original = pod({"name": "a", "image": "x"})
    apply_strategic_merge_patch(original, {"spec": {"containers": [{"name": "a", "image": "z"}]}}, PODS)
    assert original["spec"]["containers"][0]["image"] == "x"
