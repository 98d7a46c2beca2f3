"""Our own `kyb runtime` on a private socket and root, in a network namespace of its own.

The same shape as the containerd harness, so tests and the benchmark drive both alike: a fresh
`kybt-` network namespace (the daemon is started with `nsenter --net`, keeping the host's /sys
and cgroup mounts visible), a temporary root holding images and state, its cgroup root named
after the harness, pod networking on a bridge inside that namespace (as containerd's CNI bridge
is for the containerd harness), images imported up front with `kyb image import --root`, and a
teardown that removes pods through CRI and then forces
away whatever is left (processes in the harness's cgroups, mounts under its root, cgroups, the
namespace, the directory).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from bench.references import netns, teardown


class KybRuntimeError(RuntimeError):
    """The daemon did not come up; the message carries the tail of its log."""


class KybRuntimeHarness:
    """One `kyb runtime` daemon; use as a context manager or call start() and stop()."""

    def __init__(
        self, base_dir: str | None = None, python: str = sys.executable, pod_cidr: str | None = "10.89.0.0/16"
    ) -> None:
        self.name = netns.unique_name("kyb")
        self.base = base_dir or tempfile.mkdtemp(prefix=f"{self.name}-")
        self.root = os.path.join(self.base, "root")
        self.socket = os.path.join(self.base, "kyb.sock")
        self.endpoint = f"unix://{self.socket}"
        self.cgroup_parent = f"/{self.name}"
        self.log_path = os.path.join(self.base, "runtime.log")
        self.python = python
        self.pod_cidr = pod_cidr
        self._proc: subprocess.Popen[bytes] | None = None
        self._netns_made = False

    def import_archive(self, path: str) -> None:
        r = subprocess.run(
            [self.python, "-m", "kyb", "image", "import", "--root", self.root, path],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if r.returncode != 0:
            raise KybRuntimeError(f"kyb image import {path}: {r.stderr.strip()}")

    def start(self, timeout: float = 30.0) -> KybRuntimeHarness:
        try:
            os.makedirs(self.root, exist_ok=True)
            netns.create(self.name)
            self._netns_made = True
            teardown.become_subreaper()
            log = open(self.log_path, "ab")
            self._proc = subprocess.Popen(
                [
                    *netns.nsenter_prefix(self.name),
                    self.python,
                    "-m",
                    "kyb",
                    "runtime",
                    "--socket",
                    self.socket,
                    "--root",
                    self.root,
                    "--cgroup-root",
                    self.cgroup_parent,
                    *(["--pod-cidr", self.pod_cidr] if self.pod_cidr else []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        import grpc

        from cri import api_pb2, api_pb2_grpc

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise KybRuntimeError(f"kyb runtime exited with {self._proc.returncode}: {self.log_tail()}")
            if os.path.exists(self.socket):
                try:
                    with grpc.insecure_channel(self.endpoint) as ch:
                        api_pb2_grpc.RuntimeServiceStub(ch).Version(
                            api_pb2.VersionRequest(version="v1"), timeout=2
                        )
                    return
                except grpc.RpcError:
                    pass
            time.sleep(0.1)
        raise KybRuntimeError(f"kyb runtime not ready after {timeout}s: {self.log_tail()}")

    def daemon_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def helper_pids(self, comm: str) -> list[int]:
        """Our processes named `comm` (kyb-shim, kyb-holder, kyb-forkserver) serving this root.

        They are forked from the fork server, so their command line is the fork server's, which
        names a socket under this harness's root.
        """
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() != comm:
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read()
            except OSError:
                continue
            if self.base.encode() in argv:
                found.append(int(entry))
        return sorted(found)

    def shim_pids(self) -> list[int]:
        return self.helper_pids("kyb-shim")

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return " | ".join(f.read().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _pids(self) -> set[int]:
        pids = teardown.cgroup_pids(self.name)
        for comm in ("kyb-shim", "kyb-holder", "kyb-forkserver"):
            pids.update(self.helper_pids(comm))
        pids.update(teardown.pids_mentioning(self.base + "/"))
        return pids

    def stop(self) -> None:
        """Remove every trace of this daemon; safe to call more than once and after failures."""
        helpers = self._pids()
        if self._proc is not None and self._proc.poll() is None:
            teardown.remove_pods_via_cri(self.endpoint)
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=10)
        self._proc = None
        teardown.kill_all(self._pids)
        teardown.reap(helpers)
        teardown.reap_zombie_children({"kyb-shim", "kyb-holder", "kyb-forkserver"})
        teardown.unmount_under(self.base)
        teardown.remove_cgroups(self.name)
        if self._netns_made:
            netns.delete(self.name)
            self._netns_made = False
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> KybRuntimeHarness:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
