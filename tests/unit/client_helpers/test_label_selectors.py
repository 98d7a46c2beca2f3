"""Label selector parsing and matching, as kubectl -l and ?labelSelector= use them."""

import pytest

from client.labels import (
    Operator,
    Selector,
    SelectorError,
    format_label_selector,
    parse_selector,
    selector_from_label_selector,
    selector_from_set,
)


def test_empty_selector_matches_everything():
    sel = parse_selector("")
    assert sel.empty()
    assert sel.matches({}) and sel.matches({"a": "b"})


def test_equals_requires_key_with_value():
    sel = parse_selector("app=web")
    assert sel.matches({"app": "web", "x": "y"})
    assert not sel.matches({"app": "db"})
    assert not sel.matches({})


def test_double_equals_is_equals():
    assert parse_selector("app==web").matches({"app": "web"})
    assert not parse_selector("app==web").matches({"app": "db"})


def test_not_equals_matches_missing_key():
    sel = parse_selector("app!=web")
    assert sel.matches({})
    assert sel.matches({"app": "db"})
    assert not sel.matches({"app": "web"})


def test_in_matches_any_listed_value():
    sel = parse_selector("env in (prod, staging)")
    assert sel.matches({"env": "prod"}) and sel.matches({"env": "staging"})
    assert not sel.matches({"env": "dev"}) and not sel.matches({})


def test_notin_matches_missing_key_and_other_values():
    sel = parse_selector("env notin (prod,staging)")
    assert sel.matches({}) and sel.matches({"env": "dev"})
    assert not sel.matches({"env": "prod"})


def test_exists_and_does_not_exist():
    assert parse_selector("app").matches({"app": ""})
    assert not parse_selector("app").matches({})
    assert parse_selector("!app").matches({"b": "c"})
    assert not parse_selector("!app").matches({"app": "x"})


def test_greater_and_less_than_compare_integers():
    assert parse_selector("gen>3").matches({"gen": "4"})
    assert not parse_selector("gen>3").matches({"gen": "3"})
    assert parse_selector("gen<3").matches({"gen": "2"})
    assert not parse_selector("gen<3").matches({"gen": "x"})
    assert not parse_selector("gen<3").matches({})


def test_comma_is_and():
    sel = parse_selector("app=web,tier!=db,!canary")
    assert sel.matches({"app": "web", "tier": "fe"})
    assert not sel.matches({"app": "web", "canary": "1"})


def test_empty_exact_value_selects_empty_label():
    sel = parse_selector("tier=")
    assert sel.matches({"tier": ""})
    assert not sel.matches({"tier": "x"})


def test_prefixed_keys_are_accepted():
    assert parse_selector("app.kubernetes.io/name=web").matches({"app.kubernetes.io/name": "web"})


def test_string_form_is_sorted_and_canonical():
    sel = parse_selector("z in (b, a), a!=x, !m, k")
    assert str(sel) == "a!=x,k,!m,z in (a,b)"
    assert parse_selector(str(sel)) == sel


@pytest.mark.parametrize("text", [
    "a=b,", ",a", "=b", "a in b", "a in (b", "!a=b", "a b", "a=b c", "a notin ()", "a in ()",
    "a/b/c=d", "-a=b", "a=-b", "gen>x", "a=(b)", "a=b=c", "a<",
])
def test_malformed_selectors_raise(text):
    with pytest.raises(SelectorError):
        parse_selector(text)


def test_error_names_the_bad_key():
    with pytest.raises(SelectorError, match="invalid label key 'Bad_Key_'"):
        parse_selector("Bad_Key_=x")


def test_label_selector_nil_matches_nothing_and_empty_everything():
    assert not selector_from_label_selector(None).matches({})
    assert selector_from_label_selector({}).matches({"a": "b"})


def test_label_selector_match_labels_and_expressions():
    sel = selector_from_label_selector({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "tier", "operator": "NotIn", "values": ["db"]},
            {"key": "team", "operator": "Exists"},
        ],
    })
    assert sel.matches({"app": "web", "env": "prod", "team": "a"})
    assert not sel.matches({"app": "web", "env": "prod", "team": "a", "canary": "y"})
    assert not sel.matches({"app": "web", "env": "prod"})
    assert not sel.matches({"app": "web", "env": "prod", "team": "a", "tier": "db"})


def test_label_selector_rejects_unknown_operator_and_empty_in():
    with pytest.raises(SelectorError, match="not a valid label selector operator"):
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})
    with pytest.raises(SelectorError, match="can't be empty"):
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})


def test_selector_from_set_and_format():
    assert selector_from_set({"b": "2", "a": "1"}).matches({"a": "1", "b": "2"})
    assert str(selector_from_set({"b": "2", "a": "1"})) == "a=1,b=2"
    assert format_label_selector({"matchLabels": {"app": "web"}}) == "app=web"
    assert format_label_selector({}) == "<none>"


def test_nothing_selector():
    assert not Selector.nothing().matches({"a": "b"})
    assert Operator.IN.value == "in"


def test_node_selector_terms_are_ored_and_requirements_anded():
    from client.labels import node_selector_matches
    ns = {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]},
                              {"key": "gpu", "operator": "Exists"}]},
        {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]},
    ]}
    assert node_selector_matches(ns, {"zone": "a", "gpu": "1"})
    assert not node_selector_matches(ns, {"zone": "a"})
    assert node_selector_matches(ns, {"cores": "16"})
    assert not node_selector_matches(ns, {"cores": "4"})


def test_node_selector_match_fields_and_empty_terms():
    from client.labels import node_selector_matches, node_selector_term_matches
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
    assert node_selector_term_matches(term, {}, "n1")
    assert not node_selector_term_matches(term, {}, "n2")
    assert not node_selector_term_matches({}, {"a": "b"}, "n1")
    assert not node_selector_matches({"nodeSelectorTerms": [{}]}, {"a": "b"})
    assert node_selector_matches(None, {})


def test_node_selector_lt_and_bad_operator():
    from client.labels import selector_from_node_selector_requirements
    assert selector_from_node_selector_requirements([{"key": "n", "operator": "Lt", "values": ["3"]}]).matches(
        {"n": "2"})
    with pytest.raises(SelectorError):
        selector_from_node_selector_requirements([{"key": "n", "operator": "Gt", "values": ["x"]}])
    with pytest.raises(SelectorError):
        selector_from_node_selector_requirements([{"key": "n", "operator": "Near"}])
