"""Benchmark: pod network setup + teardown per sandbox, ours (PodNetwork) against the `ip` command.

Both sides do the same steps on the same bridge, inside a node network namespace the benchmark
creates (and removes at the end, also on failure):

    setup:    veth pair with the peer born in the pod netns as eth0, host end on the bridge and
              up, pod address, eth0 and lo up, default route via the bridge
    teardown: delete the host end (the pod end goes with it)

`ip` runs one command per step, as a shell script driving iproute2 would; ours runs in-process
through netlink and also does what `ip` does not: IPAM on disk (allocate + release, with file
locks and fsync), the attachment record, and hairpin mode on the bridge port. A third pair of
rows adds one hostPort: ours commits a DNAT rule through python-iptables, the reference runs
`iptables-legacy -t nat -A/-D` for it. Pod namespaces are created before the clock starts (the
sandbox holder makes them, not the network).

Runs: sequential (--sequential N sandboxes, one after another) and concurrent (--rounds rounds
of --concurrency sandboxes at once, each sandbox in its own thread). Prints JSON: per-sandbox
setup, teardown and total latency (median, p95, ms), batch wall time for the concurrent runs,
and ours/ip ratios (below 1 means ours is faster).

Usage (root): .venv/bin/python bench/pod_network.py [--sequential 50] [--concurrency 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

POD_CIDR = "10.88.0.0/16"
CLUSTER_CIDR = "10.88.0.0/16"
GATEWAY = "10.88.0.1"
REF_PREFIX = "10.88.200."  # the reference side's static addresses, far from where our IPAM hands out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values) * 1000, 3),
        "p95_ms": round(percentile(values, 0.95) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
    }


def run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")


class Sides:
    """The two implementations of "set up / tear down one sandbox's network"."""

    def __init__(self, network: object, pods: list[str]) -> None:
        self.network = network
        self.pods = pods

    # ours ------------------------------------------------------------------------------------

    def ours_setup(self, i: int, hostport: bool) -> None:
        from runtime.network import PortMapping

        mappings = [PortMapping("TCP", 8080, 30000 + i)] if hostport else []
        self.network.attach(f"bench{i}", f"/run/netns/{self.pods[i]}", mappings)  # type: ignore[attr-defined]

    def ours_teardown(self, i: int, hostport: bool) -> None:
        self.network.detach(f"bench{i}", f"/run/netns/{self.pods[i]}")  # type: ignore[attr-defined]

    # the ip command --------------------------------------------------------------------------

    def ip_setup(self, i: int, hostport: bool) -> None:
        ns, veth = self.pods[i], f"refv{i}"
        address = f"{REF_PREFIX}{i % 250 + 2}/16"
        run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        run(["ip", "link", "set", veth, "master", "kyb0", "up"])
        run(["ip", "-n", ns, "addr", "add", address, "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "route", "add", "default", "via", GATEWAY])
        if hostport:
            run(self._dnat("-A", i))

    def ip_teardown(self, i: int, hostport: bool) -> None:
        if hostport:
            run(self._dnat("-D", i))
        run(["ip", "link", "del", f"refv{i}"])

    def _dnat(self, action: str, i: int) -> list[str]:
        return [
            "iptables-legacy", "-w", "-t", "nat", action, "KYB-HOSTPORTS", "-p", "tcp", "--dport",
            str(31000 + i), "-j", "DNAT", "--to-destination", f"{REF_PREFIX}{i % 250 + 2}:8080",
        ]  # fmt: skip


Step = Callable[[int, bool], None]


def timed_cycle(setup: Step, teardown: Step, i: int, hostport: bool) -> tuple[float, float]:
    t0 = time.perf_counter()
    setup(i, hostport)
    t1 = time.perf_counter()
    teardown(i, hostport)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def measure_sequential(setup: Step, teardown: Step, count: int, hostport: bool) -> dict[str, object]:
    setups, teardowns = [], []
    for i in range(count):
        s, t = timed_cycle(setup, teardown, i, hostport)
        setups.append(s)
        teardowns.append(t)
    return {
        "setup": summary(setups),
        "teardown": summary(teardowns),
        "total": summary([a + b for a, b in zip(setups, teardowns, strict=True)]),
    }


def measure_concurrent(
    setup: Step, teardown: Step, width: int, rounds: int, hostport: bool
) -> dict[str, object]:
    setups: list[float] = []
    teardowns: list[float] = []
    walls: list[float] = []
    with ThreadPoolExecutor(max_workers=width) as pool:
        for _ in range(rounds):
            t0 = time.perf_counter()
            results = list(pool.map(lambda i: timed_cycle(setup, teardown, i, hostport), range(width)))
            walls.append(time.perf_counter() - t0)
            setups += [r[0] for r in results]
            teardowns += [r[1] for r in results]
    return {
        "setup": summary(setups),
        "teardown": summary(teardowns),
        "total": summary([a + b for a, b in zip(setups, teardowns, strict=True)]),
        "batch_wall": summary(walls),
    }


def ratio(ours: dict[str, object], ref: dict[str, object], key: str, stat: str) -> float:
    return round(ours[key][stat] / ref[key][stat], 3)  # type: ignore[index]


def inside(args: argparse.Namespace) -> dict[str, object]:
    """Runs in the node namespace: set the node up, create pods, measure both sides."""
    from runtime.network import PodNetwork

    state = Path(tempfile.mkdtemp(prefix="kyb-bench-net-"))
    width = max(args.concurrency, 1)
    pods = [f"{args.tag}-p{i}" for i in range(max(args.sequential, width))]
    try:
        network = PodNetwork(state, POD_CIDR, CLUSTER_CIDR)
        network.ensure_node()
        for name in pods:
            run(["ip", "netns", "add", name])
        sides = Sides(network, pods)
        result: dict[str, object] = {}
        for label, hostport in (("no_hostport", False), ("one_hostport", True)):
            seq_ours = measure_sequential(sides.ours_setup, sides.ours_teardown, args.sequential, hostport)
            seq_ip = measure_sequential(sides.ip_setup, sides.ip_teardown, args.sequential, hostport)
            con_ours = measure_concurrent(sides.ours_setup, sides.ours_teardown, width, args.rounds, hostport)
            con_ip = measure_concurrent(sides.ip_setup, sides.ip_teardown, width, args.rounds, hostport)
            result[label] = {
                "sequential": {
                    "ours": seq_ours,
                    "ip": seq_ip,
                    "ratio_total_median": ratio(seq_ours, seq_ip, "total", "median_ms"),
                    "ratio_total_p95": ratio(seq_ours, seq_ip, "total", "p95_ms"),
                },
                f"concurrent_{width}": {
                    "ours": con_ours,
                    "ip": con_ip,
                    "ratio_total_median": ratio(con_ours, con_ip, "total", "median_ms"),
                    "ratio_total_p95": ratio(con_ours, con_ip, "total", "p95_ms"),
                    "ratio_batch_wall_median": ratio(con_ours, con_ip, "batch_wall", "median_ms"),
                },
            }
        leftovers = [p for p in network.attached()]  # every sandbox was detached again
        result["leftover_attachments"] = leftovers
        network.teardown_node()
        return result
    finally:
        for name in pods:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print(json.dumps({"error": "needs root (network namespaces, iptables)"}))
        return 1
    if args.inside:
        print(json.dumps(inside(args)))
        return 0

    tag = f"kybt-bnet-{secrets.token_hex(3)}"
    node = f"{tag}-node"
    run(["ip", "netns", "add", node])
    try:
        argv = [sys.executable, os.path.abspath(__file__), "--inside", "--tag", tag,
                "--sequential", str(args.sequential), "--concurrency", str(args.concurrency),
                "--rounds", str(args.rounds)]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        r = subprocess.run(
            ["nsenter", f"--net=/run/netns/{node}", *argv], capture_output=True, text=True, env=env
        )
        if r.returncode != 0:
            print(json.dumps({"error": r.stderr.strip()[-2000:]}))
            return 1
        measured = json.loads(r.stdout)
    finally:
        subprocess.run(["ip", "netns", "del", node], capture_output=True)
        for leftover in Path("/run/netns").glob(f"{tag}-*"):
            subprocess.run(["ip", "netns", "del", leftover.name], capture_output=True)
    report = {
        "benchmark": "pod_network",
        "what": "per-sandbox network setup + teardown: PodNetwork.attach/detach vs the ip command",
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
        },
        "params": {"sequential": args.sequential, "concurrency": args.concurrency, "rounds": args.rounds},
        "results": measured,
        "notes": [
            "ratio = ours / ip; below 1 means ours is faster",
            "ip pays one process exec per step (7 per sandbox); ours runs in-process but also does "
            "on-disk IPAM with fsync, the attachment record and bridge-port hairpin",
        ],
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
