"""Name and label syntax checks return upstream's messages."""

from client.labels import (
    validate_dns1035_label,
    validate_dns1123_label,
    validate_dns1123_subdomain,
    validate_label_value,
    validate_qualified_name,
)


def test_subdomain_accepts_dotted_lowercase():
    assert validate_dns1123_subdomain("my-app.example.com") == []


def test_subdomain_rejects_uppercase_with_upstream_message():
    errs = validate_dns1123_subdomain("Foo_")
    assert errs == ["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                    "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
                    "[a-z0-9])?)*')"]


def test_subdomain_max_length():
    assert "must be no more than 253 characters" in validate_dns1123_subdomain("a" * 254)


def test_label_rejects_dots_and_long_names():
    assert validate_dns1123_label("a.b")
    assert "must be no more than 63 characters" in validate_dns1123_label("a" * 64)
    assert validate_dns1123_label("a" * 63) == []


def test_dns1035_requires_leading_letter():
    assert validate_dns1035_label("web") == []
    assert validate_dns1035_label("1web")


def test_qualified_name_with_prefix():
    assert validate_qualified_name("example.com/MyName") == []
    assert validate_qualified_name("/x") == ["prefix part must be non-empty"]
    assert validate_qualified_name("a/") [0] == "name part must be non-empty"
    assert validate_qualified_name("Bad_Prefix/x")[0].startswith("prefix part a lowercase RFC 1123 subdomain")
    assert validate_qualified_name("a/b/c")[0].startswith("a qualified name must consist of")
    assert validate_qualified_name("x" * 64) == ["name part must be no more than 63 characters"]


def test_label_value_may_be_empty_but_not_malformed():
    assert validate_label_value("") == []
    assert validate_label_value("v1.2_x") == []
    assert validate_label_value("-x")[0].startswith("a valid label must be an empty string")
    assert validate_label_value("x" * 64)[0] == "must be no more than 63 characters"
