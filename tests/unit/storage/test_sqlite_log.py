"""The SQL layer of the SQLite backend, driven directly on a connection (no threads, no loop)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from apiserver.storage import sqlite_log as L
from apiserver.storage.interface import Compacted, FutureRevision, KeyExists, KeyNotFound, RevisionConflict


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    c = L.connect(str(tmp_path / "log.db"))
    L.create_schema(c)
    yield c
    c.close()


def rows(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute(
        f"SELECT id, name, created, deleted, prev_revision FROM {L.TABLE} ORDER BY id"
    ).fetchall()


def test_connections_use_wal_and_fsync_every_commit(conn):
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_the_compact_row_takes_revision_one_and_holds_zero(conn):
    assert L.current_revision(conn) == 1
    assert L.compacted_revision(conn) == 0


def test_each_write_appends_one_row_whose_id_is_its_revision(conn):
    a = L.insert_create(conn, "/a", b"1")
    b = L.insert_update(conn, "/a", b"2", a.mod_revision)
    c = L.insert_delete(conn, "/a", 0)
    assert [a.mod_revision, b.mod_revision, c.mod_revision] == [2, 3, 4]
    assert rows(conn)[1:] == [(2, "/a", 1, 0, 0), (3, "/a", 0, 0, 2), (4, "/a", 0, 1, 3)]


def test_the_unique_name_prev_revision_index_refuses_a_second_successor(conn):
    a = L.insert_create(conn, "/a", b"1")
    L.insert_update(conn, "/a", b"2", a.mod_revision)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            f"INSERT INTO {L.TABLE} (name, created, deleted, create_revision, prev_revision, lease, value)"
            " VALUES ('/a', 0, 0, 2, ?, 0, x'00')",
            (a.mod_revision,),
        )


def test_write_errors_name_what_went_wrong(conn):
    a = L.insert_create(conn, "/a", b"1")
    with pytest.raises(KeyExists):
        L.insert_create(conn, "/a", b"1")
    with pytest.raises(KeyNotFound):
        L.insert_update(conn, "/b", b"1", 0)
    L.insert_update(conn, "/a", b"2", 0)
    with pytest.raises(RevisionConflict) as info:
        L.insert_delete(conn, "/a", a.mod_revision)
    assert info.value.current.value == b"2"


def test_rows_become_watch_events_with_previous_values(conn):
    a = L.insert_create(conn, "/a", b"1")
    L.insert_update(conn, "/a", b"2", a.mod_revision)
    L.insert_delete(conn, "/a", 0)
    create, update, delete = [r.event() for r in L.rows_after(conn, 0, None, 10)]
    assert (create.type, create.kv.value, create.prev_kv) == ("PUT", b"1", None)
    assert (update.type, update.kv.value, update.prev_kv.value, update.prev_kv.mod_revision) == (
        "PUT",
        b"2",
        b"1",
        2,
    )
    assert (delete.type, delete.kv.value, delete.kv.mod_revision) == ("DELETE", b"2", 4)
    assert delete.kv.create_revision == 2


def test_rows_after_never_returns_the_compact_row(conn):
    L.insert_create(conn, "/a", b"1")
    assert [r.name for r in L.rows_after(conn, 0, None, 10)] == ["/a"]


def test_list_rows_takes_the_newest_row_per_name_at_the_revision(conn):
    a = L.insert_create(conn, "/p/a", b"1")
    L.insert_create(conn, "/p/b", b"1")
    L.insert_update(conn, "/p/a", b"2", a.mod_revision)
    L.insert_delete(conn, "/p/b", 0)
    L.insert_create(conn, "/q/c", b"1")
    assert [(r.name, r.value) for r in L.list_rows(conn, "/p/", 3, "", 0)] == [("/p/a", b"1"), ("/p/b", b"1")]
    assert [(r.name, r.value) for r in L.list_rows(conn, "/p/", 6, "", 0)] == [("/p/a", b"2")]
    assert L.count_live(conn, "/") == 2


def test_read_revision_refuses_future_and_compacted_revisions(conn):
    L.insert_create(conn, "/a", b"1")
    L.insert_create(conn, "/b", b"1")
    L.set_compacted(conn, 3)
    with pytest.raises(FutureRevision):
        L.read_revision(conn, 4)
    with pytest.raises(Compacted):
        L.read_revision(conn, 2)
    assert L.read_revision(conn, 3) == 3
    assert L.read_revision(conn, 0) == 3


def test_compaction_deletes_replaced_rows_and_tombstones_but_keeps_the_state_at_its_revision(conn):
    a = L.insert_create(conn, "/a", b"1")  # 2: replaced by 3
    a = L.insert_update(conn, "/a", b"2", a.mod_revision)  # 3: replaced by 4
    L.insert_update(conn, "/a", b"3", a.mod_revision)  # 4: live at the compact revision
    L.insert_create(conn, "/b", b"1")  # 5: deleted by 6
    L.insert_delete(conn, "/b", 0)  # 6: tombstone
    c = L.insert_create(conn, "/c", b"1")  # 7: replaced only after the compact revision
    L.insert_update(conn, "/c", b"2", c.mod_revision)  # 8
    L.set_compacted(conn, 7)
    deleted = L.delete_superseded(conn, 0, 7)
    assert deleted == 4
    assert [r[0] for r in rows(conn)] == [1, 4, 7, 8]


def test_current_revision_survives_compaction_of_the_newest_row(conn):
    L.insert_create(conn, "/a", b"1")
    L.insert_delete(conn, "/a", 0)
    L.delete_superseded(conn, 0, 3)
    assert L.current_revision(conn) == 3
    assert L.insert_create(conn, "/a", b"again").mod_revision == 4
