"""Field selectors: each kind's own field labels work, others are refused with upstream's words."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def names(reply) -> list[str]:
    assert reply.status == 200, reply.body
    return sorted(i["metadata"]["name"] for i in reply.body["items"])


def test_pods_select_on_node_name_and_phase(api) -> None:
    api.request("POST", PODS, pod("fs-bound", nodeName="node-a"))
    api.request("POST", PODS, pod("fs-unbound"))
    assert "fs-bound" in names(api.request("GET", f"{PODS}?fieldSelector=spec.nodeName%3Dnode-a"))
    unscheduled = names(api.request("GET", f"{PODS}?fieldSelector=" + quote("spec.nodeName=,status.phase=Pending")))
    assert "fs-unbound" in unscheduled and "fs-bound" not in unscheduled


def test_the_old_spec_host_label_selects_on_node_name(api) -> None:
    api.request("POST", PODS, pod("fs-host", nodeName="node-h"))
    assert names(api.request("GET", f"{PODS}?fieldSelector=spec.host%3Dnode-h")) == ["fs-host"]


def test_an_unsupported_pod_field_is_400(api) -> None:
    r = api.request("GET", f"{PODS}?fieldSelector=spec.containers%3Dx")
    assert r.status == 400 and r.body["reason"] == "BadRequest"
    assert r.body["message"] == "field label not supported: spec.containers"


def test_kinds_without_their_own_labels_know_only_name_and_namespace(api) -> None:
    r = api.request("GET", "/api/v1/configmaps?fieldSelector=data.k%3Dv")
    assert r.status == 400
    assert r.body["message"] == '"data.k" is not a known field selector: only "metadata.name", "metadata.namespace"'
    assert api.request("GET", "/api/v1/configmaps?fieldSelector=metadata.namespace%3Ddefault").status == 200


def test_watches_refuse_unsupported_fields_too(api) -> None:
    r = api.request("GET", "/apis/apps/v1/deployments?watch=true&fieldSelector=spec.replicas%3D1")
    assert r.status == 400, r.body


def test_an_absent_boolean_field_reads_as_false(api) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "fs-node"}}
    assert api.request("POST", "/api/v1/nodes", node).status == 201
    assert "fs-node" in names(api.request("GET", "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse"))
    assert "fs-node" not in names(api.request("GET", "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue"))


def test_secrets_select_on_type(api) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "fs-tls"}, "type": "Opaque"}
    api.request("POST", "/api/v1/namespaces/default/secrets", secret)
    assert "fs-tls" in names(api.request("GET", "/api/v1/namespaces/default/secrets?fieldSelector=type%3DOpaque"))


def test_custom_resources_select_on_their_crds_selectable_fields(api) -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "colour": {"type": "string"}, "size": {"type": "integer"}}}}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "paints.selection.example.com"},
           "spec": {"group": "selection.example.com", "scope": "Namespaced",
                    "names": {"plural": "paints", "singular": "paint", "kind": "Paint"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "selectableFields": [{"jsonPath": ".spec.colour"}],
                                  "schema": {"openAPIV3Schema": schema}}]}}
    assert api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).status == 201
    paints = "/apis/selection.example.com/v1/namespaces/default/paints"
    for name, colour in (("red-one", "red"), ("blue-one", "blue")):
        body = {"apiVersion": "selection.example.com/v1", "kind": "Paint", "metadata": {"name": name},
                "spec": {"colour": colour, "size": 1}}
        assert api.request("POST", paints, body).status == 201
    assert names(api.request("GET", f"{paints}?fieldSelector=spec.colour%3Dred")) == ["red-one"]
    refused = api.request("GET", f"{paints}?fieldSelector=spec.size%3D1")
    assert refused.status == 400 and '"spec.size" is not a known field selector' in refused.body["message"]
