"""How a container's record learns of its exit from the shim's files, and what must be flushed.

The shim flushes ``exit.json`` itself, so the record's rewrite to EXITED can be derived again
after a crash and needs no flush; an exit nobody recorded (the shim vanished) exists only in the
record and must be flushed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from runtime.container.manager import ContainerManager
from runtime.lifecycle import ContainerState
from runtime.state.store import RecordStore

CID = "c" * 64


@pytest.fixture
def store(tmp_path: Path) -> RecordStore:
    store = RecordStore(tmp_path / "containers", "container")
    store.create(CID, {"id": CID, "sandbox_id": "s" * 64, "state": ContainerState.RUNNING.value,
                       "shim_pid": None, "shim_start": None, "exit_code": 0, "finished_at": 0, "reason": "",
                       "cgroup": "/pod/c"})
    return store


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


class KilledCgroups:
    def __init__(self) -> None:
        self.killed: list[str] = []

    def kill_all(self, path: str) -> None:
        self.killed.append(path)


def manager(store: RecordStore, cgroups: KilledCgroups | None = None) -> ContainerManager:
    ctx = SimpleNamespace(containers=store, forkserver=None, root=None, cgroups=cgroups or KilledCgroups())
    return ContainerManager(ctx)  # type: ignore[arg-type]


def test_a_recorded_exit_is_derived_again_when_the_records_rewrite_is_lost(store: RecordStore, fsyncs: list[int]) -> None:
    record_file = store.path(CID) / "record.json"
    running = record_file.read_bytes()
    (store.path(CID) / "exit.json").write_text(json.dumps(
        {"exit_code": 3, "signal": 0, "finished_at": 1234, "oom_killed": False}))
    first = manager(store).refresh(CID)
    assert (first["state"], first["exit_code"], first["finished_at"], first["reason"]) == \
        (ContainerState.EXITED.value, 3, 1234, "Error")
    assert fsyncs == []
    record_file.write_bytes(running)  # as if a crash lost the unflushed rename
    assert manager(store).refresh(CID) == first


def test_an_exit_nobody_recorded_is_flushed(store: RecordStore, fsyncs: list[int]) -> None:
    record = manager(store).refresh(CID)
    assert (record["state"], record["exit_code"], record["reason"]) == (ContainerState.EXITED.value, 255, "Unknown")
    assert len(fsyncs) == 1


def test_the_processes_a_vanished_shim_left_are_killed(store: RecordStore) -> None:
    cgroups = KilledCgroups()
    manager(store, cgroups).refresh(CID)
    assert cgroups.killed == ["/pod/c"]


def test_an_exit_is_found_even_when_a_crash_lost_the_unflushed_start_record(store: RecordStore) -> None:
    store.update(CID, lambda r: r.update(state=ContainerState.CREATED.value))  # the start record never reached disk
    (store.path(CID) / "exit.json").write_text(json.dumps(
        {"exit_code": 0, "signal": 0, "finished_at": 99, "oom_killed": False}))
    record = manager(store).refresh(CID)
    assert (record["state"], record["exit_code"], record["finished_at"], record["reason"]) == \
        (ContainerState.EXITED.value, 0, 99, "Completed")


def test_a_created_container_without_shim_files_stays_created(store: RecordStore) -> None:
    store.update(CID, lambda r: r.update(state=ContainerState.CREATED.value))
    assert manager(store).refresh(CID)["state"] == ContainerState.CREATED.value


def test_an_exit_record_torn_by_a_crash_is_an_unknown_exit_not_an_error(store: RecordStore) -> None:
    (store.path(CID) / "exit.json").write_text("")  # created, never flushed: what a power loss can leave
    record = manager(store).refresh(CID)
    assert (record["state"], record["exit_code"], record["reason"]) == (ContainerState.EXITED.value, 255, "Unknown")
    assert "lost in a crash" in record["message"]


def test_a_torn_shim_hint_is_ignored(store: RecordStore) -> None:
    store.update(CID, lambda r: r.update(state=ContainerState.CREATED.value))
    (store.path(CID) / "shim.json").write_text('{"shim_pid": 1')
    assert manager(store).refresh(CID)["state"] == ContainerState.CREATED.value
