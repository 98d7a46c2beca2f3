"""Requests are plain data: the URL, query and body each verb produces, checked without a server."""

from __future__ import annotations

import pytest

from client.request import (
    DeleteOptions,
    ListOptions,
    PatchType,
    PropagationPolicy,
    create_request,
    delete_collection_request,
    delete_request,
    get_request,
    list_request,
    patch_request,
    resource_path,
    update_request,
    watch_request,
)
from client.resources import DEPLOYMENTS, NODES, PODS, Resource, for_object

WIDGETS = Resource("example.com", "v1alpha1", "widgets", "Widget")


def test_core_namespaced_object_path() -> None:
    assert resource_path(PODS, "default", "web-0") == "/api/v1/namespaces/default/pods/web-0"


def test_group_resource_path_uses_apis_prefix() -> None:
    assert resource_path(DEPLOYMENTS, "prod") == "/apis/apps/v1/namespaces/prod/deployments"


def test_namespaced_collection_without_namespace_spans_all_namespaces() -> None:
    assert resource_path(PODS) == "/api/v1/pods"


def test_cluster_scoped_resource_ignores_namespace() -> None:
    assert resource_path(NODES, "default", "n1") == "/api/v1/nodes/n1"


def test_subresource_path() -> None:
    assert resource_path(PODS, "ns", "p", "status") == "/api/v1/namespaces/ns/pods/p/status"


def test_custom_resource_path() -> None:
    assert resource_path(WIDGETS, "a", "w") == "/apis/example.com/v1alpha1/namespaces/a/widgets/w"


def test_names_are_percent_encoded() -> None:
    assert resource_path(NODES, name="a/b") == "/api/v1/nodes/a%2Fb"


def test_get_of_namespaced_object_requires_namespace() -> None:
    with pytest.raises(ValueError, match="namespaced"):
        get_request(PODS, "p")


def test_list_query_carries_selectors_paging_and_resource_version() -> None:
    req = list_request(PODS, "ns", ListOptions(label_selector="app in (a,b)", field_selector="spec.nodeName=n1",
                                               limit=50, continue_token="tok", resource_version="0"))
    assert req.method == "GET"
    assert dict(req.params) == {"labelSelector": "app in (a,b)", "fieldSelector": "spec.nodeName=n1",
                                "limit": "50", "continue": "tok", "resourceVersion": "0"}
    assert req.url("http://h:1/") == ("http://h:1/api/v1/namespaces/ns/pods?labelSelector=app%20in%20%28a%2Cb%29"
                                      "&fieldSelector=spec.nodeName%3Dn1&limit=50&continue=tok&resourceVersion=0")


def test_watch_request_sets_watch_and_bookmarks() -> None:
    req = watch_request(PODS, None, ListOptions(resource_version="42", allow_watch_bookmarks=True,
                                                timeout_seconds=300))
    assert req.watch
    assert dict(req.params) == {"watch": "true", "resourceVersion": "42", "allowWatchBookmarks": "true",
                                "timeoutSeconds": "300"}


def test_create_takes_namespace_from_the_object_and_is_not_idempotent() -> None:
    req = create_request(PODS, {"metadata": {"name": "p", "namespace": "ns"}})
    assert (req.method, req.path, req.idempotent) == ("POST", "/api/v1/namespaces/ns/pods", False)


def test_create_subresource_posts_to_the_named_object() -> None:
    binding = {"metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}}
    req = create_request(PODS, binding, "ns", subresource_of="p", subresource="binding")
    assert req.path == "/api/v1/namespaces/ns/pods/p/binding"


def test_update_with_resource_version_is_idempotent() -> None:
    conditional = update_request(PODS, {"metadata": {"name": "p", "namespace": "n", "resourceVersion": "7"}})
    blind = update_request(PODS, {"metadata": {"name": "p", "namespace": "n"}})
    assert conditional.idempotent and not blind.idempotent
    assert conditional.path == "/api/v1/namespaces/n/pods/p"


def test_update_status_targets_status_subresource() -> None:
    req = update_request(NODES, {"metadata": {"name": "n1"}}, subresource="status")
    assert (req.method, req.path) == ("PUT", "/api/v1/nodes/n1/status")


def test_update_needs_a_name() -> None:
    with pytest.raises(ValueError, match="metadata.name"):
        update_request(NODES, {"metadata": {}})


@pytest.mark.parametrize("patch_type, content_type", [
    (PatchType.MERGE, "application/merge-patch+json"),
    (PatchType.STRATEGIC, "application/strategic-merge-patch+json"),
    (PatchType.JSON, "application/json-patch+json"),
])
def test_patch_content_type_follows_patch_type(patch_type: PatchType, content_type: str) -> None:
    body = [{"op": "add", "path": "/x", "value": 1}] if patch_type is PatchType.JSON else {"x": 1}
    req = patch_request(PODS, "p", body, "ns", patch_type=patch_type)
    assert (req.method, req.content_type, req.body) == ("PATCH", content_type, body)


def test_json_patch_must_be_a_list() -> None:
    with pytest.raises(ValueError, match="list of operations"):
        patch_request(PODS, "p", {"x": 1}, "ns", patch_type=PatchType.JSON)


def test_delete_without_options_sends_no_body() -> None:
    assert delete_request(PODS, "p", "ns").body is None


def test_delete_options_body() -> None:
    req = delete_request(PODS, "p", "ns", DeleteOptions(propagation_policy=PropagationPolicy.FOREGROUND,
                                                        grace_period_seconds=0, preconditions_uid="u1",
                                                        preconditions_resource_version="9"))
    assert req.body == {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground",
                        "gracePeriodSeconds": 0, "preconditions": {"uid": "u1", "resourceVersion": "9"}}


def test_delete_collection_carries_selector_query() -> None:
    req = delete_collection_request(PODS, "ns", ListOptions(label_selector="app=web"))
    assert (req.method, req.path, dict(req.params)) == ("DELETE", "/api/v1/namespaces/ns/pods",
                                                        {"labelSelector": "app=web"})


def test_dry_run_adds_query_parameter() -> None:
    req = create_request(PODS, {"metadata": {"name": "p"}}, "ns", dry_run=True)
    assert ("dryRun", "All") in req.params


def test_resource_for_object_comes_from_api_version_and_kind() -> None:
    assert for_object({"apiVersion": "apps/v1", "kind": "Deployment"}) is DEPLOYMENTS
    with pytest.raises(KeyError, match="Widget"):
        for_object({"apiVersion": "example.com/v1", "kind": "Widget"})
