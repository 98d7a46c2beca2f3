"""Helpers for pod-network tests: every namespace, process and file made here is removed again.

All kernel state lives in network namespaces named ``kybt-...`` that the tests create: "nodes"
(where a PodNetwork runs, in a node agent process entered into the namespace with nsenter),
"pods" (plain namespaces standing in for sandbox holders) and "outside" hosts. iptables tables
are per namespace, so rules made in a node namespace never reach the host.
"""

from __future__ import annotations

import json
import secrets
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

AGENT = Path(__file__).with_name("node_agent.py")
TIMEOUT = 30.0


def ns_path(name: str) -> str:
    return f"/run/netns/{name}"


def run_in(
    ns: str, *argv: str, timeout: float = TIMEOUT, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nsenter", f"--net={ns_path(ns)}", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


class AgentError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class NodeAgent:
    """A PodNetwork in its own process inside a node namespace."""

    def __init__(self, ns: str, state_dir: Path, pod_cidr: str, cluster_cidr: str) -> None:
        self.ns = ns
        self.state_dir = state_dir
        self.pod_cidr = pod_cidr
        self.proc = subprocess.Popen(
            [
                "nsenter",
                f"--net={ns_path(ns)}",
                sys.executable,
                str(AGENT),
                str(state_dir),
                pod_cidr,
                cluster_cidr,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._read()

    def _read(self) -> Any:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        if not ready:
            raise TimeoutError(f"node agent in {self.ns} did not answer within {TIMEOUT}s")
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"node agent in {self.ns} died: {err}")
        reply = json.loads(line)
        if "error" in reply:
            raise AgentError(reply["error"], reply["message"])
        return reply["ok"]

    def send(self, op: str, **args: Any) -> None:
        """Start a request without waiting for it (to run several agents at once)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> Any:
        return self._read()

    def call(self, op: str, **args: Any) -> Any:
        self.send(op, **args)
        return self._read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


class Lab:
    """Creates namespaces, links, agents and background processes; ``close`` removes them all."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.tag = secrets.token_hex(3)
        self.namespaces: list[str] = []
        self.agents: list[NodeAgent] = []
        self.procs: list[subprocess.Popen[str]] = []

    def delete_netns(self, name: str) -> None:
        subprocess.run(["ip", "netns", "del", name], check=True, timeout=TIMEOUT)
        self.namespaces.remove(name)

    def netns(self, role: str) -> str:
        name = f"kybt-{role}-{self.tag}"[:40]
        subprocess.run(["ip", "netns", "add", name], check=True, timeout=TIMEOUT)
        self.namespaces.append(name)
        run_in(name, "ip", "link", "set", "lo", "up")
        return name

    def wire(self, a: str, a_addr: str, b: str, b_addr: str) -> None:
        """A veth between two namespaces, addressed on both ends (``a_addr`` like 192.168.7.1/24)."""
        left, right = f"l{secrets.token_hex(4)}", f"r{secrets.token_hex(4)}"
        subprocess.run(
            ["ip", "link", "add", left, "netns", a, "type", "veth", "peer", "name", right, "netns", b],
            check=True,
            timeout=TIMEOUT,
        )
        for ns, dev, addr in ((a, left, a_addr), (b, right, b_addr)):
            run_in(ns, "ip", "addr", "add", addr, "dev", dev)
            run_in(ns, "ip", "link", "set", dev, "up")

    def agent(
        self, ns: str, pod_cidr: str, cluster_cidr: str = "10.244.0.0/16", state: str = ""
    ) -> NodeAgent:
        state_dir = self.tmp_path / (state or f"state-{ns}")
        agent = NodeAgent(ns, state_dir, pod_cidr, cluster_cidr)
        self.agents.append(agent)
        return agent

    def background(self, ns: str, *argv: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            ["nsenter", f"--net={ns_path(ns)}", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for agent in self.agents:
            agent.stop()
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], timeout=TIMEOUT, check=False)


# -- tiny TCP peers, run inside namespaces with nsenter --------------------------------------

WHO_SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
print("ready", flush=True)
while True:
    c, peer = s.accept()
    c.sendall(f"{sys.argv[2]} sees {peer[0]}".encode()); c.close()
"""

CLIENT = """
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(c.recv(200).decode())
"""


UDP_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(100)
    s.sendto(sys.argv[2].encode(), peer)
"""

UDP_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[3])))
s.settimeout(1)
s.sendto(b"hi", (sys.argv[1], int(sys.argv[2])))
print(s.recvfrom(100)[0].decode())
"""


def serve_udp(lab: Lab, ns: str, port: int, name: str) -> None:
    """Start a UDP server in ``ns`` answering every datagram with ``name``."""
    proc = lab.background(ns, sys.executable, "-c", UDP_SERVER, str(port), name)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    assert ready and proc.stdout.readline().strip() == "ready", f"UDP server in {ns} did not start"


def ask_udp(ns: str, host: str, port: int, source_port: int) -> str:
    """One datagram from a fixed source port (so it is the same conntrack flow each time)."""
    result = run_in(ns, sys.executable, "-c", UDP_CLIENT, host, str(port), str(source_port), check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def serve_who(lab: Lab, ns: str, port: int, name: str) -> None:
    """Start a server in ``ns`` answering "<name> sees <peer address>"; returns once listening."""
    proc = lab.background(ns, sys.executable, "-c", WHO_SERVER, str(port), name)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    assert ready and proc.stdout.readline().strip() == "ready", f"server in {ns} did not start"


def fetch(ns: str, host: str, port: int) -> str:
    """Connect from ``ns`` to host:port and return what the server said (retries briefly)."""
    deadline = time.monotonic() + 10
    while True:
        result = run_in(ns, sys.executable, "-c", CLIENT, host, str(port), check=False)
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert result.returncode == 0, f"{ns} -> {host}:{port} failed: {result.stderr.strip()[-300:]}"
    return result.stdout.strip()


def ping(ns: str, address: str) -> bool:
    return run_in(ns, "busybox", "ping", "-c", "1", "-W", "2", address, check=False).returncode == 0


def links(ns: str) -> list[str]:
    out = run_in(ns, "ip", "-o", "link", "show").stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def iptables_save(ns: str) -> str:
    return run_in(ns, "iptables-legacy-save").stdout


def ruleset(ns: str, table: str) -> list[str]:
    """The rules and chains of one table, without comments and packet counters."""
    out = run_in(ns, "iptables-legacy-save", "-t", table).stdout
    return [line.split(" [")[0] for line in out.splitlines() if line and not line.startswith("#")]


def pod_address(ns: str) -> str:
    out = run_in(ns, "ip", "-o", "-4", "addr", "show", "dev", "eth0", check=False).stdout
    return out.split()[3].split("/")[0] if out.strip() else ""
