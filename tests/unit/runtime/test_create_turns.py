"""Creates take turns: a burst of CreateContainer calls is made one container after another, so
the first of the burst is ready first instead of all of them late."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cri import api_pb2
from runtime.container.manager import ContainerManager
from runtime.lifecycle import SandboxState
from runtime.state.store import RecordStore

SANDBOX = "s" * 64


def test_a_burst_of_creates_is_made_one_at_a_time(tmp_path: Path, monkeypatch: Any) -> None:
    sandboxes = RecordStore(tmp_path / "sandboxes", "sandbox")
    sandboxes.create(SANDBOX, {"id": SANDBOX, "state": SandboxState.READY.value,
                               "holder": {"pid": os.getpid(), "start": None}})
    ctx = SimpleNamespace(sandboxes=sandboxes, containers=RecordStore(tmp_path / "containers", "container"),
                          images=None, forkserver=None, root=None)
    inside = 0
    most = 0
    order: list[str] = []
    guard = threading.Lock()

    def slow_create(self: ContainerManager, sandbox: dict, config: api_pb2.ContainerConfig) -> tuple[str, dict]:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        with guard:
            inside -= 1
            order.append(config.metadata.name)
        return config.metadata.name * 8, {"id": config.metadata.name * 8}

    monkeypatch.setattr(ContainerManager, "_create", slow_create)
    manager = ContainerManager(ctx)  # type: ignore[arg-type]
    names = [f"c{i}" for i in range(4)]
    threads = [
        threading.Thread(target=manager.create, args=(SANDBOX, api_pb2.ContainerConfig(
            metadata=api_pb2.ContainerMetadata(name=name), image=api_pb2.ImageSpec(image="busybox"))))
        for name in names
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(order) == names
    assert most == 1
