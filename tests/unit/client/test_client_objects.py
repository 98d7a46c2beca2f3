"""Keys, owner references and copies: the object facts every controller leans on."""

from __future__ import annotations

import pytest

from client.objects import (
    controller_of,
    deep_copy,
    is_owned_by,
    object_key,
    owner_reference,
    set_controller_reference,
    split_key,
)
from client.resources import REPLICASETS

RS = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-abc", "namespace": "prod",
                                                                  "uid": "uid-rs"}}


def test_namespaced_key_is_namespace_slash_name() -> None:
    assert object_key({"metadata": {"name": "p", "namespace": "ns"}}) == "ns/p"


def test_cluster_scoped_key_is_the_name() -> None:
    assert object_key({"metadata": {"name": "node-1"}}) == "node-1"


@pytest.mark.parametrize("key, parts", [("ns/p", ("ns", "p")), ("node-1", ("", "node-1"))])
def test_split_key_inverts_object_key(key: str, parts: tuple[str, str]) -> None:
    assert split_key(key) == parts


@pytest.mark.parametrize("bad", ["", "a/b/c", "/p", "ns/"])
def test_split_key_rejects_malformed_keys(bad: str) -> None:
    with pytest.raises(ValueError):
        split_key(bad)


def test_owner_reference_from_object() -> None:
    assert owner_reference(RS) == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc",
                                   "uid": "uid-rs", "controller": True, "blockOwnerDeletion": True}


def test_owner_reference_takes_kind_from_resource_when_object_lacks_it() -> None:
    listed = {"metadata": RS["metadata"]}
    ref = owner_reference(listed, resource=REPLICASETS, controller=False, block_owner_deletion=False)
    assert (ref["apiVersion"], ref["kind"], ref["controller"]) == ("apps/v1", "ReplicaSet", False)


def test_owner_reference_needs_uid() -> None:
    with pytest.raises(ValueError, match="uid"):
        owner_reference({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}})


def test_controller_of_and_is_owned_by() -> None:
    pod = {"metadata": {"name": "p", "ownerReferences": [
        {"uid": "other", "kind": "Thing", "name": "t"}, owner_reference(RS)]}}
    assert controller_of(pod)["uid"] == "uid-rs"
    assert is_owned_by(pod, RS) and is_owned_by(pod, "other")
    assert not is_owned_by(pod, "other", controller_only=True)
    assert not is_owned_by({"metadata": {}}, RS)


def test_set_controller_reference_refuses_to_steal() -> None:
    pod: dict = {"metadata": {"name": "p"}}
    set_controller_reference(pod, RS)
    set_controller_reference(pod, RS)  # idempotent
    assert len(pod["metadata"]["ownerReferences"]) == 1
    rival = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "x", "uid": "uid-x"}}
    with pytest.raises(ValueError, match="already controlled"):
        set_controller_reference(pod, rival)


def test_deep_copy_shares_nothing() -> None:
    original = {"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [{"name": "c"}]}}
    copied = deep_copy(original)
    copied["metadata"]["labels"]["a"] = "2"
    copied["spec"]["containers"][0]["name"] = "d"
    assert original == {"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [{"name": "c"}]}}
