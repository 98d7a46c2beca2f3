"""The JSONPath subset CRD printer columns use: ``.spec.replicas``, ``.items[0].name``,
``.status.conditions[?(@.type=="Ready")].status``, ``.metadata.labels['app.kubernetes.io/name']``,
``[*]`` wildcards. A path yields a list of matches (possibly empty).
"""

from __future__ import annotations

import re
from typing import Any


class JSONPathError(ValueError):
    """An expression outside the supported subset."""


_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_\-$]+)        # .field
      | \[(?P<index>-?\d+)\]                 # [0]
      | \[\*\]|\.\*                          # wildcards
      | \[['"](?P<quoted>[^'"]+)['"]\]       # ['key.with.dots']
      | \[\?\(@\.(?P<ffield>[A-Za-z0-9_.\-]+)\s*(?P<fop>==|!=)\s*['"]?(?P<fvalue>[^'")]*)['"]?\)\]  # filter
    """, re.VERBOSE)


def _tokens(expr: str) -> list[re.Match]:
    text = expr.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    if text and not text.startswith((".", "[")):
        text = "." + text
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise JSONPathError(f"unsupported JSONPath {expr!r} at {text[pos:]!r}")
        out.append(m)
        pos = m.end()
    return out


def _descend(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def find(obj: Any, expr: str) -> list[Any]:
    current = [obj]
    for m in _tokens(expr):
        nxt: list[Any] = []
        for value in current:
            if m.group("field") is not None or m.group("quoted") is not None:
                key = m.group("field") if m.group("field") is not None else m.group("quoted")
                if isinstance(value, dict) and key in value:
                    nxt.append(value[key])
            elif m.group("index") is not None:
                i = int(m.group("index"))
                if isinstance(value, list) and -len(value) <= i < len(value):
                    nxt.append(value[i])
            elif m.group("ffield") is not None:
                if isinstance(value, list):
                    for item in value:
                        have = _descend(item, m.group("ffield"))
                        equal = have is not None and str(have) == m.group("fvalue")
                        if equal == (m.group("fop") == "=="):
                            nxt.append(item)
            else:  # wildcard
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, dict):
                    nxt.extend(value.values())
        current = nxt
    return current
