"""Run a single-member etcd (Debian's ``etcd-server``) on loopback, for tests and benchmarks.

Ports are picked free by binding port 0 and releasing it; if etcd still loses the race for a
port it exits, and ``start`` tries again with new ports. The race can be lost to another etcd,
whose health endpoint then answers on our port: so etcd is up only once the port answers and
the listener is our process's. The data dir is the caller's.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

from apiserver.storage.interface import Unavailable


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EtcdProcess:
    def __init__(self, data_dir: Path, binary: str = "etcd", name: str = "kyb-etcd") -> None:
        self.data_dir = Path(data_dir)
        self.binary = shutil.which(binary) or binary
        self.name = name
        self.client_port = 0
        self.peer_port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def datastore(self) -> str:
        return f"etcd://{self.endpoint}"

    def start(self, timeout: float = 20.0, attempts: int = 3) -> None:
        last = ""
        for _ in range(attempts):
            self.client_port, self.peer_port = free_port(), free_port()
            if self._try_start(timeout):
                return
            last = self._log_tail()
        raise Unavailable(f"etcd did not start: {last}")

    def _try_start(self, timeout: float) -> bool:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        client = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        log_file = open(self.data_dir / "etcd.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--name",
                self.name,
                "--data-dir",
                str(self.data_dir / "member-data"),
                "--listen-client-urls",
                client,
                "--advertise-client-urls",
                client,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                f"{self.name}={peer}",
                "--initial-cluster-state",
                "new",
                "--log-level",
                "error",
                "--logger",
                "zap",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        log_file.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._healthy() and self._listens_on_client_port():
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def _healthy(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.client_port}/health", timeout=1) as r:
                return b'"health":"true"' in r.read()
        except OSError:
            return False

    def _listens_on_client_port(self) -> bool:
        assert self.proc is not None
        try:
            sockets = psutil.Process(self.proc.pid).net_connections(kind="tcp")
        except psutil.Error:
            return False
        return any(s.status == psutil.CONN_LISTEN and s.laddr.port == self.client_port for s in sockets)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.data_dir / "etcd.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> EtcdProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
