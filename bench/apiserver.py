"""Benchmark of `kyb apiserver`: writes, watch latency and big lists, beside raw SQLite and etcd.

Measured in one run, printed as JSON:

- pod creates/s and updates/s through HTTP with 4 concurrent clients (SQLite store), next to
  raw single-row inserts into a SQLite WAL table with the same durability (synchronous=FULL,
  one committed transaction per write): the ratio is what the API layer costs;
- watch event latency (p50/p99) from sending a create to each of 100 watchers receiving it;
- the time to LIST 10,000 pods (full JSON, and kubectl's Table form);
- the same creates/s with etcd (Debian's etcd-server on loopback) as the store.

Usage: python -m bench.apiserver [--pods N] [--list-pods N] [--watchers N] [--skip-etcd]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from apiserver.storage.etcd_process import EtcdProcess

CLIENTS = 4


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "backend"}},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "registry.local/bench:1.0",
                    "ports": [{"containerPort": 8080}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                }
            ]
        },
    }


class Server:
    def __init__(self, data_dir: Path, datastore: str = "sqlite") -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        kubeconfig = data_dir / "kubeconfig"
        self.log = open(data_dir / "apiserver.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kyb",
                "apiserver",
                "--data-dir",
                str(data_dir),
                "--port",
                "0",
                "--datastore",
                datastore,
                "--compaction-interval",
                "0",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not kubeconfig.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((data_dir / "apiserver.log").read_text())
            time.sleep(0.05)
        self.url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


async def _split_work(names: list[str], worker: Any) -> float:
    started = time.perf_counter()
    chunks = [names[i::CLIENTS] for i in range(CLIENTS)]
    await asyncio.gather(*(worker(chunk) for chunk in chunks))
    return time.perf_counter() - started


async def creates_and_updates(url: str, count: int, prefix: str) -> dict[str, float]:
    names = [f"{prefix}-{i}" for i in range(count)]
    objects: dict[str, dict[str, Any]] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS * 2)) as session:

        async def create(chunk: list[str]) -> None:
            for name in chunk:
                async with session.post(f"{url}/api/v1/namespaces/default/pods", json=pod(name)) as r:
                    if r.status != 201:
                        raise RuntimeError(f"create {name}: {r.status} {await r.text()}")
                    objects[name] = await r.json()

        async def update(chunk: list[str]) -> None:
            for name in chunk:
                obj = objects[name]
                obj["metadata"]["labels"]["updated"] = "yes"
                async with session.put(f"{url}/api/v1/namespaces/default/pods/{name}", json=obj) as r:
                    if r.status != 200:
                        raise RuntimeError(f"update {name}: {r.status} {await r.text()}")

        create_s = await _split_work(names, create)
        update_s = await _split_work(names, update)
    return {"creates_per_s": round(count / create_s, 1), "updates_per_s": round(count / update_s, 1)}


def raw_sqlite_inserts(path: Path, count: int) -> float:
    """Single-row committed inserts with WAL + synchronous=FULL: the floor of durable writes."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, value BLOB)"
    )
    value = json.dumps(pod("x")).encode()
    started = time.perf_counter()
    for i in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO log (name, value) VALUES (?, ?)", (f"/registry/pods/default/p{i}", value))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return round(count / elapsed, 1)


async def watch_latency(url: str, watchers: int, events: int) -> dict[str, float]:
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    sent: dict[str, float] = {}
    samples: list[float] = []
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=watchers + 8)
    ) as s:
        async with s.get(f"{url}/api/v1/namespaces/default/pods?limit=1") as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        ready = 0
        all_ready = asyncio.Event()

        async def watcher() -> None:
            nonlocal ready
            path = f"{url}/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}&labelSelector=w%3D1"
            async with s.get(path) as resp:
                ready += 1
                if ready == watchers:
                    all_ready.set()
                seen = 0
                while seen < events:
                    line = await resp.content.readline()
                    if not line:
                        return
                    ev = json.loads(line)
                    if ev["type"] != "ADDED":
                        continue
                    samples.append(time.perf_counter() - sent[ev["object"]["metadata"]["name"]])
                    seen += 1

        tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
        await asyncio.wait_for(all_ready.wait(), 30)
        for i in range(events):
            name = f"watched-{i}"
            body = pod(name)
            body["metadata"]["labels"]["w"] = "1"
            sent[name] = time.perf_counter()
            async with s.post(f"{url}/api/v1/namespaces/default/pods", json=body) as r:
                assert r.status == 201, await r.text()
            await asyncio.sleep(0.02)
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    samples.sort()
    return {
        "watchers": watchers,
        "events": events,
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1] * 1000, 2),
    }


async def big_list(url: str, count: int) -> dict[str, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as s:

        async def create(chunk: list[str]) -> None:
            for name in chunk:
                async with s.post(f"{url}/api/v1/namespaces/listing/pods", json=pod(name)) as r:
                    assert r.status == 201, await r.text()

        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "listing"}}
        async with s.post(f"{url}/api/v1/namespaces", json=ns) as r:
            assert r.status == 201
        names = [f"l-{i:05d}" for i in range(count)]
        await asyncio.gather(*(create(names[i::8]) for i in range(8)))
        started = time.perf_counter()
        async with s.get(f"{url}/api/v1/namespaces/listing/pods") as r:
            body = await r.read()
        full_s = time.perf_counter() - started
        assert len(json.loads(body)["items"]) == count
        started = time.perf_counter()
        async with s.get(
            f"{url}/api/v1/namespaces/listing/pods",
            headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        ) as r:
            await r.read()
            table_ok = r.status == 200
        table_s = time.perf_counter() - started
    result = {"pods": count, "list_json_s": round(full_s, 3), "list_bytes": len(body)}
    if table_ok:
        result["list_table_s"] = round(table_s, 3)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--list-pods", type=int, default=10000)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--watch-events", type=int, default=50)
    parser.add_argument("--skip-etcd", action="store_true")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"clients": CLIENTS, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="kyb-bench-apiserver-") as tmp:
        base = Path(tmp)
        # fsync speed on a shared disk drifts: measure the reference right before and right after.
        raw_before = raw_sqlite_inserts(base / "raw1.db", args.pods)
        server = Server(base / "sqlite")
        try:
            writes = asyncio.run(creates_and_updates(server.url, args.pods, "bench"))
            raw_after = raw_sqlite_inserts(base / "raw2.db", args.pods)
            raw = (raw_before + raw_after) / 2
            result["sqlite_raw_inserts_per_s"] = {"before": raw_before, "after": raw_after}
            result["sqlite"] = writes
            result["sqlite"]["creates_vs_raw_inserts"] = round(writes["creates_per_s"] / raw, 3)
            result["watch_latency"] = asyncio.run(watch_latency(server.url, args.watchers, args.watch_events))
            result["list"] = asyncio.run(big_list(server.url, args.list_pods))
        finally:
            server.stop()
        if not args.skip_etcd:
            etcd = EtcdProcess(base / "etcd")
            etcd.start()
            try:
                server = Server(base / "etcd-apiserver", etcd.datastore)
                try:
                    result["etcd"] = asyncio.run(creates_and_updates(server.url, args.pods, "bench"))
                finally:
                    server.stop()
            finally:
                etcd.stop()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
