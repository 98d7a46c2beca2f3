"""A `docker-registry` serving plain HTTP inside the runtime's network namespace, fed by skopeo.

critest pulls its test images from public registries. Offline, the image specs pull from this
registry instead: the daemon is started with a registry configuration that makes it the mirror
of a made-up registry host, so the image names keep critest's shape (``host/path/name:tag``).
Registry and skopeo run with ``nsenter --net`` because only the daemon's namespace can reach
the registry's loopback address.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.references import netns

PORT = 5000
_CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def registries_toml(mirrored_host: str, port: int = PORT) -> str:
    """The `kyb runtime --registry-config` that sends pulls of `mirrored_host` to this registry."""
    return f'[registries."{mirrored_host}"]\nmirrors = ["http://127.0.0.1:{port}"]\nskip_upstream = true\n'


class NetnsRegistry:
    def __init__(self, netns_name: str, workdir: Path, port: int = PORT) -> None:
        self.netns_name = netns_name
        self.workdir = workdir
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def _run(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*netns.nsenter_prefix(self.netns_name), *argv], capture_output=True, text=True,
                              timeout=timeout)

    def start(self, timeout: float = 20.0) -> NetnsRegistry:
        (self.workdir / "storage").mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yml"
        config.write_text(_CONFIG.format(storage=self.workdir / "storage", port=self.port))
        with open(self.workdir / "registry.log", "wb") as log:
            self.proc = subprocess.Popen([*netns.nsenter_prefix(self.netns_name), "docker-registry", "serve", str(config)],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        probe = f"import urllib.request;urllib.request.urlopen('http://127.0.0.1:{self.port}/v2/', timeout=1)"
        deadline = time.monotonic() + timeout
        while self._run([sys.executable, "-c", probe], 10).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"docker-registry did not come up: {(self.workdir / 'registry.log').read_text()[-1000:]}")
            time.sleep(0.1)
        return self

    def push(self, archive: Path, repository: str) -> None:
        """Copy an OCI archive to `repository` (``path/name:tag``) in this registry, digests kept."""
        result = self._run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests",
                            f"oci-archive:{archive}", f"docker://127.0.0.1:{self.port}/{repository}"], 120)
        if result.returncode != 0:
            raise RuntimeError(f"skopeo copy {archive} -> {repository}: {result.stderr.strip()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None
