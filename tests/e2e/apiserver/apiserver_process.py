"""Starting and stopping a real `kyb apiserver` process, and running the real kubectl against it.

The server is started with ``--port 0``; the kubeconfig it writes once it listens tells the
tests (and kubectl) where it is. One server per test module keeps the suite quick.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

KYB = [sys.executable, "-m", "kyb"]


@dataclass
class ApiserverProcess:
    proc: subprocess.Popen
    data_dir: Path
    kubeconfig: Path
    url: str
    cache_dir: Path

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60, stdin: str | None = None) \
            -> subprocess.CompletedProcess:
        cmd = ["kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=stdin)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result


def start_apiserver(data_dir: Path, *extra: str) -> ApiserverProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    kubeconfig = data_dir / "kubeconfig"
    kubeconfig.unlink(missing_ok=True)
    log = open(data_dir / "apiserver.log", "ab")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([*KYB, "apiserver", "--data-dir", str(data_dir), "--port", "0", *extra],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while not kubeconfig.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"apiserver did not start: {(data_dir / 'apiserver.log').read_text()}")
        time.sleep(0.05)
    url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    while True:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("apiserver never became ready")
        time.sleep(0.05)
    return ApiserverProcess(proc, data_dir, kubeconfig, url, data_dir / "kubectl-cache")


def stop_apiserver(server: ApiserverProcess, sig: int = signal.SIGTERM) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(sig)
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)


