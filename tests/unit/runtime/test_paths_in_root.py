"""Container paths resolve inside the rootfs even through hostile symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.shim.paths import PathEscapes, resolve_in_root


def test_plain_paths_join_the_root(tmp_path: Path) -> None:
    assert resolve_in_root(str(tmp_path), "/etc/hosts") == f"{tmp_path}/etc/hosts"


def test_absolute_symlinks_are_followed_relative_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    os.symlink("/run/hosts", tmp_path / "etc" / "hosts")
    assert resolve_in_root(str(tmp_path), "/etc/hosts") == f"{tmp_path}/run/hosts"


def test_dotdot_is_clamped_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    os.symlink("../../../../../../etc/shadow", tmp_path / "etc" / "evil")
    assert resolve_in_root(str(tmp_path), "/etc/evil") == f"{tmp_path}/etc/shadow"
    assert resolve_in_root(str(tmp_path), "/../../x") == f"{tmp_path}/x"


def test_symlink_loops_are_an_error(tmp_path: Path) -> None:
    os.symlink("/b", tmp_path / "a")
    os.symlink("/a", tmp_path / "b")
    with pytest.raises(PathEscapes):
        resolve_in_root(str(tmp_path), "/a/file")
