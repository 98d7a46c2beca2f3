"""Kubernetes label selectors and the name syntax rules behind labels.

A selector is an AND of requirements, each ``key <op> values``. The parser follows the upstream
grammar (``k8s.io/apimachinery/pkg/labels``): ``=``, ``==``, ``!=``, ``in (...)``, ``notin
(...)``, bare ``key`` (exists), ``!key`` (does not exist), and ``>``/``<`` against integers.
Keys must be qualified names and values valid label values, checked while parsing so a malformed
selector fails with a message naming the bad part instead of silently matching nothing.

Semantics worth remembering: ``!=`` and ``notin`` also match objects that lack the key; an empty
selector matches everything; a ``nil`` metav1.LabelSelector matches nothing.

The name validators (DNS-1123 label/subdomain, DNS-1035 label, qualified names, label values)
return upstream's exact messages, because the apiserver puts them into ``Status`` causes that
people compare against real Kubernetes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

# ---------------------------------------------------------------------------------------------
# name syntax


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    parts = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {parts}regex used for validation is '{fmt}')"


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


EMPTY_ERROR = "must be non-empty"

QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME_ERR = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                      "with an alphanumeric character")
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_FMT = f"({QUALIFIED_NAME_FMT})?"
LABEL_VALUE_ERR = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                   "or '.', and must start and end with an alphanumeric character")
LABEL_VALUE_MAX = 63
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_ERR = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                     "'-', and must start and end with an alphanumeric character")
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + r"(\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_ERR = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                         "'-' or '.', and must start and end with an alphanumeric character")
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1035_LABEL_ERR = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
                     "with an alphabetic character, and end with an alphanumeric character")
DNS1035_LABEL_MAX = 63

_qualified_name_re = re.compile(f"^{QUALIFIED_NAME_FMT}$")
_label_value_re = re.compile(f"^{LABEL_VALUE_FMT}$")
_dns1123_label_re = re.compile(f"^{DNS1123_LABEL_FMT}$")
_dns1123_subdomain_re = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")
_dns1035_label_re = re.compile(f"^{DNS1035_LABEL_FMT}$")


def validate_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _dns1123_label_re.match(value):
        errs.append(regex_error(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def validate_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _dns1123_subdomain_re.match(value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def validate_dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1035_LABEL_MAX:
        errs.append(max_len_error(DNS1035_LABEL_MAX))
    if not _dns1035_label_re.match(value):
        errs.append(regex_error(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def validate_qualified_name(value: str) -> list[str]:
    """Errors for a ``[prefix/]name`` key such as a label key, annotation key or finalizer."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + EMPTY_ERROR)
        else:
            errs.extend("prefix part " + m for m in validate_dns1123_subdomain(prefix))
    else:
        return ["a qualified name "
                + regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part " + EMPTY_ERROR)
    elif len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX))
    if not _qualified_name_re.match(name):
        errs.append("name part "
                    + regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def validate_label_key(key: str) -> list[str]:
    return validate_qualified_name(key)


def validate_label_value(value: str) -> list[str]:
    errs = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(max_len_error(LABEL_VALUE_MAX))
    if not _label_value_re.match(value):
        errs.append(regex_error(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


# ---------------------------------------------------------------------------------------------
# selectors


class SelectorError(ValueError):
    """A label selector string or metav1.LabelSelector that cannot be parsed."""


class Operator(Enum):
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN):
            return self.key in labels and labels[self.key] in self.values
        if op in (Operator.NOT_EQUALS, Operator.NOT_IN):
            return self.key not in labels or labels[self.key] not in self.values
        if op is Operator.EXISTS:
            return self.key in labels
        if op is Operator.DOES_NOT_EXIST:
            return self.key not in labels
        # gt / lt: the label must exist and hold an integer
        if self.key not in labels:
            return False
        try:
            have = int(labels[self.key])
        except ValueError:
            return False
        want = int(self.values[0])
        return have > want if op is Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        if op in (Operator.IN, Operator.NOT_IN):
            return f"{self.key} {op.value} ({','.join(sorted(self.values))})"
        symbol = {Operator.GREATER_THAN: ">", Operator.LESS_THAN: "<"}.get(op, op.value)
        return f"{self.key}{symbol}{self.values[0]}"


def new_requirement(key: str, operator: Operator, values: Iterable[str] = ()) -> Requirement:
    """A validated requirement; raises SelectorError naming the bad key, value or value count."""
    vals = tuple(values)
    if not isinstance(key, str):
        raise SelectorError(f"invalid label key {key!r}: must be a string")
    for v in vals:
        if not isinstance(v, str):
            raise SelectorError(f"invalid label value {v!r} for key {key!r}: must be a string")
    errs = validate_label_key(key)
    if errs:
        raise SelectorError(f"invalid label key {key!r}: {'; '.join(errs)}")
    if operator in (Operator.IN, Operator.NOT_IN):
        if not vals:
            raise SelectorError(f"for '{operator.value}' operator on key {key!r}, values set can't be empty")
        vals = tuple(sorted(set(vals)))
    elif operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS):
        if len(vals) != 1:
            raise SelectorError(f"exact-match compatibility requires one single value for key {key!r}")
    elif operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        if vals:
            raise SelectorError(f"values set must be empty for exists and does not exist (key {key!r})")
    elif operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
        if len(vals) != 1:
            raise SelectorError(f"for 'Gt', 'Lt' operators, exactly one value is required (key {key!r})")
        try:
            int(vals[0])
        except ValueError:
            raise SelectorError(
                f"for 'Gt', 'Lt' operators, the value must be an integer (key {key!r}, value {vals[0]!r})"
            ) from None
    for v in vals:
        if operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
            continue
        verrs = validate_label_value(v)
        if verrs:
            raise SelectorError(f"invalid label value {v!r} for key {key!r}: {'; '.join(verrs)}")
    return Requirement(key, operator, vals)


class Selector:
    """An AND of requirements; ``Selector.nothing()`` matches no object at all."""

    def __init__(self, requirements: Iterable[Requirement] = (), *, match_nothing: bool = False) -> None:
        self.requirements: tuple[Requirement, ...] = tuple(sorted(requirements, key=lambda r: r.key))
        self.match_nothing = match_nothing

    @classmethod
    def everything(cls) -> Selector:
        return cls()

    @classmethod
    def nothing(cls) -> Selector:
        return cls(match_nothing=True)

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.match_nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        """True when the selector selects everything."""
        return not self.match_nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "Selector(nothing)" if self.match_nothing else f"Selector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Selector) and self.requirements == other.requirements
                and self.match_nothing == other.match_nothing)

    def __hash__(self) -> int:
        return hash((self.requirements, self.match_nothing))


# Characters that end an identifier in the selector language.
_SPECIAL = set(" \t\n\r,=!()<>")


def _tokenize(s: str) -> list[tuple[str, str]]:
    """Tokens as (kind, text): kinds IDENT, IN, NOTIN, '=', '==', '!=', '!', '(', ')', ',', '>', '<'."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c in "=!":
            if s.startswith("==", i) or s.startswith("!=", i):
                tokens.append((s[i:i + 2], s[i:i + 2]))
                i += 2
            else:
                tokens.append((c, c))
                i += 1
            continue
        if c in "(),<>":
            tokens.append((c, c))
            i += 1
            continue
        j = i
        while j < n and s[j] not in _SPECIAL:
            j += 1
        word = s[i:j]
        kind = {"in": "IN", "notin": "NOTIN"}.get(word, "IDENT")
        tokens.append((kind, word))
        i = j
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("EOS", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.pos += 1
        return tok

    def fail(self, what: str) -> SelectorError:
        return SelectorError(f"unable to parse requirement in selector {self.text!r}: {what}")

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        if self.peek()[0] == "EOS":
            return reqs
        while True:
            reqs.append(self.requirement())
            kind, text = self.take()
            if kind == "EOS":
                return reqs
            if kind != ",":
                raise self.fail(f"found {text!r}, expected ','")
            if self.peek()[0] == "EOS":
                raise self.fail("found end of string after ',', expected a requirement")

    def requirement(self) -> Requirement:
        kind, text = self.take()
        negated = False
        if kind == "!":
            negated = True
            kind, text = self.take()
        if kind != "IDENT":
            found = "end of string" if kind == "EOS" else repr(text)
            raise self.fail(f"found {found}, expected a label key")
        key = text
        nxt = self.peek()[0]
        if negated:
            if nxt not in (",", "EOS"):
                raise self.fail(f"found {self.peek()[1]!r} after '!{key}', expected ',' or end of string")
            return new_requirement(key, Operator.DOES_NOT_EXIST)
        if nxt in (",", "EOS"):
            return new_requirement(key, Operator.EXISTS)
        op_kind, op_text = self.take()
        if op_kind in ("IN", "NOTIN"):
            values = self.value_set()
            return new_requirement(key, Operator.IN if op_kind == "IN" else Operator.NOT_IN, values)
        ops = {"=": Operator.EQUALS, "==": Operator.DOUBLE_EQUALS, "!=": Operator.NOT_EQUALS,
               ">": Operator.GREATER_THAN, "<": Operator.LESS_THAN}
        if op_kind not in ops:
            raise self.fail(f"found {op_text!r}, expected one of '=', '==', '!=', 'in', 'notin', '>', '<'")
        # An exact-match value may be empty: "tier=" selects label tier with value "".
        vkind, vtext = self.peek()
        if vkind in (",", "EOS"):
            value = ""
        elif vkind in ("IDENT", "IN", "NOTIN"):
            self.take()
            value = vtext
        else:
            raise self.fail(f"found {vtext!r}, expected a value for key {key!r}")
        return new_requirement(key, ops[op_kind], [value])

    def value_set(self) -> list[str]:
        kind, text = self.take()
        if kind != "(":
            raise self.fail(f"found {text or 'end of string'!r}, expected '('")
        values: list[str] = []
        expect_value = True
        while True:
            kind, text = self.take()
            if kind == ")":
                if expect_value and values:  # "(a,)" means a and the empty value
                    values.append("")
                return values
            if kind == "EOS":
                raise self.fail("found end of string, expected ')'")
            if kind == ",":
                if expect_value:
                    values.append("")
                expect_value = True
                continue
            if kind in ("IDENT", "IN", "NOTIN") and expect_value:
                values.append(text)
                expect_value = False
                continue
            raise self.fail(f"found {text!r} in value set, expected a value, ',' or ')'")


def parse_selector(s: str) -> Selector:
    """Parse a selector string as kubectl ``-l`` and ``?labelSelector=`` send it."""
    return Selector(_Parser(s).parse())


def selector_from_set(labels: Mapping[str, str]) -> Selector:
    """A selector requiring exactly these label values (like ``labels.SelectorFromSet``)."""
    return Selector(new_requirement(k, Operator.EQUALS, [v]) for k, v in labels.items())


_EXPRESSION_OPERATORS = {"In": Operator.IN, "NotIn": Operator.NOT_IN, "Exists": Operator.EXISTS,
                         "DoesNotExist": Operator.DOES_NOT_EXIST}


def selector_from_label_selector(ls: Mapping | None) -> Selector:
    """The selector a metav1.LabelSelector means: ``None`` selects nothing, ``{}`` everything."""
    if ls is None:
        return Selector.nothing()
    reqs: list[Requirement] = []
    for k, v in (ls.get("matchLabels") or {}).items():
        reqs.append(new_requirement(k, Operator.EQUALS, [v]))
    for expr in ls.get("matchExpressions") or []:
        op_name = expr.get("operator")
        op = _EXPRESSION_OPERATORS.get(op_name)  # type: ignore[arg-type]
        if op is None:
            raise SelectorError(f"{op_name!r} is not a valid label selector operator")
        reqs.append(new_requirement(expr.get("key", ""), op, expr.get("values") or ()))
    return Selector(reqs)


def format_label_selector(ls: Mapping | None) -> str:
    """A metav1.LabelSelector as selector text (``<none>`` for nil), as kubectl prints it."""
    if ls is None:
        return "<none>"
    sel = selector_from_label_selector(ls)
    return str(sel) if sel.requirements else "<none>"


# ---------------------------------------------------------------------------------------------
# node selectors (node affinity): terms are ORed, each term's requirements ANDed

_NODE_OPERATORS = {"In": Operator.IN, "NotIn": Operator.NOT_IN, "Exists": Operator.EXISTS,
                   "DoesNotExist": Operator.DOES_NOT_EXIST, "Gt": Operator.GREATER_THAN, "Lt": Operator.LESS_THAN}


def selector_from_node_selector_requirements(requirements: Iterable[Mapping]) -> Selector:
    """NodeSelectorRequirements (In, NotIn, Exists, DoesNotExist, Gt, Lt) as one selector."""
    reqs = []
    for r in requirements:
        op = _NODE_OPERATORS.get(r.get("operator"))  # type: ignore[arg-type]
        if op is None:
            raise SelectorError(f"{r.get('operator')!r} is not a valid node selector operator")
        reqs.append(new_requirement(r.get("key", ""), op, r.get("values") or ()))
    return Selector(reqs)


def node_selector_term_matches(term: Mapping | None, node_labels: Mapping[str, str] | None,
                               node_name: str = "") -> bool:
    """One NodeSelectorTerm: all matchExpressions (on labels) and matchFields (metadata.name) hold.
    An empty term matches no node, as upstream defines it."""
    if not term:
        return False
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    if expressions and not selector_from_node_selector_requirements(expressions).matches(node_labels or {}):
        return False
    if fields:
        for f in fields:
            if f.get("key") != "metadata.name":
                raise SelectorError(f"{f.get('key')!r} is not a supported node field selector key")
        if not selector_from_node_selector_requirements(fields).matches({"metadata.name": node_name}):
            return False
    return True


def node_selector_matches(node_selector: Mapping | None, node_labels: Mapping[str, str] | None,
                          node_name: str = "") -> bool:
    """A NodeSelector (requiredDuringScheduling node affinity): any of its terms matches."""
    if node_selector is None:
        return True
    return any(node_selector_term_matches(t, node_labels, node_name)
               for t in node_selector.get("nodeSelectorTerms") or [])
