"""The runtime under validation and the small vocabulary the critest re-expressions share.

critest (kubernetes-sigs/cri-tools, ``pkg/validate``) drives a CRI runtime with nothing but the
CRI v1 API plus a few host-side checks (files the test made, mounts it made, a TCP port). The
tests in this folder do the same against a real ``kyb runtime``: one daemon per test module,
started by the project's harness in a network namespace of its own, with busybox imported. The
daemon is given a pod CIDR (critest requires ``NetworkReady``, and its networking specs need
pod IPs) and a cgroup root named after the harness, so the harness's forced teardown finds
every cgroup it made.

The same tests run against Debian's containerd instead when ``KYB_CRI_VALIDATION_RUNTIME`` is
``containerd`` (``ContainerdUnderValidation``): what containerd passes shows that a test reads
critest as the reference runtime does, not only as ours does.

Helpers here build configs the way critest's framework does (``CreatePodSandboxForContainer``,
``CreateDefaultContainer``: busybox running ``top``), wait with bounded polls, and remove a
test's pods even when the test fails.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import grpc

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.references import netns  # noqa: E402
from bench.references.containerd import ContainerdHarness  # noqa: E402
from bench.references.kyb_runtime import KybRuntimeHarness  # noqa: E402
from cri import api_pb2 as v1  # noqa: E402
from cri import api_pb2_grpc as v1_grpc  # noqa: E402

BUSYBOX = "docker.io/library/busybox:latest"
POD_CIDR = "10.91.0.0/24"
EXEC_TIMEOUT = 30  # critest's defaultExecSyncTimeout
PAUSE_CMD = ["sh", "-c", "top"]  # critest's pauseCmd
DEFAULT_CMD = ["top"]  # critest's framework.DefaultContainerCommand
RUNTIME_ENV = "KYB_CRI_VALIDATION_RUNTIME"  # "kyb" (the default) or "containerd"
T = TypeVar("T")


def runtime_kind() -> str:
    kind = os.environ.get(RUNTIME_ENV, "kyb") or "kyb"
    if kind not in ("kyb", "containerd"):
        raise ValueError(f"{RUNTIME_ENV}={kind!r}: expected kyb or containerd")
    return kind


class NetworkedKybRuntime(KybRuntimeHarness):
    """The project's harness, with the daemon given a pod CIDR and a cgroup root of its own."""

    kind = "kyb"

    def __init__(self, pod_cidr: str = POD_CIDR, extra_args: tuple[str, ...] = (),
                 registry_mirrors: dict[str, str] | None = None) -> None:
        super().__init__()
        self.pod_cidr = pod_cidr
        self.extra_args = extra_args
        if registry_mirrors:
            self.extra_args += ("--registry-config", self._write_registry_config(registry_mirrors))

    def _write_registry_config(self, registry_mirrors: dict[str, str]) -> str:
        path = os.path.join(self.base, "registries.toml")
        with open(path, "w") as f:
            for host, url in sorted(registry_mirrors.items()):
                f.write(f'[registries."{host}"]\nmirrors = ["{url}"]\nskip_upstream = true\n')
        return path

    def start(self, timeout: float = 30.0) -> NetworkedKybRuntime:
        from bench.references import teardown

        try:
            os.makedirs(self.root, exist_ok=True)
            netns.create(self.name)
            self._netns_made = True
            teardown.become_subreaper()
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    [
                        *netns.nsenter_prefix(self.name), self.python, "-m", "kyb", "runtime",
                        "--socket", self.socket, "--root", self.root,
                        "--cgroup-root", self.cgroup_parent, "--pod-cidr", self.pod_cidr, *self.extra_args,
                    ],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                    cwd=str(REPO),
                )
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def in_netns(self, argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run a host command inside the daemon's network namespace (the "node")."""
        return subprocess.run([*netns.nsenter_prefix(self.name), *argv], capture_output=True, text=True,
                              timeout=timeout)


# Where Debian's containerd (1.6) answers otherwise, or may (a race of its own), and why; run
# against it, these tests are expected to fail (xfail, not strict). Everything else passes against
# both runtimes.
CONTAINERD_DIFFERS = {
    "test_stopping_and_removing_a_container_that_does_not_exist_succeed":
        "containerd 1.6 answers NOT_FOUND; critest's Idempotence specs require success",
    "test_stopping_a_pod_sandbox_that_does_not_exist_succeeds":
        "containerd 1.6 answers NOT_FOUND; critest's Idempotence specs require success",
    "test_exit_code_reason_and_times_of_a_finished_container":
        "containerd 1.6 may stamp started_at after finished_at for a container that exits at once",
    "test_container_status_round_trips_config": "containerd 1.6 leaves ContainerStatus.image_id unset",
    "test_memory_limit_kills_with_oomkilled_reason_and_code_137":
        "containerd 1.6 may report reason Error: its shim can send the exit before the OOM event "
        "(containerd issues 8180 and 12260; containerd 2 sends the OOM event first)",
    "test_the_same_image_identifier_across_all_apis": "containerd 1.6 leaves the containers' image_id unset",
    "test_the_same_image_has_the_same_identifier_under_two_names": "containerd 1.6 leaves the containers' image_id unset",
    "test_run_as_group_without_run_as_user_is_refused":
        "containerd 1.6 refuses it with UNKNOWN; critest asks only for an error, we answer INVALID_ARGUMENT",
    "test_default_masked_and_readonly_paths": "containerd 1.6 masks nothing when the config names no paths",
    "test_image_fs_info_reports_usage": "containerd 1.6 counts the snapshots' usage later, in the background",
    "test_port_forward[websocket]": "containerd 1.6's streaming server speaks only SPDY",
    "test_port_forward_in_host_network[websocket]": "containerd 1.6's streaming server speaks only SPDY",
}


class ContainerdUnderValidation(ContainerdHarness):
    """Debian's containerd in the validation tests' place (see ``RUNTIME_ENV``)."""

    kind = "containerd"

    def __init__(self, registry_mirrors: dict[str, str] | None = None) -> None:
        super().__init__(registry_mirrors=registry_mirrors, pod_subnet=POD_CIDR, port_mappings=True)

    def in_netns(self, argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*netns.nsenter_prefix(self.name), *argv], capture_output=True, text=True,
                              timeout=timeout)


class Cri:
    """The two CRI services over one channel, plus the lifecycle steps critest repeats."""

    def __init__(self, harness: NetworkedKybRuntime | ContainerdUnderValidation) -> None:
        self.harness = harness
        self.channel = grpc.insecure_channel(harness.endpoint)
        self.rt = v1_grpc.RuntimeServiceStub(self.channel)
        self.img = v1_grpc.ImageServiceStub(self.channel)
        self.cgroup_parent = harness.cgroup_parent

    def close(self) -> None:
        self.channel.close()

    # ------------------------------------------------------------------ sandboxes
    def pod_config(self, prefix: str, **fields: object) -> v1.PodSandboxConfig:
        """critest's BuildPodSandboxMetadata + DefaultPodLabels, with our cgroup parent."""
        name = f"{prefix}{secrets.token_hex(4)}"
        config = v1.PodSandboxConfig(
            metadata=v1.PodSandboxMetadata(name=name, uid=f"uid-{secrets.token_hex(6)}",
                                           namespace=f"ns-{secrets.token_hex(4)}", attempt=0),
            labels={"io.kubernetes.pod.name": name},
        )
        config.linux.cgroup_parent = self.cgroup_parent
        for key, value in fields.items():
            if key == "linux":
                config.linux.MergeFrom(value)  # type: ignore[arg-type]
            elif isinstance(value, dict):
                getattr(config, key).update(value)
            elif isinstance(value, list):
                getattr(config, key).extend(value)
            elif hasattr(value, "CopyFrom"):
                getattr(config, key).CopyFrom(value)
            else:
                setattr(config, key, value)
        return config

    def run_pod(self, config: v1.PodSandboxConfig) -> str:
        return self.rt.RunPodSandbox(v1.RunPodSandboxRequest(config=config), timeout=60).pod_sandbox_id

    def pod_status(self, pod_id: str, verbose: bool = False) -> v1.PodSandboxStatusResponse:
        return self.rt.PodSandboxStatus(v1.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=verbose), timeout=10)

    def list_pods(self, **filter_fields: object) -> list[v1.PodSandbox]:
        f = v1.PodSandboxFilter()
        for key, value in filter_fields.items():
            if key == "state":
                f.state.state = value  # type: ignore[assignment]
            elif key == "label_selector":
                f.label_selector.update(value)  # type: ignore[arg-type]
            else:
                setattr(f, key, value)
        return list(self.rt.ListPodSandbox(v1.ListPodSandboxRequest(filter=f), timeout=10).items)

    def stop_pod(self, pod_id: str) -> None:
        self.rt.StopPodSandbox(v1.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)

    def remove_pod(self, pod_id: str) -> None:
        self.rt.RemovePodSandbox(v1.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)

    @contextmanager
    def pod(self, prefix: str = "pod-", **fields: object) -> Iterator[tuple[str, v1.PodSandboxConfig]]:
        """A running sandbox for the body; stopped and removed afterwards, whatever happened."""
        config = self.pod_config(prefix, **fields)
        pod_id = self.run_pod(config)
        try:
            yield pod_id, config
        finally:
            self.stop_pod(pod_id)
            self.remove_pod(pod_id)

    # ------------------------------------------------------------------ containers
    def container_config(self, prefix: str, command: list[str] | None = None, image: str = BUSYBOX,
                         **fields: object) -> v1.ContainerConfig:
        config = v1.ContainerConfig(
            metadata=v1.ContainerMetadata(name=f"{prefix}{secrets.token_hex(4)}", attempt=0),
            image=v1.ImageSpec(image=image),
            command=DEFAULT_CMD if command is None else command,
        )
        for key, value in fields.items():
            if hasattr(value, "CopyFrom"):
                getattr(config, key).CopyFrom(value)
            elif isinstance(value, dict):
                getattr(config, key).update(value)
            elif isinstance(value, list):
                getattr(config, key).extend(value)
            else:
                setattr(config, key, value)
        return config

    def create(self, pod_id: str, pod_config: v1.PodSandboxConfig, config: v1.ContainerConfig) -> str:
        return self.rt.CreateContainer(
            v1.CreateContainerRequest(pod_sandbox_id=pod_id, config=config, sandbox_config=pod_config), timeout=60
        ).container_id

    def start(self, container_id: str) -> None:
        self.rt.StartContainer(v1.StartContainerRequest(container_id=container_id), timeout=60)

    def run(self, pod_id: str, pod_config: v1.PodSandboxConfig, config: v1.ContainerConfig) -> str:
        """Create and start; critest then waits for RUNNING, which callers do where it matters."""
        container_id = self.create(pod_id, pod_config, config)
        self.start(container_id)
        return container_id

    def status(self, container_id: str, verbose: bool = False) -> v1.ContainerStatus:
        return self.rt.ContainerStatus(
            v1.ContainerStatusRequest(container_id=container_id, verbose=verbose), timeout=10
        ).status

    def status_info(self, container_id: str) -> dict[str, str]:
        return dict(self.rt.ContainerStatus(
            v1.ContainerStatusRequest(container_id=container_id, verbose=True), timeout=10
        ).info)

    def wait_state(self, container_id: str, state: int, timeout: float = 60.0) -> v1.ContainerStatus:
        return wait_for(lambda: (s := self.status(container_id)).state == state and s,
                        timeout, what=f"container {container_id[:12]} in state {v1.ContainerState.Name(state)}")

    def stop(self, container_id: str, timeout: int = 60) -> None:
        self.rt.StopContainer(v1.StopContainerRequest(container_id=container_id, timeout=timeout), timeout=timeout + 30)

    def remove(self, container_id: str) -> None:
        self.rt.RemoveContainer(v1.RemoveContainerRequest(container_id=container_id), timeout=60)

    def list_containers(self, **filter_fields: object) -> list[v1.Container]:
        f = v1.ContainerFilter()
        for key, value in filter_fields.items():
            if key == "state":
                f.state.state = value  # type: ignore[assignment]
            elif key == "label_selector":
                f.label_selector.update(value)  # type: ignore[arg-type]
            else:
                setattr(f, key, value)
        return list(self.rt.ListContainers(v1.ListContainersRequest(filter=f), timeout=10).containers)

    def exec_sync(self, container_id: str, cmd: list[str], timeout: int = EXEC_TIMEOUT) -> v1.ExecSyncResponse:
        return self.rt.ExecSync(v1.ExecSyncRequest(container_id=container_id, cmd=cmd, timeout=timeout),
                                timeout=timeout + 30)

    def exec_ok(self, container_id: str, cmd: list[str]) -> str:
        """critest's execSyncContainer: exit code 0 and an empty stderr, or the test fails."""
        r = self.exec_sync(container_id, cmd)
        assert (r.exit_code, r.stderr) == (0, b""), f"{cmd}: exit {r.exit_code}, stderr {r.stderr!r}"
        return r.stdout.decode()


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def parse_cri_log(path: str | Path) -> list[tuple[str, str, str, str]]:
    """Lines of a CRI log file as (timestamp, stream, tag, text), as critest's parseCRILog splits them."""
    entries = []
    for line in Path(path).read_text().splitlines():
        timestamp, stream, tag, text = line.split(" ", 3) if line.count(" ") >= 3 else (*line.split(" "), "")
        entries.append((timestamp, stream, tag, text))
    return entries


def log_lines(path: str | Path, stream: str = "stdout") -> list[str]:
    """The text of each full line the container wrote to `stream`, in order (P parts joined)."""
    if not Path(path).exists():
        return []
    out, partial = [], ""
    for _ts, s, tag, text in parse_cri_log(path):
        if s != stream:
            continue
        partial += text
        if tag == "F":
            out.append(partial)
            partial = ""
    return out


def rpc_code(call: Callable[[], object]) -> grpc.StatusCode:
    """The status code `call` fails with (the test fails if it succeeds)."""
    try:
        call()
    except grpc.RpcError as e:
        return e.code()
    raise AssertionError("the call succeeded but an error was expected")
