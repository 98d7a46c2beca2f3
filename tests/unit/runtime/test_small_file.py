"""Whole small files read with bare system calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.small_file import CHUNK, read_bytes, read_text


def test_a_file_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"12 345\n")
    assert read_bytes(str(tmp_path / "f")) == b"12 345\n"


def test_a_file_longer_than_one_read_is_read_whole(tmp_path: Path) -> None:
    data = bytes(range(256)) * (3 * CHUNK // 256 + 7)
    (tmp_path / "f").write_bytes(data)
    assert read_bytes(str(tmp_path / "f")) == data


def test_an_empty_file_reads_as_nothing(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    assert read_bytes(str(tmp_path / "f")) == b""


def test_a_file_produced_in_pieces_is_read_whole() -> None:
    # /proc files are generated as they are read; this one is longer than a page on any machine.
    assert read_text("/proc/self/smaps").count("\n") > 100


def test_text_is_decoded_as_utf8(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("grüße", encoding="utf-8")
    assert read_text(str(tmp_path / "f")) == "grüße"


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_bytes(str(tmp_path / "missing"))
