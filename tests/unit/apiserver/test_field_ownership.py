"""Field ownership bookkeeping: the fast diff agrees with comparing whole field sets."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.kinds.registry import lookup
from apiserver.patch import record_update
from apiserver.patch.apply import root_shape
from apiserver.patch.fieldsets import changed_paths, field_values

POD_TYPE = lookup("", "v1", "pods")


def pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "ports": [{"containerPort": 80}], "env": [{"name": "A", "value": "1"}]}],
                     "securityContext": {}, "nodeSelector": {"disk": "ssd"}},
            "status": {"phase": "Pending"}}


def by_comparison(old: Any, new: Any) -> tuple[set, set]:
    shape = root_shape(POD_TYPE)
    before, after = field_values(old, shape), field_values(new, shape)
    return ({p for p, v in after.items() if p not in before or before[p] != v}, set(before) - set(after))


def _image(o: dict) -> None:
    o["spec"]["containers"][0]["image"] = "nginx"


def _add_container(o: dict) -> None:
    o["spec"]["containers"].append({"name": "d", "image": "x"})


def _drop_container(o: dict) -> None:
    o["spec"]["containers"] = []


def _drop_labels(o: dict) -> None:
    del o["metadata"]["labels"]


def _finalizers(o: dict) -> None:
    o["metadata"]["finalizers"] = ["y"]


def _empty_security_context(o: dict) -> None:
    o["spec"]["securityContext"] = {"runAsUser": 1}


def _node_selector_scalar(o: dict) -> None:
    o["spec"]["nodeSelector"] = {}


def _port_protocol_default(o: dict) -> None:
    o["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"


def _env_removed(o: dict) -> None:
    del o["spec"]["containers"][0]["env"]


@pytest.mark.parametrize("change", [_image, _add_container, _drop_container, _drop_labels, _finalizers,
                                    _empty_security_context, _node_selector_scalar, _port_protocol_default,
                                    _env_removed])
def test_changed_paths_match_a_full_comparison(change) -> None:
    old = pod()
    new = copy.deepcopy(old)
    change(new)
    assert changed_paths(old, new, root_shape(POD_TYPE)) == by_comparison(old, new)


def test_an_unchanged_object_has_no_changed_paths() -> None:
    assert changed_paths(pod(), pod(), root_shape(POD_TYPE)) == (set(), set())


def test_an_update_takes_the_changed_field_from_its_previous_owner() -> None:
    old = pod()
    record_update(None, old, POD_TYPE, "creator", now="t1")
    new = copy.deepcopy(old)
    _image(new)
    record_update(old, new, POD_TYPE, "setter", now="t2")
    owners = {e["manager"]: e["fieldsV1"] for e in new["metadata"]["managedFields"]}
    container = '{"name":"c"}'
    assert owners["setter"] == {"f:spec": {"f:containers": {f"k:{container}": {".": {}, "f:image": {}}}}}
    assert "f:image" not in owners["creator"]["f:spec"]["f:containers"][f"k:{container}"]


def test_a_write_that_changes_nothing_keeps_managed_fields_as_they_were() -> None:
    old = pod()
    record_update(None, old, POD_TYPE, "creator", now="t1")
    new = copy.deepcopy(old)
    record_update(old, new, POD_TYPE, "other", now="t2")
    assert new["metadata"]["managedFields"] == old["metadata"]["managedFields"]
