"""Runtimes for the `kyb cri` end-to-end tests and how to drive `kyb cri` against them.

Both Debian's containerd and our own `kyb runtime` run in network namespaces of their own with
private sockets and roots (see bench/references) and have busybox in their image store. A runtime
that answers a pod call with UNIMPLEMENTED makes the tests needing that call xfail, naming it.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.references.containerd import ContainerdHarness  # noqa: E402
from bench.references.kyb_runtime import KybRuntimeHarness  # noqa: E402
from bench.references.netns import nsenter_prefix  # noqa: E402

BUSYBOX = "docker.io/library/busybox:latest"


@dataclass
class RuntimeUnderTest:
    """A running CRI runtime and how to drive `kyb cri` against it."""

    kind: str
    endpoint: str
    netns: str
    cgroup_parent: str
    image: str
    missing: tuple[str, ...] = ()

    def needs(self, request: pytest.FixtureRequest, *calls: str) -> None:
        """Mark the test xfail, naming the calls, while the runtime lacks any of `calls`."""
        lacking = [c for c in calls if c in self.missing]
        if lacking:
            reason = f"{self.kind} runtime does not implement {', '.join(lacking)} yet"
            request.applymarker(pytest.mark.xfail(strict=False, reason=reason))

    def kyb(
        self, *args: str, in_netns: bool = False, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `kyb cri -r ENDPOINT ARGS...` (inside the runtime's netns when streaming)."""
        cmd = [sys.executable, "-m", "kyb", "cri", "-r", self.endpoint, "--timeout", "60s", *args]
        if in_netns:
            cmd = nsenter_prefix(self.netns) + cmd
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(REPO),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )


def start_containerd(archive: Path) -> tuple[RuntimeUnderTest, ContainerdHarness]:
    harness = ContainerdHarness().start()
    try:
        harness.import_archive(str(archive))
    except BaseException:
        harness.stop()
        raise
    return RuntimeUnderTest(
        "containerd", harness.endpoint, harness.name, harness.cgroup_parent, BUSYBOX
    ), harness


def start_kyb(archive: Path) -> tuple[RuntimeUnderTest, KybRuntimeHarness]:
    harness = KybRuntimeHarness()
    try:
        harness.import_archive(str(archive))
        harness.start()
    except BaseException:
        harness.stop()
        raise
    missing = tuple(unimplemented_calls(harness.endpoint))
    runtime = RuntimeUnderTest("kyb", harness.endpoint, harness.name, harness.cgroup_parent, BUSYBOX, missing)
    return runtime, harness


POD_CALLS = (
    "RunPodSandbox",
    "ListPodSandbox",
    "PodSandboxStatus",
    "CreateContainer",
    "StartContainer",
    "ListContainers",
    "ContainerStatus",
    "ExecSync",
    "Exec",
    "Attach",
    "PortForward",
    "UpdateContainerResources",
    "ListContainerStats",
    "ListPodSandboxStats",
    "StopContainer",
    "RemoveContainer",
    "StopPodSandbox",
    "RemovePodSandbox",
)


def unimplemented_calls(endpoint: str) -> list[str]:
    """Which RuntimeService calls the runtime answers with UNIMPLEMENTED (empty requests, no effects)."""
    import grpc

    from cri import api_pb2, api_pb2_grpc

    missing = []
    with grpc.insecure_channel(endpoint) as channel:
        stub = api_pb2_grpc.RuntimeServiceStub(channel)
        for name in POD_CALLS:
            request = getattr(api_pb2, f"{name}Request")()
            try:
                getattr(stub, name)(request, timeout=10)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    missing.append(name)
    return missing
