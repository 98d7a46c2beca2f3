"""Accept negotiation, body decoding, continue tokens and Status errors."""

from __future__ import annotations

import pytest

from apiserver import codec, errors
from apiserver.handlers.read import decode_continue, encode_continue


def test_kubectl_get_accept_header_negotiates_a_table() -> None:
    r = codec.negotiate("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
                        "g=meta.k8s.io,application/json")
    assert (r.as_, r.version, r.yaml) == ("Table", "v1", False)


def test_protobuf_first_falls_back_to_json() -> None:
    assert codec.negotiate("application/vnd.kubernetes.protobuf, application/json") == codec.Rendering()


def test_only_unservable_types_is_406() -> None:
    with pytest.raises(errors.NotAcceptable):
        codec.negotiate("application/vnd.kubernetes.protobuf")


def test_duplicate_json_fields_are_refused() -> None:
    with pytest.raises(errors.BadRequest, match='duplicate field "a"'):
        codec.decode_object(b'{"a": 1, "a": 2}', codec.JSON)


def test_unknown_body_types_are_415() -> None:
    with pytest.raises(errors.UnsupportedMediaType):
        codec.decode_object(b"x", "text/plain")


def test_continue_tokens_round_trip_and_reject_garbage() -> None:
    assert decode_continue(encode_continue(42, "ns/name")) == (42, "ns/name")
    with pytest.raises(errors.BadRequest):
        decode_continue("not-a-token")
    with pytest.raises(errors.BadRequest):
        decode_continue(encode_continue(42, "../escape"))


def test_invalid_status_names_each_cause() -> None:
    err = errors.invalid("Pod", "", "p", [errors.StatusCause("FieldValueRequired", "spec.containers",
                                                             "Required value")])
    status = err.status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["message"] == 'Pod "p" is invalid: spec.containers: Required value'
    assert status["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value",
                                            "field": "spec.containers"}]


def test_resource_version_is_spliced_into_stored_json_exactly_as_decoding_would() -> None:
    import json

    from apiserver.object_store import encode, with_resource_version

    obj = {"spec": {"template": {"metadata": {"name": "inner"}}}, "kind": "Pod", "apiVersion": "v1",
           "metadata": {"name": "p", "resourceVersion": "5"}}
    spliced = json.loads(with_resource_version(encode(obj), 77))
    assert spliced["metadata"] == {"name": "p", "resourceVersion": "77"}
    assert spliced["spec"] == obj["spec"]
    empty = json.loads(with_resource_version(encode({"apiVersion": "v1", "kind": "X", "metadata": {}}), 3))
    assert empty["metadata"] == {"resourceVersion": "3"}
    assert with_resource_version(b'{"spec":{"metadata":{}},"metadata":{}}', 1) is None
    assert with_resource_version(b'{"apiVersion":"v1","spec":{"a":1,"metadata":{}},"metadata":{}}', 1) is None
