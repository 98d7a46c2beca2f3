"""The `kyb` command line: every subcommand has help, and bad input is one line with exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kyb.main import build_parser


def _kyb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kyb", *args], capture_output=True, text=True, timeout=60)


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def test_runtime_is_a_subcommand() -> None:
    assert "runtime" in _subcommands()


@pytest.mark.parametrize("name", _subcommands())
def test_every_subcommand_has_help(name: str) -> None:
    result = _kyb(name, "--help")
    assert result.returncode == 0
    assert "usage: kyb " + name in result.stdout


def test_top_level_help_lists_every_subcommand_with_its_help_line() -> None:
    from kyb.main import _command_modules

    help_text = " ".join(_kyb("--help").stdout.split())
    for module in _command_modules():
        assert module.NAME in help_text
        assert " ".join(module.HELP.split())[:40] in help_text


def test_unknown_subcommand_is_one_line_and_exit_2() -> None:
    result = _kyb("frobnicate")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_subcommand_is_one_line_and_exit_2() -> None:
    result = _kyb()
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_option_is_one_line_and_exit_2() -> None:
    result = _kyb("runtime", "--no-such-option")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "unrecognized arguments" in result.stderr


def test_option_missing_its_value_is_one_line_and_exit_2() -> None:
    result = _kyb("runtime", "--socket")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
