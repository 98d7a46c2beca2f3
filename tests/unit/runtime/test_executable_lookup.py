"""Finding the file to exec for a container command, as runc does (Go's LookPath)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.shim.process import ExecFailed, executable


def make(path: Path, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


def test_a_name_with_a_slash_is_used_as_given(tmp_path: Path) -> None:
    assert executable("./bin/tool", str(tmp_path)) == "./bin/tool"
    assert executable("/no/such/file", str(tmp_path)) == "/no/such/file"


def test_the_first_executable_regular_file_in_path_order_wins(tmp_path: Path) -> None:
    make(tmp_path / "a" / "tool", 0o644)  # not executable: skipped
    (tmp_path / "b" / "tool").mkdir(parents=True)  # a directory: skipped
    found = make(tmp_path / "c" / "tool", 0o755)
    make(tmp_path / "d" / "tool", 0o755)
    search = ":".join(str(tmp_path / d) for d in ("missing", "a", "b", "c", "d"))
    assert executable("tool", search) == str(found)


def test_a_command_in_no_path_directory_fails_as_runc_reports_it(tmp_path: Path) -> None:
    make(tmp_path / "a" / "other", 0o755)
    with pytest.raises(ExecFailed, match=r'exec: "tool": executable file not found in \$PATH'):
        executable("tool", str(tmp_path / "a"))
