"""Fixtures of the image integration tests: a loopback registry and an auth front for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from image_registry_front import AuthFront

from runtime.images.local_registry import LocalRegistry


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    """A docker-registry on a free loopback port, stopped when the test ends."""
    reg = LocalRegistry(tmp_path / "registry")
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def auth_front(registry: LocalRegistry) -> Iterator[AuthFront]:
    """Bearer-token front demanding user ``alice`` / password ``s3cret``; tests may change ``mode``."""
    front = AuthFront(registry.host, "bearer", ("alice", "s3cret"))
    try:
        yield front
    finally:
        front.close()
