"""The informer cache keeps its secondary indexes exactly in step with its contents."""

from __future__ import annotations

import pytest

from client.cache import (
    NAMESPACE_INDEX,
    NODE_NAME_INDEX,
    OWNER_UID_INDEX,
    Indexer,
    by_node_name,
    by_owner_uid,
)


def pod(name: str, ns: str = "default", node: str = "", owner: str = "", rv: str = "1") -> dict:
    meta: dict = {"name": name, "namespace": ns, "resourceVersion": rv}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "kind": "ReplicaSet", "name": "rs", "controller": True}]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}}


def make() -> Indexer:
    return Indexer({NODE_NAME_INDEX: by_node_name, OWNER_UID_INDEX: by_owner_uid})


def test_get_by_key_and_len() -> None:
    c = make()
    c.add(pod("a"))
    assert c.get("default/a")["metadata"]["name"] == "a"
    assert len(c) == 1 and "default/a" in c


def test_namespace_index_is_always_present() -> None:
    c = make()
    c.add(pod("a", "x"))
    c.add(pod("b", "y"))
    assert [p["metadata"]["name"] for p in c.list("x")] == ["a"]
    assert NAMESPACE_INDEX in c.index_names()


def test_custom_index_finds_pods_by_node() -> None:
    c = make()
    c.add(pod("a", node="n1"))
    c.add(pod("b", node="n2"))
    c.add(pod("c", node="n1"))
    assert c.index_keys(NODE_NAME_INDEX, "n1") == ["default/a", "default/c"]
    assert c.index_values(NODE_NAME_INDEX) == ["n1", "n2"]


def test_update_moves_object_between_index_values() -> None:
    c = make()
    c.add(pod("a"))
    assert c.index_keys(NODE_NAME_INDEX, "") == ["default/a"]
    old = c.update(pod("a", node="n1", rv="2"))
    assert old is not None and old["metadata"]["resourceVersion"] == "1"
    assert c.index_keys(NODE_NAME_INDEX, "") == []
    assert c.index_keys(NODE_NAME_INDEX, "n1") == ["default/a"]


def test_delete_removes_from_every_index() -> None:
    c = make()
    c.add(pod("a", node="n1", owner="u1"))
    assert c.delete("default/a") is not None
    assert c.by_index(NODE_NAME_INDEX, "n1") == [] and c.by_index(OWNER_UID_INDEX, "u1") == []
    assert c.index_values(OWNER_UID_INDEX) == [] and len(c) == 0
    assert c.delete("default/a") is None


def test_replace_rebuilds_indexes() -> None:
    c = make()
    c.add(pod("a", node="n1"))
    c.replace([pod("b", node="n2")])
    assert c.keys() == ["default/b"]
    assert c.index_values(NODE_NAME_INDEX) == ["n2"]


def test_owner_index() -> None:
    c = make()
    c.add(pod("a", owner="u1"))
    c.add(pod("b", owner="u1"))
    c.add(pod("c", owner="u2"))
    assert [p["metadata"]["name"] for p in c.by_index(OWNER_UID_INDEX, "u1")] == ["a", "b"]


def test_added_indexer_files_existing_objects() -> None:
    c = Indexer()
    c.add(pod("a", node="n1"))
    c.add_indexer("node", by_node_name)
    assert c.index_keys("node", "n1") == ["default/a"]
    with pytest.raises(ValueError):
        c.add_indexer("node", by_node_name)


def test_unknown_index_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no index named"):
        Indexer().by_index("nope", "x")


def test_list_filters_by_namespace_and_label_selector() -> None:
    from client.labels import parse_selector

    c = make()
    for name, ns, app in (("a", "x", "web"), ("b", "x", "db"), ("c", "y", "web")):
        obj = pod(name, ns)
        obj["metadata"]["labels"] = {"app": app}
        c.add(obj)
    assert [p["metadata"]["name"] for p in c.list("x", parse_selector("app=web"))] == ["a"]
    assert sorted(p["metadata"]["name"] for p in c.list(selector=parse_selector("app=web"))) == ["a", "c"]
