"""The JSONPath subset used by CRD printer columns."""

import pytest

from apiserver.kinds.jsonpath import JSONPathError, find

DOC = {"spec": {"replicas": 2, "items": [{"name": "a"}, {"name": "b"}]},
       "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]},
       "metadata": {"labels": {"app.kubernetes.io/name": "w"}}}


def test_fields_and_indices():
    assert find(DOC, ".spec.replicas") == [2]
    assert find(DOC, "{.spec.items[1].name}") == ["b"]
    assert find(DOC, ".spec.items[-1].name") == ["b"]
    assert find(DOC, ".spec.items[*].name") == ["a", "b"]


def test_filters_and_quoted_keys():
    assert find(DOC, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert find(DOC, ".status.conditions[?(@.type!='Ready')].type") == ["Synced"]
    assert find(DOC, ".metadata.labels['app.kubernetes.io/name']") == ["w"]


def test_missing_paths_find_nothing():
    assert find(DOC, ".spec.nothing.here") == []


def test_unsupported_syntax():
    with pytest.raises(JSONPathError):
        find(DOC, ".spec..replicas[")
