"""merge_patch produces the smallest RFC 7386 patch that turns the old object into the new one."""

from __future__ import annotations

import pytest
from client_fake_apiserver import FakeApiServer, apply_merge_patch

from client.patches import merge_patch, with_precondition
from client.resources import PODS

OLD = {"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
       "spec": {"containers": [{"name": "c", "image": "x:1"}], "nodeName": ""},
       "status": {"phase": "Pending", "conditions": []}}


def test_equal_objects_give_an_empty_patch() -> None:
    assert merge_patch(OLD, OLD) == {}


def test_changed_added_and_removed_keys() -> None:
    new = {**OLD, "metadata": {"name": "p", "labels": {"a": "9", "c": "3"}}}
    assert merge_patch(OLD, new) == {"metadata": {"labels": {"a": "9", "b": None, "c": "3"}}}


def test_lists_are_replaced_whole() -> None:
    new = {**OLD, "spec": {**OLD["spec"], "containers": [{"name": "c", "image": "x:2"}]}}
    assert merge_patch(OLD, new) == {"spec": {"containers": [{"name": "c", "image": "x:2"}]}}


def test_patch_shares_nothing_with_the_new_object() -> None:
    new = {**OLD, "status": {"phase": "Running", "conditions": [{"type": "Ready"}]}}
    patch = merge_patch(OLD, new)
    patch["status"]["conditions"][0]["type"] = "changed"
    assert new["status"]["conditions"][0]["type"] == "Ready"


def test_explicit_null_value_is_refused() -> None:
    with pytest.raises(ValueError, match="null"):
        merge_patch({"spec": {"x": 1}}, {"spec": {"x": None}})


@pytest.mark.parametrize("new", [
    {**OLD, "status": {"phase": "Running"}},
    {"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "containers": []}},
    {**OLD, "extra": {"deep": {"deeper": [1, 2]}}},
])
def test_applying_the_patch_to_old_gives_new(new: dict) -> None:
    assert apply_merge_patch(OLD, merge_patch(OLD, new)) == new


def test_precondition_is_added_to_metadata() -> None:
    assert with_precondition({"metadata": {"labels": {"a": "1"}}}, "42") == \
        {"metadata": {"labels": {"a": "1"}, "resourceVersion": "42"}}


async def test_patch_of_the_difference_keeps_a_concurrent_change() -> None:
    async with FakeApiServer() as fake, fake.client() as api:
        read = await api.create(PODS, {"metadata": {"name": "p", "labels": {"a": "1"}}}, "default")
        await api.patch(PODS, "p", {"metadata": {"annotations": {"someone": "else"}}}, "default")
        mine = {**read, "metadata": {**read["metadata"], "labels": {"a": "2"}}}
        result = await api.patch(PODS, "p", merge_patch(read, mine), "default")
        assert result["metadata"]["labels"] == {"a": "2"}
        assert result["metadata"]["annotations"] == {"someone": "else"}
