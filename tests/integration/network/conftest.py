"""The ``lab`` fixture: a Lab whose namespaces, agents and processes are removed even on failure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from podnet_lab import Lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.fail("pod network integration tests need root")
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()
