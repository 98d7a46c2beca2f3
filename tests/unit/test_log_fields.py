"""Structured log fields never collide with LogRecord's own attributes.

`logging` raises KeyError ("Attempt to overwrite 'name' in LogRecord") when an ``extra=`` key
names a record attribute, and only when that level is enabled: a daemon that is quiet by
default would pass every test and fail the first time someone runs it with --log-level info.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cri", "runtime", "client", "apiserver", "scheduler", "controllers", "kubelet", "netproxy", "kyb")
RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _bad_extra_keys(path: Path, base: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in LOG_METHODS:
            continue
        for kw in node.keywords:
            if kw.arg == "extra" and isinstance(kw.value, ast.Dict):
                for key in kw.value.keys:
                    if isinstance(key, ast.Constant) and key.value in RESERVED:
                        found.append(f"{path.relative_to(base)}:{node.lineno}: {key.value!r}")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_log_call_passes_a_reserved_record_attribute_as_a_field(package: str) -> None:
    bad = [hit for path in sorted((ROOT / package).rglob("*.py")) for hit in _bad_extra_keys(path)]
    assert not bad, f"extra= keys that overwrite LogRecord attributes: {bad}"


def test_the_check_finds_a_reserved_key(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('import logging\nlogging.getLogger().info("x", extra={"name": 1, "pod": 2})\n')
    assert _bad_extra_keys(sample, base=tmp_path) == ["sample.py:2: 'name'"]
