"""Malformed objects are refused with causes, never with an exception (which would be a 500)."""

import copy
from datetime import UTC, datetime

import pytest

from apiserver.kinds import registry
from apiserver.kinds.defaults import apply_defaults
from apiserver.kinds.strategy import prepare_for_create, prepare_for_update
from apiserver.kinds.tables import table_row
from apiserver.kinds.validation import validate, validate_status_update
from apiserver.patch import PatchError, apply_strategic_merge_patch

JUNK = [None, 0, True, "x", [], [1], {}, {"a": 1}, [None], [{"a": None}], [[1]]]
FIELDS = ["spec", "status", "data", "subsets", "rules", "roleRef", "subjects", "involvedObject", "endpoints",
          "ports", "metadata"]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("rt", registry.builtin_types(), ids=lambda t: f"{t.kind}.{t.group or 'core'}")
def test_every_step_survives_junk_in_top_level_fields(rt):
    for field in FIELDS:
        for junk in JUNK:
            old = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": "x", "namespace": "d"}}
            obj = copy.deepcopy(old)
            obj[field] = copy.deepcopy(junk)
            apply_defaults(rt, copy.deepcopy(obj))
            prepare_for_create(rt, copy.deepcopy(obj))
            prepare_for_update(rt, copy.deepcopy(obj), copy.deepcopy(old))
            validate(rt, copy.deepcopy(obj))
            validate(rt, copy.deepcopy(obj), old)
            validate_status_update(rt, copy.deepcopy(obj), old)
            table_row(rt, copy.deepcopy(obj), NOW)
            try:
                apply_strategic_merge_patch(old, copy.deepcopy(obj), rt)
            except PatchError:
                pass


def test_wrong_types_come_back_as_causes():
    rt = registry.lookup("apps", "v1", "deployments")
    obj = {"metadata": {"name": "d", "namespace": "x"}, "spec": {"replicas": "three", "selector": {},
                                                                  "template": {}}}
    apply_defaults(rt, obj)
    assert "strategy" not in obj["spec"]  # ill-typed objects are not defaulted
    [cause] = validate(rt, obj)
    assert (cause.reason, cause.field) == ("FieldValueTypeInvalid", "spec.replicas")
    assert cause.message == ("json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of "
                             "type int32")


def test_label_selector_with_non_string_values_is_invalid_not_a_crash():
    rt = registry.lookup("apps", "v1", "deployments")
    old = {"metadata": {"name": "d", "namespace": "x"},
           "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c",
                                                                                             "image": "i"}]}}}}
    new = copy.deepcopy(old)
    new["spec"]["selector"]["matchLabels"]["a"] = None
    assert validate(rt, new, old)
