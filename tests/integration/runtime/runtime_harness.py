"""A real `kyb runtime` per test: own network namespace, root, socket and cgroup root.

The daemon runs in a fresh netns (entered with nsenter --net only, so it still sees the host's
mounts and cgroups) with busybox imported into its image store. Teardown removes every pod
through the CRI, then makes sure by force: kills any shim, holder or container process the
state mentions or the cgroups still hold, unmounts anything under the root, removes the cgroup
tree and the netns. A failing test leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from cri import api_pb2
from cri.client import RuntimeClient
from runtime.images.store import ImageStore
from runtime.linux.syscalls import CLONE_NEWNET, LibcKernel

START_TIMEOUT = 30.0
T = TypeVar("T")
POD_CIDR = "10.244.7.0/24"  # for the `networked` fixture: each runtime has a network namespace of its own
CGROUP_BASE = "/sys/fs/cgroup"


def pod_config(name: str, *, pid: int = api_pb2.CONTAINER, network: int = api_pb2.POD, ipc: int = api_pb2.POD,
               log_directory: str = "", hostname: str = "") -> api_pb2.PodSandboxConfig:
    return api_pb2.PodSandboxConfig(
        metadata=api_pb2.PodSandboxMetadata(name=name, namespace="default", uid=secrets.token_hex(8)),
        hostname=hostname or name,
        log_directory=log_directory,
        labels={"app": name},
        linux=api_pb2.LinuxPodSandboxConfig(security_context=api_pb2.LinuxSandboxSecurityContext(
            namespace_options=api_pb2.NamespaceOption(network=network, pid=pid, ipc=ipc))),
    )


def container_config(name: str, command: list[str], *, pid: int = api_pb2.CONTAINER, log_path: str = "",
                     **linux: object) -> api_pb2.ContainerConfig:
    security = api_pb2.LinuxContainerSecurityContext(namespace_options=api_pb2.NamespaceOption(pid=pid))
    resources = linux.pop("resources", None)
    for key, value in linux.items():
        if isinstance(value, api_pb2.Capability):
            security.capabilities.CopyFrom(value)
        elif isinstance(value, api_pb2.Int64Value):
            getattr(security, key).CopyFrom(value)
        elif isinstance(value, list):
            getattr(security, key).extend(value)
        else:
            setattr(security, key, value)
    config = api_pb2.ContainerConfig(
        metadata=api_pb2.ContainerMetadata(name=name),
        image=api_pb2.ImageSpec(image="busybox:latest"),
        command=command,
        log_path=log_path,
        labels={"container": name},
        annotations={"note": f"{name}-annotation"},
        linux=api_pb2.LinuxContainerConfig(security_context=security),
    )
    if resources is not None:
        config.linux.resources.CopyFrom(resources)
    return config


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def run_in_netns(netns: str, make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 30.0) -> T:
    """Run a client coroutine in a thread that entered the daemon's network namespace, where its
    streaming server listens on loopback; its result or its exception comes back here."""
    result: list[T] = []
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with open(f"/run/netns/{netns}") as f:
                LibcKernel().setns(f.fileno(), CLONE_NEWNET)  # this thread only
            result.append(asyncio.run(asyncio.wait_for(make(), timeout)))
        except BaseException as e:  # noqa: B036 - re-raised in the test's thread
            errors.append(e)

    thread = threading.Thread(target=client)
    thread.start()
    thread.join(timeout + 10)
    if errors:
        raise errors[0]
    if not result:
        raise AssertionError(f"the client in {netns} did not finish within {timeout + 10}s")
    return result[0]


def wait_exit_code(cri: RuntimeClient, container: str, timeout: float = 10.0) -> int:
    """The container's exit code, once ContainerStatus says it exited."""
    def exited() -> api_pb2.ContainerStatus | None:
        status = cri.container_status(container).status
        return status if status.state == api_pb2.CONTAINER_EXITED else None

    return wait_for(exited, timeout, what=f"container {container} to exit").exit_code


class RuntimeUnderTest:
    def __init__(self, tmp_path: Path, busybox_archive: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.extra_args = list(extra_args)
        self.name = secrets.token_hex(4)
        self.netns = f"kybt-rt-{self.name}"
        self.run_dir = Path(f"/run/kybt-rt-{self.name}")
        self.socket = self.run_dir / "cri.sock"
        self.root = tmp_path / "root"
        self.logs = tmp_path / "logs"
        self.cgroup_root = f"/kybt-{self.name}"
        self.process: subprocess.Popen[bytes] | None = None
        self.client: RuntimeClient | None = None
        self.run_dir.mkdir(parents=True)
        self.logs.mkdir()
        ImageStore(self.root / "images").import_archive(busybox_archive)
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.in_netns("ip", "link", "set", "lo", "up")  # the exec streaming server listens on 127.0.0.1

    def start(self) -> RuntimeClient:
        stderr = open(self.run_dir / "daemon.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.netns}", sys.executable, "-m", "kyb", "runtime",
             "--socket", str(self.socket), "--root", str(self.root), "--cgroup-root", self.cgroup_root,
             *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
        stderr.close()
        client = RuntimeClient(f"unix://{self.socket}", timeout=60)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"runtime exited: {self.daemon_log()}")
            try:
                client.version()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.client = client
        return client

    def daemon_log(self) -> str:
        try:
            return (self.run_dir / "daemon.log").read_text()
        except OSError:
            return ""

    def kill_daemon_during(self, work: Callable[[RuntimeClient, threading.Event], None], pause: float) -> RuntimeClient:
        """Run ``work(client, stop)`` in a thread with a client of its own, SIGKILL the daemon
        after ``pause`` seconds, let the work end (it must return once its calls fail or ``stop``
        is set), start the daemon again and return the new client."""
        stop = threading.Event()

        def run() -> None:
            with RuntimeClient(f"unix://{self.socket}", timeout=20) as client:
                work(client, stop)

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(pause)
        self.kill_daemon()
        stop.set()
        worker.join(30)
        return self.start()

    def kill_daemon(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop_daemon(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    # -- what the runtime left on the machine ---------------------------------------------------
    def cgroup_dirs(self) -> list[str]:
        found = []
        for hierarchy in os.listdir(CGROUP_BASE):
            top = os.path.join(CGROUP_BASE, hierarchy, self.cgroup_root.lstrip("/"))
            for dirpath, _dirs, _files in os.walk(top):
                if dirpath != top:
                    found.append(dirpath)
        return found

    def cgroup_pids(self) -> set[int]:
        pids: set[int] = set()
        for d in self.cgroup_dirs():
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in Path(d, "cgroup.procs").read_text().split())
        return pids

    def state_pids(self) -> set[int]:
        pids: set[int] = set()
        for kind in ("sandboxes", "containers"):
            for record_file in (self.root / kind).glob("*/record.json"):
                with contextlib.suppress(OSError, ValueError):
                    record = json.loads(record_file.read_text())
                    for key in ("pid", "shim_pid"):
                        if record.get(key):
                            pids.add(int(record[key]))
                    if "holder" in record:
                        pids.add(int(record["holder"]["pid"]))
        return pids

    def in_netns(self, *command: str) -> str:
        """Run a command in the daemon's network namespace (the test's 'node')."""
        return subprocess.run(["nsenter", f"--net=/run/netns/{self.netns}", *command],
                              check=True, capture_output=True, text=True).stdout

    def mounts_under_root(self) -> list[str]:
        prefixes = (str(self.root), str(self.run_dir))
        with open("/proc/self/mountinfo") as f:
            return [line.split()[4] for line in f if line.split()[4].startswith(prefixes)]

    def teardown(self) -> None:
        if self.process is not None and self.process.poll() is None and self.client is not None:
            with contextlib.suppress(Exception):
                for pod in self.client.list_pod_sandbox():
                    self.client.remove_pod_sandbox(pod.id)
        self.stop_daemon()
        for pid in self.state_pids() | self.cgroup_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for mount in sorted(self.mounts_under_root(), key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False)
        for hierarchy in os.listdir(CGROUP_BASE):
            top = os.path.join(CGROUP_BASE, hierarchy, self.cgroup_root.lstrip("/"))
            for dirpath, _dirs, _files in sorted(os.walk(top, topdown=False), key=lambda w: -len(w[0])):
                deadline = time.monotonic() + 5
                while os.path.isdir(dirpath):
                    try:
                        os.rmdir(dirpath)
                    except OSError:
                        if time.monotonic() > deadline:
                            break
                        time.sleep(0.05)
        subprocess.run(["ip", "netns", "del", self.netns], check=False)
        shutil.rmtree(self.run_dir, ignore_errors=True)


@contextlib.contextmanager
def subtree_control_restored(root: str) -> Iterator[None]:
    """A test's cgroup2 driver enables controllers down from the hierarchy's root, as runc's
    does; the root is the host's, so whatever it enabled there is disabled again afterwards."""
    control = os.path.join(root, "cgroup.subtree_control")
    before = set(Path(control).read_text().split())
    try:
        yield
    finally:
        added = set(Path(control).read_text().split()) - before
        deadline = time.monotonic() + 5.0
        while added:  # EBUSY while removed child cgroups are still being torn down
            try:
                Path(control).write_text(" ".join("-" + c for c in sorted(added)))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
