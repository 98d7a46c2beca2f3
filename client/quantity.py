"""Kubernetes resource quantities: ``100m``, ``64Mi``, ``1e3``, ``1.5Gi``.

A quantity is an exact rational number with a preferred notation. Values are held as
``fractions.Fraction`` so that ``0.1 + 0.2`` CPUs compare exactly and ``1.5Gi`` is exactly
1610612736 bytes; nothing passes through floats. The notation (binary SI, decimal SI or decimal
exponent) comes from the suffix and is kept for canonical formatting, which follows upstream:
the largest suffix that keeps the number an integer (``1536Mi``, ``1500m``, ``1k``), binary
notation only for whole values of at least 1024, precision limited to nano units, rounded up.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import total_ordering
from typing import Literal

Format = Literal["BinarySI", "DecimalSI", "DecimalExponent"]


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}
_BINARY_SUFFIX = {v: k for k, v in _BINARY.items()}

_QUANTITY_RE = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$")
_EXPONENT_RE = re.compile(r"^[eE]([+-]?[0-9]+)$")

_NANO = Fraction(1, 10**9)


def _parse(s: str) -> tuple[Fraction, Format]:
    text = s.strip()
    if text != s or not text:
        raise QuantityError(f"quantities must match the regular expression "
                            f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {s!r}")
    m = _QUANTITY_RE.match(text)
    if not m:
        raise QuantityError(f"quantities must match the regular expression "
                            f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {s!r}")
    number, suffix = Fraction(m.group(1)), m.group(2)
    if suffix in _BINARY:
        return number * (1024 ** _BINARY[suffix]), "BinarySI"
    if suffix in _DECIMAL:
        return number * Fraction(10) ** _DECIMAL[suffix], "DecimalSI"
    e = _EXPONENT_RE.match(suffix)
    if e:
        exp = int(e.group(1))
        if abs(exp) > 1000:
            raise QuantityError(f"quantity {s!r}: exponent out of range")
        return number * Fraction(10) ** exp, "DecimalExponent"
    raise QuantityError(f"unable to parse quantity's suffix: {suffix!r} in {s!r}")


def parse_quantity_with_format(value: str | int | float) -> tuple[Fraction, Format]:
    if isinstance(value, bool):
        raise QuantityError(f"not a quantity: {value!r}")
    if isinstance(value, int):
        return Fraction(value), "DecimalSI"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"not a quantity: {value!r}")
        return Fraction(str(value)), "DecimalSI"
    if not isinstance(value, str):
        raise QuantityError(f"not a quantity: {value!r}")
    return _parse(value)


def parse_quantity(value: str | int | float) -> Fraction:
    """The exact value of a quantity; JSON numbers are accepted as upstream's decoder does."""
    return parse_quantity_with_format(value)[0]


def _round_up_nano(v: Fraction) -> Fraction:
    scaled = v / _NANO
    if scaled.denominator == 1:
        return v
    return Fraction(math.ceil(scaled)) * _NANO


def format_quantity(value: Fraction | int, fmt: Format = "DecimalSI") -> str:
    """Canonical text for a value in a notation."""
    v = _round_up_nano(Fraction(value))
    if v == 0:
        return "0"
    if fmt == "BinarySI":
        if v.denominator == 1 and abs(v) >= 1024:
            n = int(v)
            for power in range(6, 0, -1):
                if n % (1024 ** power) == 0:
                    return f"{n // 1024 ** power}{_BINARY_SUFFIX[power]}"
            return str(n)
        fmt = "DecimalSI"
    for exp in range(18, -10, -3):
        mantissa = v / Fraction(10) ** exp
        if mantissa.denominator == 1:
            if fmt == "DecimalExponent":
                return f"{mantissa.numerator}" + (f"e{exp}" if exp else "")
            return f"{mantissa.numerator}{_DECIMAL_SUFFIX[exp]}"
    raise AssertionError("a nano-rounded value always has an integer mantissa at exponent -9")


def canonicalize(value: str | int | float) -> str:
    v, fmt = parse_quantity_with_format(value)
    return format_quantity(v, fmt)


def compare(a: str | int | float | Fraction, b: str | int | float | Fraction) -> int:
    """-1, 0 or 1 as a is less than, equal to or greater than b."""
    x = a if isinstance(a, Fraction) else parse_quantity(a)
    y = b if isinstance(b, Fraction) else parse_quantity(b)
    return (x > y) - (x < y)


def milli_value(value: str | int | float | Fraction) -> int:
    """The value in thousandths, rounded up (``MilliValue`` upstream)."""
    v = value if isinstance(value, Fraction) else parse_quantity(value)
    return math.ceil(v * 1000)


def int_value(value: str | int | float | Fraction) -> int:
    """The value as an integer, rounded up (``Value`` upstream)."""
    v = value if isinstance(value, Fraction) else parse_quantity(value)
    return math.ceil(v)


def cpu_millicores(value: str | int | float) -> int:
    return milli_value(value)


def memory_bytes(value: str | int | float) -> int:
    return int_value(value)


@total_ordering
@dataclass(frozen=True)
class Quantity:
    """A parsed quantity that remembers its notation; arithmetic keeps the left operand's."""

    value: Fraction
    format: Format = "DecimalSI"

    @classmethod
    def parse(cls, text: str | int | float) -> Quantity:
        v, fmt = parse_quantity_with_format(text)
        return cls(v, fmt)

    def __str__(self) -> str:
        return format_quantity(self.value, self.format)

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.value + other.value, self.format)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, self.format)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)
