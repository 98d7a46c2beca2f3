"""Field selectors: ``metadata.name=web,status.phase!=Running``.

Upstream keeps field selectors deliberately small: an AND of ``field = value``, ``field ==
value`` or ``field != value`` terms, where a value may escape ``\\``, ``,`` and ``=`` with a
backslash. Fields are dotted paths into the object; a missing field reads as the empty string,
which is how ``spec.nodeName=`` finds unscheduled pods. Which fields each kind supports is the
apiserver's decision (``supported`` lets it refuse others with a clear message), not the parser's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class FieldSelectorError(ValueError):
    """A malformed field selector, or one naming a field the resource does not support."""


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        have = field_value(obj, self.field)
        equal = have == self.value
        return not equal if self.operator == "!=" else equal

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.operator}{escaped}"


class FieldSelector:
    def __init__(self, requirements: Iterable[FieldRequirement] = ()) -> None:
        self.requirements = tuple(requirements)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((r.field, r.operator, r.value) for r in self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def fields(self) -> set[str]:
        return {r.field for r in self.requirements}

    def check_supported(self, supported: Iterable[str], kind: str = "") -> None:
        """Raise FieldSelectorError for the first field outside ``supported``, worded as upstream."""
        allowed = set(supported)
        for r in self.requirements:
            if r.field not in allowed:
                where = f" for {kind}" if kind else ""
                raise FieldSelectorError(f'field label not supported{where}: "{r.field}"')

    def exact_value(self, field: str) -> str | None:
        """The value the selector pins ``field`` to with ``=``/``==`` (lets a store narrow a scan)."""
        for r in self.requirements:
            if r.field == field and r.operator in ("=", "=="):
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string form of a dotted field, as upstream's field sets hold it ("" when absent)."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return ""
        cur = cur[part]
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, (dict, list)):
        return ""
    return str(cur)


def _split_terms(s: str) -> list[str]:
    terms, cur, i = [], [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
            continue
        if c == ",":
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    terms.append("".join(cur))
    return terms


def _unescape(value: str, term: str) -> str:
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\,=":
                raise FieldSelectorError(f"invalid field selector term {term!r}: invalid escape sequence")
            out.append(value[i + 1])
            i += 2
            continue
        if c == "=":
            raise FieldSelectorError(f"invalid field selector term {term!r}: unescaped '=' in value")
        out.append(c)
        i += 1
    return "".join(out)


def parse_field_selector(s: str) -> FieldSelector:
    """Parse ``?fieldSelector=``; iterating the result gives (field, op, value) triples."""
    reqs: list[FieldRequirement] = []
    if not s.strip():
        return FieldSelector()
    for term in _split_terms(s):
        if not term:
            continue
        for op in ("!=", "==", "="):
            idx = term.find(op)
            if idx < 0:
                continue
            field, value = term[:idx].strip(), term[idx + len(op):]
            if not field:
                raise FieldSelectorError(f"invalid field selector term {term!r}: missing field name")
            reqs.append(FieldRequirement(field, op, _unescape(value, term)))
            break
        else:
            raise FieldSelectorError(f"invalid field selector term {term!r}: expected '=', '==' or '!='")
    return FieldSelector(reqs)
