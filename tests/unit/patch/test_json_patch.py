"""JSON patch follows RFC 6902; failures raise PatchError and leave the document untouched."""

import pytest

from apiserver.patch import PatchError, apply_json_patch


def test_add_object_member():
    assert apply_json_patch({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}]) == \
        {"foo": "bar", "baz": "qux"}


def test_add_array_element():
    assert apply_json_patch({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}]) == \
        {"foo": ["bar", "qux", "baz"]}


def test_add_to_end_with_dash():
    assert apply_json_patch({"foo": [1]}, [{"op": "add", "path": "/foo/-", "value": 2}]) == {"foo": [1, 2]}


def test_remove_member_and_element():
    assert apply_json_patch({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}]) == {"foo": "bar"}
    assert apply_json_patch({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}]) == \
        {"foo": ["bar", "baz"]}


def test_replace():
    assert apply_json_patch({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}]) == \
        {"baz": "boo", "foo": "bar"}


def test_move_member_and_element():
    doc = {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}
    assert apply_json_patch(doc, [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]) == \
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}
    assert apply_json_patch({"foo": ["all", "grass", "cows", "eat"]},
                            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}]) == \
        {"foo": ["all", "cows", "eat", "grass"]}


def test_copy():
    assert apply_json_patch({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}]) == \
        {"a": {"b": 1}, "c": {"b": 1}}


def test_test_success_and_failure():
    doc = {"baz": "qux", "foo": ["a", 2, "c"]}
    assert apply_json_patch(doc, [{"op": "test", "path": "/baz", "value": "qux"},
                                  {"op": "test", "path": "/foo/1", "value": 2}]) == doc
    with pytest.raises(PatchError, match="test failed"):
        apply_json_patch({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}])


def test_escaped_pointer_tokens():
    doc = {"/": 9, "~1": 10, "metadata": {"labels": {"app.kubernetes.io/name": "x"}}}
    out = apply_json_patch(doc, [{"op": "replace", "path": "/~01", "value": 11},
                                 {"op": "remove", "path": "/metadata/labels/app.kubernetes.io~1name"}])
    assert out == {"/": 9, "~1": 11, "metadata": {"labels": {}}}


def test_add_to_nonexistent_parent_fails():
    with pytest.raises(PatchError, match="does not exist"):
        apply_json_patch({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}])


def test_remove_missing_fails():
    with pytest.raises(PatchError):
        apply_json_patch({"a": 1}, [{"op": "remove", "path": "/b"}])


def test_out_of_bounds_index_fails():
    with pytest.raises(PatchError, match="out of bounds"):
        apply_json_patch({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 2}])


def test_failure_leaves_original_untouched_and_is_atomic():
    doc = {"a": 1}
    with pytest.raises(PatchError):
        apply_json_patch(doc, [{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/zzz"}])
    assert doc == {"a": 1}


@pytest.mark.parametrize("ops", [
    {"op": "add"}, [{"op": "frobnicate", "path": "/a"}], [{"op": "add", "path": "/a"}], ["x"],
    [{"op": "add", "path": "a", "value": 1}],
])
def test_malformed_patches(ops):
    with pytest.raises(PatchError) as e:
        apply_json_patch({}, ops)
    assert e.value.malformed


def test_move_into_own_child_fails():
    with pytest.raises(PatchError):
        apply_json_patch({"a": {"b": {}}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}])


def test_json_equality_distinguishes_bool_from_number():
    with pytest.raises(PatchError):
        apply_json_patch({"a": True}, [{"op": "test", "path": "/a", "value": 1}])
    assert apply_json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}]) == {"a": 1}


def test_rfc6902_a10_adding_a_nested_member_object():
    assert apply_json_patch({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}]) == \
        {"foo": "bar", "child": {"grandchild": {}}}


def test_rfc6902_a11_unrecognized_members_are_ignored():
    assert apply_json_patch({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]) == \
        {"foo": "bar", "baz": "qux"}


def test_rfc6902_a15_string_and_number_differ():
    with pytest.raises(PatchError):
        apply_json_patch({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}])


def test_rfc6902_a16_adding_an_array_value():
    assert apply_json_patch({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]) == \
        {"foo": ["bar", ["abc", "def"]]}


def test_replace_whole_document():
    assert apply_json_patch({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]) == {"b": 2}
