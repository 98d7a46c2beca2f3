"""On-disk records change only through update(fn), ids resolve by unique prefix, and the state
machines refuse transitions their table does not allow."""

from __future__ import annotations

import errno
import json
import threading
from pathlib import Path

import grpc
import pytest

from runtime.errors import FailedPrecondition, InternalError, InvalidArgument, NotFound, Timeout
from runtime.lifecycle import ContainerState, check_container_transition
from runtime.service.errors import code_for
from runtime.state.store import RecordStore


@pytest.fixture
def store(tmp_path: Path) -> RecordStore:
    return RecordStore(tmp_path / "things", "container")


def test_update_rewrites_the_record_atomically(store: RecordStore, tmp_path: Path) -> None:
    store.create("abc123", {"n": 0})
    store.update("abc123", lambda r: r.update(n=r["n"] + 1))
    assert json.loads((tmp_path / "things" / "abc123" / "record.json").read_text()) == {"n": 1}
    assert [p.name for p in (tmp_path / "things" / "abc123").iterdir()] == ["record.json"]


def test_news_of_an_update_can_go_out_before_the_file_has_it(store: RecordStore) -> None:
    store.create("abc123", {"n": 0})
    seen: list[tuple[dict, dict]] = []
    store.update("abc123", lambda r: r.update(n=1), before_write=lambda r: seen.append((dict(r), store.read("abc123"))))
    assert seen == [({"n": 1}, {"n": 0})]  # it saw the change; the file did not have it yet
    assert store.read("abc123") == {"n": 1}


def test_a_record_rewritten_by_another_writer_is_read_anew(store: RecordStore, tmp_path: Path) -> None:
    store.create("abc123", {"n": 0})
    assert store.read("abc123") == {"n": 0}
    other = tmp_path / "things" / "abc123" / ".other.tmp"
    other.write_text(json.dumps({"n": 10}))
    other.replace(tmp_path / "things" / "abc123" / "record.json")
    assert store.read("abc123") == {"n": 10}


def test_changing_a_record_read_does_not_change_the_next_read(store: RecordStore) -> None:
    store.create("abc123", {"n": 0})
    first = store.read("abc123")
    first["n"] = 5
    assert store.read("abc123") == {"n": 0}
    updated = store.update("abc123", lambda r: r.update(n=1))
    updated["n"] = 7
    assert store.read("abc123") == {"n": 1}


def test_a_deleted_record_is_not_found_though_it_was_read_before(store: RecordStore) -> None:
    store.create("abc123", {"n": 0})
    store.read("abc123")
    store.delete("abc123")
    with pytest.raises(NotFound):
        store.read("abc123")


def test_concurrent_updates_do_not_lose_writes(store: RecordStore) -> None:
    store.create("abc123", {"n": 0})

    def bump() -> None:
        for _ in range(50):
            store.update("abc123", lambda r: r.update(n=r["n"] + 1))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert store.read("abc123")["n"] == 200


def test_ids_resolve_by_unique_prefix(store: RecordStore) -> None:
    store.create("abc123", {})
    store.create("abd456", {})
    assert store.resolve("abc") == "abc123"
    with pytest.raises(InvalidArgument):
        store.resolve("ab")
    with pytest.raises(NotFound):
        store.resolve("zzz")


def test_a_directory_without_a_record_does_not_exist(store: RecordStore, tmp_path: Path) -> None:
    (tmp_path / "things" / "half-made").mkdir()
    assert store.ids() == []


def test_delete_removes_the_directory(store: RecordStore, tmp_path: Path) -> None:
    store.create("abc123", {})
    (tmp_path / "things" / "abc123" / "spec.json").write_text("{}")
    store.delete("abc123")
    assert not (tmp_path / "things" / "abc123").exists()


@pytest.mark.parametrize(("current", "target", "allowed"), [
    (ContainerState.CREATED, ContainerState.RUNNING, True),
    (ContainerState.CREATED, ContainerState.EXITED, True),
    (ContainerState.RUNNING, ContainerState.EXITED, True),
    (ContainerState.RUNNING, ContainerState.RUNNING, False),
    (ContainerState.EXITED, ContainerState.RUNNING, False),
])
def test_container_transitions(current: ContainerState, target: ContainerState, allowed: bool) -> None:
    if allowed:
        check_container_transition(current, target, "act on")
    else:
        with pytest.raises(FailedPrecondition):
            check_container_transition(current, target, "act on")


def test_domain_errors_map_to_grpc_codes() -> None:
    assert code_for(NotFound("x")) == grpc.StatusCode.NOT_FOUND
    assert code_for(InvalidArgument("x")) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_for(FailedPrecondition("x")) == grpc.StatusCode.FAILED_PRECONDITION
    assert code_for(Timeout("x")) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert code_for(ValueError("x")) is None


def test_a_full_disk_is_resource_exhausted_however_it_was_wrapped() -> None:
    full = OSError(errno.ENOSPC, "No space left on device")
    assert code_for(full) == grpc.StatusCode.RESOURCE_EXHAUSTED
    try:
        raise InternalError("cannot write the container's record") from full
    except InternalError as wrapped:
        assert code_for(wrapped) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert code_for(OSError(errno.EACCES, "Permission denied")) is None
