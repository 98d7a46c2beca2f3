"""Field selectors as ?fieldSelector= carries them."""

import pytest

from client.fields import FieldSelectorError, field_value, parse_field_selector

POD = {"metadata": {"name": "web", "namespace": "prod"}, "spec": {"nodeName": "n1"},
       "status": {"phase": "Running"}}


def test_parse_yields_triples():
    assert list(parse_field_selector("metadata.name=web,status.phase!=Failed,spec.nodeName==n1")) == [
        ("metadata.name", "=", "web"), ("status.phase", "!=", "Failed"), ("spec.nodeName", "==", "n1")]


def test_matches_all_terms():
    assert parse_field_selector("metadata.name=web,metadata.namespace=prod").matches(POD)
    assert not parse_field_selector("metadata.name=web,metadata.namespace=dev").matches(POD)
    assert parse_field_selector("status.phase!=Pending").matches(POD)


def test_missing_field_reads_as_empty():
    unscheduled = {"metadata": {"name": "x"}, "spec": {}}
    assert parse_field_selector("spec.nodeName=").matches(unscheduled)
    assert not parse_field_selector("spec.nodeName!=").matches(unscheduled)


def test_escaped_comma_and_equals_in_value():
    sel = parse_field_selector(r"metadata.name=a\,b\=c")
    assert list(sel) == [("metadata.name", "=", "a,b=c")]
    assert str(sel) == r"metadata.name=a\,b\=c"


def test_booleans_read_lowercase():
    assert field_value({"spec": {"unschedulable": True}}, "spec.unschedulable") == "true"


def test_empty_selector_matches_everything():
    assert parse_field_selector("").empty()
    assert parse_field_selector("").matches(POD)


@pytest.mark.parametrize("text", ["metadata.name", "=x", r"metadata.name=a\q", "a=b=c"])
def test_malformed_field_selectors_raise(text):
    with pytest.raises(FieldSelectorError):
        parse_field_selector(text)


def test_unsupported_field_reports_upstream_wording():
    sel = parse_field_selector("spec.foo=x")
    with pytest.raises(FieldSelectorError, match='field label not supported: "spec.foo"'):
        sel.check_supported({"metadata.name"})


def test_exact_value_lookup():
    assert parse_field_selector("spec.nodeName=n1").exact_value("spec.nodeName") == "n1"
    assert parse_field_selector("spec.nodeName!=n1").exact_value("spec.nodeName") is None
