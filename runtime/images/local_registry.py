"""A registry on loopback, for labs, tests and benchmarks with no internet.

Starts Debian's ``docker-registry`` (the distribution project's registry) on ``127.0.0.1`` with a
private configuration and storage directory, and pushes image archives into it with Debian's
``skopeo``. Pair it with a registry configuration that lists it as a mirror of ``docker.io`` or
``registry.k8s.io`` to serve those names offline. ``command_prefix`` runs the registry, the
readiness probe and skopeo under another command, e.g. ``nsenter --net=...`` to serve inside a
network namespace whose loopback only a runtime in that namespace can reach.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from runtime.images.errors import ImageError

REGISTRY_BINARY = "docker-registry"
SKOPEO_BINARY = "skopeo"
START_TIMEOUT = 15.0
PUSH_TIMEOUT = 300.0


class LocalRegistryError(ImageError):
    """The local registry could not be started, or an image could not be pushed to it."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
  secret: {secret}
"""


class LocalRegistry:
    """One ``docker-registry`` process; use as a context manager or call start/stop."""

    def __init__(self, workdir: Path, port: int | None = None, command_prefix: list[str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.command_prefix = list(command_prefix or [])
        # Inside another network namespace any port is free: ours may be taken only here.
        self.port = port or (5000 if self.command_prefix else free_port())
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> LocalRegistry:
        if shutil.which(REGISTRY_BINARY) is None:
            raise LocalRegistryError(f"{REGISTRY_BINARY} not found (apt-get install docker-registry)")
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yml"
        config.write_text(_CONFIG.format(storage=storage, port=self.port, secret=secrets.token_hex(16)))
        log = open(self.workdir / "registry.log", "wb")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [*self.command_prefix, REGISTRY_BINARY, "serve", str(config)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = (self.workdir / "registry.log").read_text(errors="replace")[-2000:]
                raise LocalRegistryError(f"docker-registry exited with {self.proc.returncode}: {text}")
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise LocalRegistryError(f"docker-registry did not answer on {self.host} within {START_TIMEOUT}s")

    def _answers(self) -> bool:
        if self.command_prefix:  # only a process in the registry's namespace can ask
            probe = f"import urllib.request; urllib.request.urlopen('{self.url}/v2/', timeout=1)"
            try:
                return subprocess.run([*self.command_prefix, sys.executable, "-c", probe],
                                      capture_output=True, timeout=10).returncode == 0
            except subprocess.TimeoutExpired:
                return False
        conn = http.client.HTTPConnection(self.host, timeout=1)
        try:
            conn.request("GET", "/v2/")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def push(self, archive: Path, repository: str, all_platforms: bool = True) -> None:
        """Copy an OCI archive to ``<this registry>/<repository>`` (``name:tag``), digests kept."""
        cmd = [*self.command_prefix, SKOPEO_BINARY, "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests"]
        if all_platforms:
            cmd.append("--all")
        cmd += [f"oci-archive:{archive}", f"docker://{self.host}/{repository}"]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=PUSH_TIMEOUT)
        except FileNotFoundError as e:
            raise LocalRegistryError("skopeo not found (apt-get install skopeo)") from e
        if result.returncode != 0:
            raise LocalRegistryError(f"skopeo copy to {self.host}/{repository} failed: {result.stderr.strip()}")

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
