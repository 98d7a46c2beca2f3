"""End-to-end runtime tests reuse the integration harness (a real `kyb runtime` in a test netns)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration" / "runtime"))

from runtime_harness import RuntimeUnderTest  # noqa: E402


@pytest.fixture
def runtime(tmp_path: Path, busybox_archive: Path) -> Iterator[RuntimeUnderTest]:
    rt = RuntimeUnderTest(tmp_path, busybox_archive)
    try:
        rt.start()
        yield rt
    finally:
        rt.teardown()
