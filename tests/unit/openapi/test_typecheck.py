"""Wrong JSON types are found and worded as a typed decoder words them."""

from apiserver.kinds import registry
from apiserver.kinds.registry import ResourceType
from apiserver.openapi.typecheck import decode_error_message, decode_errors

PODS = registry.lookup("", "v1", "pods")
DEPLOYMENTS = registry.lookup("apps", "v1", "deployments")


def pod(**container):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "x", **container}]}}


def test_well_typed_objects_decode():
    assert decode_errors(PODS, pod(ports=[{"containerPort": 80}], resources={"limits": {"cpu": 1}},
                                   command=["sh"], stdin=True)) == []


def test_boolean_in_string_list():
    assert decode_errors(PODS, pod(command=[True])) == [
        "json: cannot unmarshal bool into Go struct field Container.spec.containers.command of type string"]


def test_string_for_integer():
    d = {"spec": {"replicas": "3"}}
    assert decode_error_message(DEPLOYMENTS, d) == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go '
        "struct field DeploymentSpec.spec.replicas of type int32")


def test_fractional_number_for_integer():
    errs = decode_errors(PODS, pod(ports=[{"containerPort": 80.5}]))
    assert errs == ["json: cannot unmarshal number 80.5 into Go struct field ContainerPort.spec.containers.ports"
                    ".containerPort of type int32"]


def test_label_values_must_be_strings():
    obj = pod()
    obj["metadata"]["labels"] = {"a": 1}
    assert decode_errors(PODS, obj) == [
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"]


def test_object_expected():
    assert decode_errors(PODS, {"spec": "nope"}) == [
        "json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec"]
    assert decode_errors(PODS, {"spec": {"containers": {}}}) == [
        "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container"]


def test_int_or_string_and_quantity_accept_both():
    probe = {"httpGet": {"port": "http"}}
    assert decode_errors(PODS, pod(livenessProbe=probe, resources={"requests": {"memory": "1Gi", "cpu": 0.5}})) == []
    assert decode_errors(PODS, pod(livenessProbe={"httpGet": {"port": True}})) != []


def test_nulls_and_unknown_fields_are_not_type_errors():
    assert decode_errors(PODS, pod(image=None, madeUp=5)) == []


def test_custom_resources_are_left_to_their_schema():
    rt = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, custom=True)
    assert decode_errors(rt, {"spec": 5}) == []
