"""A PodNetwork driven over stdin/stdout, run by the tests inside a node's network namespace.

One JSON request per line: {"op": "attach", "args": {...}}; one JSON reply per line:
{"ok": result} or {"error": "ExceptionClass", "message": "..."}. ``attach_many`` attaches
several sandboxes from concurrent threads to exercise the locking.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from runtime.network import PodNetwork, PortMapping


def attach_many(network: PodNetwork, pods: list[list[str]]) -> list[Any]:
    def one(pod: list[str]) -> Any:
        try:
            return network.attach(pod[0], pod[1], [])
        except Exception as e:  # noqa: BLE001 - reported to the test
            return {"error": type(e).__name__, "message": str(e)}

    with ThreadPoolExecutor(max_workers=max(1, len(pods))) as pool:
        return list(pool.map(one, pods))


def handle(network: PodNetwork, op: str, args: dict[str, Any]) -> Any:
    if op == "ensure_node":
        return network.ensure_node()
    if op == "status":
        return list(network.status())
    if op == "attach":
        mappings = [PortMapping(**m) for m in args.get("port_mappings", [])]
        return network.attach(args["sandbox_id"], args["netns_path"], mappings)
    if op == "attach_many":
        return attach_many(network, args["pods"])
    if op == "detach":
        return network.detach(args["sandbox_id"], args.get("netns_path"))
    if op == "ip_of":
        return network.ip_of(args["sandbox_id"])
    if op == "set_routes":
        return network.set_routes([tuple(r) for r in args["routes"]])
    if op == "teardown_node":
        return network.teardown_node()
    raise ValueError(f"unknown op {op}")


def main() -> int:
    state_dir, pod_cidr, cluster_cidr = sys.argv[1:4]
    network = PodNetwork(Path(state_dir), pod_cidr, cluster_cidr)
    print(json.dumps({"ok": "ready"}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = {"ok": handle(network, request["op"], request.get("args", {}))}
        except Exception as e:  # noqa: BLE001 - reported to the test
            reply = {"error": type(e).__name__, "message": str(e)}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
