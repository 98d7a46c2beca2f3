"""SQLite backend housekeeping that runs on its own: periodic compaction when asked for."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from apiserver.storage import sqlite_log
from apiserver.storage.sqlite import SQLiteStore


def test_periodic_compaction_keeps_only_the_retained_revisions(tmp_path: Path):
    path = tmp_path / "state.db"

    async def scenario() -> None:
        store = SQLiteStore(path, compact_interval=0.1, compact_retain=5)
        await store.start()
        try:
            kv = await store.create("/registry/a", b"0")
            for i in range(30):
                kv = await store.update("/registry/a", str(i).encode(), kv.mod_revision)
            current = await store.current_revision()
            async with asyncio.timeout(10):
                while await store.compacted_revision() < current - 5:
                    await asyncio.sleep(0.05)
            assert await store.compacted_revision() == current - 5
            assert (await store.get("/registry/a"))[0] == kv
        finally:
            await store.close()

    asyncio.run(scenario())
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute(f"SELECT name FROM {sqlite_log.TABLE}")]
    # the compact row, the value live at the compact revision, and the 5 retained updates
    assert names.count("/registry/a") == 6
