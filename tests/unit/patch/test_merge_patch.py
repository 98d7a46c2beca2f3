"""JSON merge patch follows RFC 7386, including every example of its appendix A."""

import pytest

from apiserver.patch import apply_merge_patch, create_merge_patch

RFC_7386_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("target,patch,result", RFC_7386_EXAMPLES)
def test_rfc7386_examples(target, patch, result):
    assert apply_merge_patch(target, patch) == result


def test_original_is_not_modified():
    original = {"a": {"b": 1}}
    apply_merge_patch(original, {"a": {"b": 2}})
    assert original == {"a": {"b": 1}}


def test_scale_like_patch():
    deploy = {"spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c"}]}}}}
    out = apply_merge_patch(deploy, {"spec": {"replicas": 3}})
    assert out["spec"] == {"replicas": 3, "template": {"spec": {"containers": [{"name": "c"}]}}}


def test_create_merge_patch_round_trips():
    a = {"x": 1, "y": {"z": 2, "w": 3}, "gone": True}
    b = {"x": 2, "y": {"z": 2}, "new": [1]}
    patch = create_merge_patch(a, b)
    assert patch == {"gone": None, "x": 2, "y": {"w": None}, "new": [1]}
    assert apply_merge_patch(a, patch) == b
