"""Resource quantities parse exactly and format canonically, like upstream resource.Quantity."""

from fractions import Fraction

import pytest

from client.quantity import (
    Quantity,
    QuantityError,
    canonicalize,
    compare,
    cpu_millicores,
    format_quantity,
    memory_bytes,
    milli_value,
    parse_quantity,
)


@pytest.mark.parametrize("text,value", [
    ("100m", Fraction(1, 10)), ("64Mi", 64 * 2**20), ("1e3", 1000), ("1.5Gi", 1610612736),
    ("2", 2), ("0.5", Fraction(1, 2)), (".5", Fraction(1, 2)), ("1k", 1000), ("1M", 10**6),
    ("1Ki", 1024), ("5n", Fraction(5, 10**9)), ("3u", Fraction(3, 10**6)), ("-1Gi", -(2**30)),
    ("1E-3", Fraction(1, 1000)), ("+2", 2), ("1Ei", 2**60), ("2P", 2 * 10**15),
])
def test_parse_values(text, value):
    assert parse_quantity(text) == value


def test_json_numbers_are_quantities():
    assert parse_quantity(2) == 2
    assert parse_quantity(0.25) == Fraction(1, 4)


@pytest.mark.parametrize("text", ["", "abc", "1x", "1.2.3", "Mi", "1 Mi", " 1", "1Mii", "e3", "1e", "--1"])
def test_malformed_quantities_raise(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


@pytest.mark.parametrize("text,canonical", [
    ("1.5Gi", "1536Mi"), ("1000m", "1"), ("0.5", "500m"), ("1500m", "1500m"), ("2000", "2k"),
    ("1024", "1024"), ("512", "512"), ("1e3", "1e3"), ("0", "0"), ("0.1n", "1n"), ("100Mi", "100Mi"),
])
def test_canonical_form(text, canonical):
    assert canonicalize(text) == canonical


def test_binary_format_falls_back_to_decimal_below_1024():
    assert format_quantity(Fraction(1, 2), "BinarySI") == "500m"


def test_compare_across_notations():
    assert compare("1", "1000m") == 0
    assert compare("1Gi", "1G") == 1
    assert compare("100m", "0.2") == -1


def test_milli_and_unit_conversions_round_up():
    assert cpu_millicores("250m") == 250
    assert cpu_millicores("1.5") == 1500
    assert milli_value("1n") == 1
    assert memory_bytes("64Mi") == 67108864
    assert memory_bytes("1.5k") == 1500


def test_quantity_value_object():
    q = Quantity.parse("1Gi") + Quantity.parse("512Mi")
    assert str(q) == "1536Mi"
    assert Quantity.parse("1") == Quantity.parse("1000m")
    assert Quantity.parse("1") < Quantity.parse("2")
