"""A record a machine crash tore (an unflushed write lost) is set aside: the object is no longer
served, and every other object still is, after a restart too."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from runtime.container.manager import ContainerManager
from runtime.errors import NotFound, UnreadableRecord
from runtime.lifecycle import ContainerState
from runtime.state.store import RecordStore

GOOD, TORN = "a" * 64, "b" * 64


def store_with_a_torn_record(tmp_path: Path, torn_content: str = "") -> RecordStore:
    store = RecordStore(tmp_path / "containers", "container")
    store.create(GOOD, {"id": GOOD, "sandbox_id": "s" * 64, "name": "good", "attempt": 0,
                        "state": ContainerState.EXITED.value})
    store.create(TORN, {"id": TORN})
    (tmp_path / "containers" / TORN / "record.json").write_text(torn_content)
    return store


def test_a_torn_record_is_set_aside_and_its_object_is_not_found(tmp_path: Path) -> None:
    store = store_with_a_torn_record(tmp_path)
    with pytest.raises(UnreadableRecord, match="set aside") as raised:
        store.read(TORN)
    assert isinstance(raised.value, NotFound)
    assert os.listdir(tmp_path / "containers" / TORN) == ["record.json.unreadable"]
    assert store.ids() == [GOOD]
    with pytest.raises(NotFound):
        store.resolve(TORN)


def test_a_record_that_is_not_an_object_is_set_aside_too(tmp_path: Path) -> None:
    store = store_with_a_torn_record(tmp_path, torn_content="[1, 2]")
    with pytest.raises(UnreadableRecord):
        store.read(TORN)
    assert store.ids() == [GOOD]


def manager(store: RecordStore, tmp_path: Path) -> ContainerManager:
    ctx = SimpleNamespace(sandboxes=RecordStore(tmp_path / "sandboxes", "sandbox"), containers=store,
                          images=None, forkserver=None, root=None)
    return ContainerManager(ctx)  # type: ignore[arg-type]


def test_listing_containers_still_lists_the_others(tmp_path: Path) -> None:
    records = manager(store_with_a_torn_record(tmp_path), tmp_path).list()
    assert [r["id"] for r in records] == [GOOD]


def test_a_restarted_daemon_still_watches_the_others(tmp_path: Path) -> None:
    containers = manager(store_with_a_torn_record(tmp_path), tmp_path)
    try:
        containers.watch_running()
    finally:
        containers.exits.stop()
    assert containers.ctx.containers.ids() == [GOOD]
