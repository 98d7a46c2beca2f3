"""List filtering shared by the verbs: crictl's `--label k=v`, regex filters and `--latest/--last`.

The runtime filters by id, state and labels (the CRI filter messages); name and namespace
regular expressions and the newest-first cut happen on our side, as crictl does them, so they
mean the same against every runtime.
"""

from __future__ import annotations

import re
from typing import Any

from kyb.crictl.session import UsageError


def parse_labels(pairs: list[str] | None) -> dict[str, str]:
    """`key=value` flags to a dict; anything else is a usage error, as in crictl."""
    labels: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key or "=" in value:
            raise UsageError(f"incorrectly specified label: {pair} (want key=value)")
        labels[key] = value
    return labels


def compile_pattern(pattern: str | None, what: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as e:
        raise UsageError(f"invalid {what} regular expression {pattern!r}: {e}") from None


def cut_to_latest(items: list[Any], latest: bool, last: int) -> list[Any]:
    n = len(items)
    if latest:
        n = 1
    if last and last > 0:
        n = last
    return items[:n]
