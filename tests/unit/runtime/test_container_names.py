"""A container name (with its attempt) is unique within its sandbox, across daemon restarts."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from cri import api_pb2
from runtime.container.manager import ContainerManager
from runtime.errors import FailedPrecondition
from runtime.lifecycle import ContainerState, SandboxState
from runtime.state.store import RecordStore

SANDBOX = "s" * 64


def config(name: str, attempt: int = 0) -> api_pb2.ContainerConfig:
    return api_pb2.ContainerConfig(metadata=api_pb2.ContainerMetadata(name=name, attempt=attempt),
                                   image=api_pb2.ImageSpec(image="busybox"))


@pytest.fixture
def ctx(tmp_path: Path) -> SimpleNamespace:
    sandboxes = RecordStore(tmp_path / "sandboxes", "sandbox")
    sandboxes.create(SANDBOX, {"id": SANDBOX, "state": SandboxState.READY.value,
                               "holder": {"pid": os.getpid(), "start": None}})
    containers = RecordStore(tmp_path / "containers", "container")
    containers.create("c" * 64, {"id": "c" * 64, "sandbox_id": SANDBOX, "name": "web", "attempt": 0,
                                 "state": ContainerState.EXITED.value})
    return SimpleNamespace(sandboxes=sandboxes, containers=containers, images=None, forkserver=None, root=None)


def test_a_name_on_disk_is_taken_for_a_freshly_started_daemon(ctx: SimpleNamespace) -> None:
    with pytest.raises(FailedPrecondition, match="'web' \\(attempt 0\\) already exists"):
        ContainerManager(ctx).create(SANDBOX, config("web"))  # type: ignore[arg-type]


def test_another_attempt_of_the_name_is_free(ctx: SimpleNamespace) -> None:
    # Free: it gets past the name check to the image lookup, which this runtime cannot do.
    with pytest.raises(FailedPrecondition, match="no image store"):
        ContainerManager(ctx).create(SANDBOX, config("web", attempt=1))  # type: ignore[arg-type]
