"""JSON documents replaced whole: a reader finds the old document or the new one, never part."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.atomic_json import read_json, stage_json, write_json


def test_a_written_document_reads_back(tmp_path: Path) -> None:
    path = str(tmp_path / "record.json")
    write_json(path, {"state": "CONTAINER_CREATED", "exit_code": 0})
    assert read_json(path) == {"state": "CONTAINER_CREATED", "exit_code": 0}


def test_a_missing_document_reads_as_none(tmp_path: Path) -> None:
    assert read_json(str(tmp_path / "record.json")) is None


def test_a_staged_document_is_not_there_until_it_is_renamed_into_place(tmp_path: Path) -> None:
    path = str(tmp_path / "record.json")
    write_json(path, {"state": "old"})
    temp = stage_json(path, {"state": "new"})
    assert os.path.dirname(temp) == str(tmp_path)
    assert read_json(path) == {"state": "old"}
    os.replace(temp, path)
    assert read_json(path) == {"state": "new"}
    assert os.listdir(tmp_path) == ["record.json"]
