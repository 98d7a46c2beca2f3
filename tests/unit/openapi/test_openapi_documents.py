"""The OpenAPI documents carry what kubectl reads: schemas by GVK, patch metadata, fieldValidation."""

import json

from apiserver.kinds import registry
from apiserver.kinds.registry import ResourceType
from apiserver.openapi import openapi_v2, openapi_v3_for_path, openapi_v3_group, openapi_v3_paths
from apiserver.openapi.documents import custom_definition_name
from apiserver.openapi.model import DEFINITIONS, lookup
from apiserver.openapi.types import definition_for


def schemas(group="", version="v1"):
    return openapi_v3_group(group, version)["components"]["schemas"]


def test_v3_index_lists_every_group_version_with_hash():
    index = openapi_v3_paths()["paths"]
    assert set(index) >= {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/autoscaling/v2",
                          "apis/rbac.authorization.k8s.io/v1", "apis/apiextensions.k8s.io/v1"}
    url = index["api/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/api/v1?hash=") and len(url.split("=")[1]) == 128


def test_group_document_is_openapi_3():
    doc = openapi_v3_group("apps", "v1")
    assert doc["openapi"].startswith("3.")
    json.dumps(doc)  # serializable
    assert openapi_v3_for_path("apis/apps/v1") is doc
    assert openapi_v3_group("nope.example.com", "v1") is None


def test_kinds_carry_group_version_kind():
    pod = schemas()["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    deploy = schemas("apps")["io.k8s.api.apps.v1.Deployment"]
    assert deploy["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]


def test_explain_fields_have_descriptions_and_refs():
    pod = schemas()["io.k8s.api.core.v1.Pod"]
    assert pod["description"]
    assert pod["properties"]["spec"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]
    container = schemas()["io.k8s.api.core.v1.Container"]
    assert "image" in container["properties"] and container["properties"]["image"]["description"]
    assert container["required"] == ["name"]


def test_patch_metadata_published():
    spec = schemas()["io.k8s.api.core.v1.PodSpec"]["properties"]
    assert spec["containers"]["x-kubernetes-patch-merge-key"] == "name"
    assert spec["containers"]["x-kubernetes-patch-strategy"] == "merge"
    assert spec["volumes"]["x-kubernetes-patch-strategy"] == "merge,retainKeys"
    ports = schemas()["io.k8s.api.core.v1.Container"]["properties"]["ports"]
    assert ports["x-kubernetes-patch-merge-key"] == "containerPort"
    assert ports["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]


def test_patch_operation_accepts_field_validation():
    paths = openapi_v3_group("", "v1")["paths"]
    patch = paths["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "kind": "Pod", "version": "v1"}
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in patch["parameters"] if p["name"] == "fieldValidation").items()
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]


def test_paths_for_cluster_scoped_and_namespaced():
    paths = openapi_v3_group("", "v1")["paths"]
    assert "/api/v1/nodes/{name}" in paths and "/api/v1/namespaces/{namespace}/nodes" not in paths
    assert "/api/v1/pods" in paths  # list across namespaces
    assert "/api/v1/namespaces/{namespace}/pods/{name}/status" in paths
    apps = openapi_v3_group("apps", "v1")["paths"]
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}" in apps


def test_every_ref_resolves():
    for group, version in registry.group_versions():
        doc = openapi_v3_group(group, version)
        text = json.dumps(doc)
        for ref in set(part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]):
            assert ref in doc["components"]["schemas"], (group, version, ref)


def test_every_served_builtin_has_a_definition_and_list():
    for t in registry.builtin_types():
        d = definition_for(t.group, t.version, t.kind)
        assert d is not None, t.kind
        assert d.name + "List" in DEFINITIONS


def test_model_refs_are_defined():
    for d in DEFINITIONS.values():
        for name, prop in d.properties.items():
            assert prop.ref is None or lookup(prop.ref) is not None, (d.name, name)


def test_v2_document_shape():
    doc = openapi_v2()
    assert doc["swagger"] == "2.0"
    pod = doc["definitions"]["io.k8s.api.core.v1.Pod"]
    assert pod["properties"]["spec"]["$ref"] == "#/definitions/io.k8s.api.core.v1.PodSpec"
    assert pod["x-kubernetes-group-version-kind"][0]["kind"] == "Pod"
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])
    assert "#/components/" not in json.dumps(doc)


def test_quantities_and_int_or_string_accept_either_type():
    s = schemas()
    assert s["io.k8s.apimachinery.pkg.api.resource.Quantity"]["oneOf"] == [{"type": "string"}, {"type": "number"}]
    assert s["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    v2 = openapi_v2()["definitions"]
    assert v2["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string"
    assert s["io.k8s.apimachinery.pkg.apis.meta.v1.Time"] == {
        "description": s["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["description"], "type": "string",
        "format": "date-time"}


def test_custom_resources_are_published_and_the_hash_changes():
    before = openapi_v3_paths()["paths"]
    rt = ResourceType("stable.example.com", "v1", "CronTab", "crontabs", "crontab", True)
    schema = {"type": "object", "properties": {"spec": {"type": "object", "description": "The tab.",
                                                        "properties": {"cronSpec": {"type": "string"}}}}}
    registry.register_custom(rt, schema)
    try:
        index = openapi_v3_paths()["paths"]
        assert "apis/stable.example.com/v1" in index and "apis/stable.example.com/v1" not in before
        doc = openapi_v3_group("stable.example.com", "v1")
        name = custom_definition_name(rt)
        assert name == "com.example.stable.v1.CronTab"
        crontab = doc["components"]["schemas"][name]
        assert crontab["x-kubernetes-group-version-kind"] == [
            {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]
        assert crontab["properties"]["spec"]["properties"]["cronSpec"] == {"type": "string"}
        assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
        assert "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}" in doc["paths"]
        assert name in openapi_v2()["definitions"]
    finally:
        registry.unregister_custom("stable.example.com", "v1", "crontabs")
    assert "apis/stable.example.com/v1" not in openapi_v3_paths()["paths"]
