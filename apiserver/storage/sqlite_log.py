"""The SQL side of the SQLite backend: one append-only table that is the revision log.

Layout (the way k3s's kine lays out its table):

    kv_log(id INTEGER PRIMARY KEY AUTOINCREMENT,   -- the revision
           name, created, deleted, create_revision, prev_revision, lease, value, old_value)

Every create, update and delete appends one row; the row's id is the write's revision. A
create row has ``created=1`` and its own id as create revision (stored as 0); an update row
points at the row it replaces through ``prev_revision`` and keeps the replaced bytes in
``old_value`` so watchers get ``prev_kv`` without a second lookup; a delete row has
``deleted=1`` and carries the last value. The unique index on (name, prev_revision) makes a
compare-and-swap out of a plain INSERT: two writers that both read revision N of a key cannot
both append a successor of N. (Writes also run inside BEGIN IMMEDIATE, so within SQLite the
index is a second line of defence rather than the only one.)

The compacted revision lives in a row named ``compact_rev_key`` whose prev_revision is updated
in place; it is inserted once, when the table is created, and so takes revision 1.

The current revision is read from ``sqlite_sequence`` rather than MAX(id): compaction may
delete the newest row (a tombstone), and AUTOINCREMENT never hands out an id twice.

Functions here are synchronous and take a connection: the store runs them on its own threads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from apiserver.storage.interface import (
    Compacted,
    Event,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
)
from apiserver.storage.keys import prefix_end_str, range_start

COMPACT_KEY = "compact_rev_key"
TABLE = "kv_log"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    lease INTEGER NOT NULL DEFAULT 0,
    value BLOB,
    old_value BLOB
);
CREATE INDEX IF NOT EXISTS {TABLE}_name_index ON {TABLE} (name);
CREATE INDEX IF NOT EXISTS {TABLE}_name_id_index ON {TABLE} (name, id);
CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_name_prev_revision_uindex ON {TABLE} (name, prev_revision);
"""

COLUMNS = "id, name, created, deleted, create_revision, prev_revision, value, old_value"


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    created: bool
    deleted: bool
    create_revision: int
    prev_revision: int
    value: bytes
    old_value: bytes

    @classmethod
    def from_tuple(cls, t: tuple) -> Row:
        id_, name, created, deleted, create_rev, prev_rev, value, old_value = t
        return cls(
            id_,
            name,
            bool(created),
            bool(deleted),
            id_ if created else create_rev,
            prev_rev,
            bytes(value or b""),
            bytes(old_value or b""),
        )

    @property
    def mod_revision(self) -> int:
        return self.id

    def key_value(self) -> KeyValue:
        return KeyValue(self.name, self.value, self.create_revision, self.id)

    def event(self) -> Event:
        """The watch event this row stands for."""
        if self.deleted:
            prev = KeyValue(self.name, self.value, self.create_revision, self.prev_revision)
            return Event("DELETE", self.key_value(), prev)
        if self.created:
            return Event("PUT", self.key_value(), None)
        prev = KeyValue(self.name, self.old_value, self.create_revision, self.prev_revision)
        return Event("PUT", self.key_value(), prev)


def connect(path: str, busy_timeout_ms: int = 10_000) -> sqlite3.Connection:
    """A connection configured for durable, concurrent use.

    WAL lets readers run while one writer appends. ``synchronous=FULL`` makes every commit fsync
    the WAL before it returns, so a write acknowledged to a caller survives a crash or power loss
    (NORMAL would only survive an application crash). The busy timeout covers other processes
    holding the write lock on the same file.
    """
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"could not switch {path} to WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        exists = conn.execute(f"SELECT 1 FROM {TABLE} WHERE name = ?", (COMPACT_KEY,)).fetchone()
        if exists is None:
            conn.execute(
                f"INSERT INTO {TABLE} (name, created, deleted, create_revision, prev_revision, lease)"
                " VALUES (?, 0, 0, 0, 0, 0)",
                (COMPACT_KEY,),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# ---- reads (callers wrap them in one BEGIN ... COMMIT so they share a snapshot) ----


def current_revision(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (TABLE,)).fetchone()
    return int(row[0]) if row else 0


def compacted_revision(conn: sqlite3.Connection) -> int:
    row = conn.execute(f"SELECT prev_revision FROM {TABLE} WHERE name = ?", (COMPACT_KEY,)).fetchone()
    return int(row[0]) if row else 0


def read_revision(conn: sqlite3.Connection, revision: int) -> int:
    """Validate a pinned read revision (0 = latest) against the log and return the one to use."""
    current = current_revision(conn)
    if revision == 0:
        return current
    if revision > current:
        raise FutureRevision(revision, current)
    compacted = compacted_revision(conn)
    if revision < compacted:
        raise Compacted(revision, compacted, current)
    return revision


def latest_row(conn: sqlite3.Connection, key: str, revision: int | None = None) -> Row | None:
    """The newest row of ``key`` (at or below ``revision``), tombstones included."""
    if revision is None:
        sql = f"SELECT {COLUMNS} FROM {TABLE} WHERE name = ? ORDER BY id DESC LIMIT 1"
        t = conn.execute(sql, (key,)).fetchone()
    else:
        sql = f"SELECT {COLUMNS} FROM {TABLE} WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1"
        t = conn.execute(sql, (key, revision)).fetchone()
    return Row.from_tuple(t) if t else None


def _range_clause(prefix: str, start_key: str) -> tuple[str, list[object]]:
    """SQL matching names in [max(prefix, start_key), prefix_end(prefix)), never the compact row."""
    lo = range_start(prefix, start_key)
    hi = prefix_end_str(prefix)
    clause = "name != ?"
    args: list[object] = [COMPACT_KEY]
    if lo:
        clause += " AND name >= ?"
        args.append(lo)
    if hi:
        clause += " AND name < ?"
        args.append(hi)
    return clause, args


def _live_at(revision_param: bool) -> str:
    """SQL condition: row ``kv`` is the newest row of its name (at or below a revision)."""
    bound = " AND newer.id <= ?" if revision_param else ""
    newest = f"SELECT MAX(newer.id) FROM {TABLE} AS newer WHERE newer.name = kv.name{bound}"
    return f"kv.id = ({newest}) AND kv.deleted = 0"


def list_rows(conn: sqlite3.Connection, prefix: str, revision: int, start_key: str, limit: int) -> list[Row]:
    """Live rows under ``prefix`` as of ``revision``: per name, the newest row if not a tombstone.

    Walks the name index in key order and checks each row against the newest row of its name,
    so a page of ``limit`` rows costs about ``limit`` index steps instead of grouping the whole
    prefix first (kubectl lists in pages of 500).
    """
    clause, args = _range_clause(prefix, start_key)
    clause = clause.replace("name", "kv.name")
    sql = (
        f"SELECT {', '.join('kv.' + c.strip() for c in COLUMNS.split(','))} FROM {TABLE} AS kv"
        f" WHERE {clause} AND {_live_at(True)} ORDER BY kv.name"
    )
    params: list[object] = [*args, revision]
    if limit > 0:
        sql += " LIMIT ?"
        params.append(limit)
    return [Row.from_tuple(t) for t in conn.execute(sql, params)]


def count_live(conn: sqlite3.Connection, prefix: str) -> int:
    """Counting visits every name anyway, so group once instead of probing per row."""
    clause, args = _range_clause(prefix, "")
    sql = (
        f"SELECT COUNT(*) FROM {TABLE} AS kv"
        f" JOIN (SELECT MAX(id) AS id FROM {TABLE} WHERE {clause} GROUP BY name) AS newest"
        " ON newest.id = kv.id WHERE kv.deleted = 0"
    )
    return int(conn.execute(sql, args).fetchone()[0])


def rows_after(
    conn: sqlite3.Connection, after: int, upto: int | None, limit: int, prefix: str = ""
) -> list[Row]:
    """Log rows with after < id (<= upto) under ``prefix``, oldest first.

    This is what the watch poller reads (every name) and what a watcher replays (its prefix).
    """
    clause, args = _range_clause(prefix, "")
    sql = f"SELECT {COLUMNS} FROM {TABLE} WHERE id > ? AND {clause}"
    params: list[object] = [after, *args]
    if upto is not None:
        sql += " AND id <= ?"
        params.append(upto)
    sql += " ORDER BY id LIMIT ?"
    params.append(limit)
    return [Row.from_tuple(t) for t in conn.execute(sql, params)]


def log_page(
    conn: sqlite3.Connection, after: int, upto: int | None, limit: int, prefix: str = ""
) -> tuple[list[Row], int, int]:
    """A page of the log with the compacted and current revisions of the same snapshot."""
    return rows_after(conn, after, upto, limit, prefix), compacted_revision(conn), current_revision(conn)


# ---- writes (run by the single writer inside its transaction) ----
# Each returns the row it appended, so the store can hand it to watchers without reading it back.


def _insert(conn: sqlite3.Connection, row: tuple[object, ...]) -> int:
    cur = conn.execute(
        f"INSERT INTO {TABLE}"
        " (name, created, deleted, create_revision, prev_revision, lease, value, old_value)"
        " VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
        row,
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def insert_create(conn: sqlite3.Connection, key: str, value: bytes) -> Row:
    latest = latest_row(conn, key)
    if latest is not None and not latest.deleted:
        raise KeyExists(key)
    prev = latest.id if latest is not None else 0
    try:
        rev = _insert(conn, (key, 1, 0, 0, prev, value, None))
    except sqlite3.IntegrityError as e:
        raise KeyExists(key) from e
    return Row(rev, key, True, False, rev, prev, value, b"")


def _live_for_write(conn: sqlite3.Connection, key: str, expected: int) -> Row:
    latest = latest_row(conn, key)
    if latest is None or latest.deleted:
        raise KeyNotFound(key)
    if expected and latest.id != expected:
        raise RevisionConflict(key, expected, latest.key_value())
    return latest


def insert_update(conn: sqlite3.Connection, key: str, value: bytes, expected: int) -> Row:
    latest = _live_for_write(conn, key, expected)
    try:
        rev = _insert(conn, (key, 0, 0, latest.create_revision, latest.id, value, latest.value))
    except sqlite3.IntegrityError as e:
        raise RevisionConflict(key, expected, latest.key_value()) from e
    return Row(rev, key, False, False, latest.create_revision, latest.id, value, latest.value)


def insert_delete(conn: sqlite3.Connection, key: str, expected: int) -> Row:
    latest = _live_for_write(conn, key, expected)
    try:
        rev = _insert(conn, (key, 0, 1, latest.create_revision, latest.id, latest.value, latest.value))
    except sqlite3.IntegrityError as e:
        raise RevisionConflict(key, expected, latest.key_value()) from e
    return Row(rev, key, False, True, latest.create_revision, latest.id, latest.value, latest.value)


def set_compacted(conn: sqlite3.Connection, revision: int) -> None:
    conn.execute(f"UPDATE {TABLE} SET prev_revision = ? WHERE name = ?", (revision, COMPACT_KEY))


def delete_superseded(conn: sqlite3.Connection, after: int, upto: int) -> int:
    """Delete the rows that writes in (after, upto] made dead.

    A row is dead for every read at or above the compact revision when a later row of the same
    name at or below it replaced the row (the later row's prev_revision names it), and a
    tombstone at or below it is dead too. Walking the replacing rows by id range lets the caller
    compact in slices, so the write lock is never held for long.
    """
    dead = conn.execute(
        f"SELECT id FROM {TABLE} WHERE id > ? AND id <= ? AND deleted = 1 AND name != ?"
        f" UNION SELECT prev_revision FROM {TABLE}"
        " WHERE id > ? AND id <= ? AND prev_revision != 0 AND name != ?",
        (after, upto, COMPACT_KEY, after, upto, COMPACT_KEY),
    ).fetchall()
    # Collected first, deleted second: a row can be both a replacing row and a replaced one.
    conn.executemany(f"DELETE FROM {TABLE} WHERE id = ?", dead)
    return len(dead)
