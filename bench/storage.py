"""Benchmark of the storage layer alone: the Store API on SQLite and on etcd, beside raw SQLite.

Measured in one run, printed as JSON:

- creates/s and updates/s through the Store API with N concurrent writers (asyncio tasks) and
  with one, on the SQLite backend (WAL, synchronous=FULL, acknowledged = fsynced) and on etcd
  (Debian's etcd-server, single member on loopback, started here in a temp dir);
- the reference: raw single-row INSERTs and UPDATEs into a plain SQLite WAL table with the same
  synchronous=FULL setting, one committed transaction per row, from one thread - what a naive
  durable SQLite writer gets on this disk;
- LIST of every key written, and watch delivery of every create (replayed from the first
  revision), through the Store API.

Values are pod-sized JSON (~1 KiB). The apiserver benchmark (bench/apiserver.py) may import
``bench_store`` and ``bench_raw_sqlite`` to put these numbers next to its HTTP ones.

Usage: python -m bench.storage [--count N] [--clients N] [--rounds N] [--dir DIR] [--skip-etcd]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from apiserver.storage.etcd import EtcdStore
from apiserver.storage.etcd_process import EtcdProcess
from apiserver.storage.interface import Store
from apiserver.storage.sqlite import SQLiteStore


def pod_value(i: int, generation: int = 1) -> bytes:
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"bench-{i:06d}",
            "namespace": "default",
            "uid": f"00000000-0000-4000-8000-{i:012d}",
            "generation": generation,
            "labels": {"app": "bench", "tier": "backend", "shard": str(i % 16)},
            "annotations": {"kyb.dev/bench": "x" * 200},
        },
        "spec": {
            "nodeName": f"node-{i % 8}",
            "containers": [
                {
                    "name": "main",
                    "image": "registry.local/bench:1.0",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                    "env": [{"name": f"VAR_{k}", "value": "v" * 16} for k in range(8)],
                }
            ],
        },
        "status": {"phase": "Pending"},
    }
    return json.dumps(obj, separators=(",", ":")).encode()


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


async def _spread(count: int, clients: int, work: Any) -> float:
    """Run work(i) for i in range(count) on `clients` concurrent tasks; return elapsed seconds."""

    async def lane(lane_no: int) -> None:
        for i in range(lane_no, count, clients):
            await work(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(lane(c) for c in range(clients)))
    return time.perf_counter() - t0


async def bench_store(
    store: Store, count: int, clients: int, prefix: str = "/registry/pods/default/"
) -> dict[str, Any]:
    """creates/s and updates/s through the Store API, then LIST and watch replay of what was written."""
    start_rev = await store.current_revision() + 1
    revs: dict[int, int] = {}

    async def create(i: int) -> None:
        revs[i] = (await store.create(f"{prefix}bench-{i:06d}", pod_value(i))).mod_revision

    async def update(i: int) -> None:
        revs[i] = (await store.update(f"{prefix}bench-{i:06d}", pod_value(i, 2), revs[i])).mod_revision

    create_s = await _spread(count, clients, create)
    update_s = await _spread(count, clients, update)

    async def create_one(i: int) -> None:
        await store.create(f"{prefix}serial-{i:06d}", pod_value(i))

    serial = max(1, count // 4)
    serial_s = await _spread(serial, 1, create_one)

    t0 = time.perf_counter()
    items, _, _ = await store.list(prefix)
    list_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    seen = 0
    async with asyncio.timeout(120):
        async for _ in store.watch(prefix, start_rev):
            seen += 1
            if seen == 2 * count + serial:
                break
    watch_s = time.perf_counter() - t0
    return {
        "clients": clients,
        "writes": count,
        "creates_per_s": _rate(count, create_s),
        "updates_per_s": _rate(count, update_s),
        "creates_per_s_one_client": _rate(serial, serial_s),
        "list_keys": len(items),
        "list_ms": round(list_s * 1000, 1),
        "watch_replay_events": seen,
        "watch_replay_events_per_s": _rate(seen, watch_s),
    }


def bench_raw_sqlite(path: Path, count: int) -> dict[str, Any]:
    """The reference: plain INSERT/UPDATE into a WAL table, synchronous=FULL, one commit per row."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS objects (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
        t0 = time.perf_counter()
        for i in range(count):
            conn.execute("INSERT INTO objects (name, value) VALUES (?, ?)", (f"bench-{i:06d}", pod_value(i)))
        insert_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(count):
            conn.execute("UPDATE objects SET value = ? WHERE name = ?", (pod_value(i, 2), f"bench-{i:06d}"))
        update_s = time.perf_counter() - t0
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        conn.close()
    return {
        "writes": count,
        "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, sync),
        "inserts_per_s": _rate(count, insert_s),
        "updates_per_s": _rate(count, update_s),
    }


def _median_report(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of every rate over the rounds, plus the raw samples: this disk is shared and noisy."""
    out: dict[str, Any] = {}
    for key, value in samples[0].items():
        if "_per_s" in key or key.endswith("_ms"):
            values = sorted(s[key] for s in samples)
            out[key] = values[len(values) // 2]
            out[key + "_samples"] = [s[key] for s in samples]
        else:
            out[key] = value
    return out


async def _sqlite_round(directory: Path, count: int, clients: int) -> dict[str, Any]:
    store = SQLiteStore(directory / "state.db", compact_interval=None)
    await store.start()
    try:
        return await bench_store(store, count, clients)
    finally:
        await store.close()


async def _etcd_rounds(directory: Path, count: int, clients: int, rounds: int) -> list[dict[str, Any]]:
    with EtcdProcess(directory / "etcd") as server:
        store = EtcdStore([("127.0.0.1", server.client_port)])
        await store.start()
        try:
            return [
                await bench_store(store, count, clients, prefix=f"/registry/pods/round{r}/")
                for r in range(rounds)
            ]
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="keys created then updated per round")
    parser.add_argument("--clients", type=int, default=4, help="concurrent writers")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per backend, interleaved; medians reported"
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the databases go (a real disk)")
    parser.add_argument("--skip-etcd", action="store_true")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="kyb-bench-storage-", dir=args.dir))
    try:
        raw_samples: list[dict[str, Any]] = []
        store_samples: list[dict[str, Any]] = []
        for r in range(args.rounds):  # interleaved, so disk noise hits both alike
            round_dir = base / f"round{r}"
            round_dir.mkdir()
            raw_samples.append(bench_raw_sqlite(round_dir / "raw.db", args.count))
            store_samples.append(asyncio.run(_sqlite_round(round_dir, args.count, args.clients)))
        result: dict[str, Any] = {
            "benchmark": "storage",
            "cpus": os.cpu_count(),
            "value_bytes": len(pod_value(0)),
            "rounds": args.rounds,
            "raw_sqlite_wal": _median_report(raw_samples),
            "store_sqlite": _median_report(store_samples),
        }
        if not args.skip_etcd:
            result["store_etcd"] = _median_report(
                asyncio.run(_etcd_rounds(base, args.count, args.clients, args.rounds))
            )
        raw = result["raw_sqlite_wal"]
        store = result["store_sqlite"]
        result["ratio_store_sqlite_to_raw"] = {
            "creates": round(store["creates_per_s"] / raw["inserts_per_s"], 2),
            "updates": round(store["updates_per_s"] / raw["updates_per_s"], 2),
            "creates_one_client": round(store["creates_per_s_one_client"] / raw["inserts_per_s"], 2),
        }
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
