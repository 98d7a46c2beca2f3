"""Request paths to (group, version, namespace, resource, name, subresource, verb)."""

from __future__ import annotations

import pytest

from apiserver.errors import MethodNotAllowed
from apiserver.paths import parse_resource_path


def test_namespaced_object_with_subresource() -> None:
    r = parse_resource_path("PUT", "/apis/apps/v1/namespaces/ns/deployments/web/scale", False)
    assert (r.group, r.version, r.namespace, r.plural, r.name, r.subresource, r.verb) == \
        ("apps", "v1", "ns", "deployments", "web", "scale", "update")


def test_core_list_across_namespaces_and_watch_forms() -> None:
    assert parse_resource_path("GET", "/api/v1/pods", False).verb == "list"
    assert parse_resource_path("GET", "/api/v1/pods", True).verb == "watch"
    legacy = parse_resource_path("GET", "/api/v1/watch/namespaces/ns/pods/p", False)
    assert legacy.legacy_watch and legacy.verb == "watch" and legacy.name == "p"


def test_a_namespace_and_its_subresources_are_the_namespace_resource() -> None:
    r = parse_resource_path("GET", "/api/v1/namespaces/ns", False)
    assert (r.plural, r.name, r.namespace) == ("namespaces", "ns", "")
    r = parse_resource_path("PUT", "/api/v1/namespaces/ns/finalize", False)
    assert (r.plural, r.name, r.subresource) == ("namespaces", "ns", "finalize")
    r = parse_resource_path("GET", "/api/v1/namespaces/ns/pods", False)
    assert (r.plural, r.namespace) == ("pods", "ns")


def test_discovery_paths_are_not_resource_paths() -> None:
    assert parse_resource_path("GET", "/api/v1", False) is None
    assert parse_resource_path("GET", "/apis/apps/v1", False) is None


@pytest.mark.parametrize("method,path", [("POST", "/api/v1/namespaces/ns/pods/p"), ("PUT", "/api/v1/pods"),
                                         ("PATCH", "/api/v1/namespaces/ns/pods")])
def test_methods_that_make_no_sense_for_the_path_are_405(method: str, path: str) -> None:
    with pytest.raises(MethodNotAllowed):
        parse_resource_path(method, path, False)


def test_delete_of_a_collection_is_deletecollection() -> None:
    assert parse_resource_path("DELETE", "/api/v1/namespaces/ns/pods", False).verb == "deletecollection"
