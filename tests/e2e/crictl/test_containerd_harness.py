"""The private containerd harness leaves nothing behind, even when the daemon died first.

It runs a pod with a container through CRI, then tears down (once normally, once after a
SIGKILL of containerd, which leaves shims and containers orphaned) and checks that no process,
mount, cgroup, network namespace, libcni cache entry, shim socket or directory of it remains.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time

import grpc
import pytest
from crictl_runtimes import BUSYBOX

from bench.references import busybox_image, teardown
from bench.references.containerd import LIBCNI_CACHE, SHIM_SOCKET_DIR, ContainerdHarness
from cri import api_pb2, api_pb2_grpc

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(300)]


def _run_pod(harness: ContainerdHarness) -> tuple[str, int]:
    """A pod running `sleep`; returns (pod id, shim count)."""
    archive = busybox_image.write_oci_archive(os.path.join(harness.base, "bb.tar"), BUSYBOX, cmd=["sh"])
    harness.import_archive(archive.path)
    logs = os.path.join(harness.base, "logs")
    os.makedirs(logs)
    pod = api_pb2.PodSandboxConfig(
        metadata=api_pb2.PodSandboxMetadata(name="h", namespace="kybt", uid="harness-test"),
        log_directory=logs,
        linux=api_pb2.LinuxPodSandboxConfig(cgroup_parent=harness.cgroup_parent),
    )
    ctr = api_pb2.ContainerConfig(
        metadata=api_pb2.ContainerMetadata(name="s"),
        image=api_pb2.ImageSpec(image=BUSYBOX),
        command=["sleep", "3600"],
        log_path="s.log",
    )
    with grpc.insecure_channel(harness.endpoint) as channel:
        rt = api_pb2_grpc.RuntimeServiceStub(channel)
        pod_id = rt.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=pod), timeout=60).pod_sandbox_id
        cid = rt.CreateContainer(
            api_pb2.CreateContainerRequest(pod_sandbox_id=pod_id, config=ctr, sandbox_config=pod), timeout=60
        ).container_id
        rt.StartContainer(api_pb2.StartContainerRequest(container_id=cid), timeout=60)
        status = rt.ContainerStatus(
            api_pb2.ContainerStatusRequest(container_id=cid, verbose=True), timeout=10
        )
    assert status.status.state == api_pb2.CONTAINER_RUNNING
    pids = teardown.cgroup_pids(harness.name)
    assert pids, "the pod's processes should live under the harness's cgroup parent"
    return pod_id, len(harness.shim_pids())


def _shim_socket(harness: ContainerdHarness, task_id: str) -> str:
    digest = hashlib.sha256(os.path.join(harness.socket, "k8s.io", task_id).encode()).hexdigest()
    return os.path.join(SHIM_SOCKET_DIR, digest)


def _assert_gone(harness: ContainerdHarness, pids: set[int], pod_id: str) -> None:
    assert not os.path.exists(_shim_socket(harness, pod_id)), "the pod's shim socket was left behind"
    for pid in pids:
        if os.path.exists(f"/proc/{pid}"):
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            raise AssertionError(
                f"process {pid} survived teardown (or was never reaped): {stat[:120]} me={os.getpid()}"
            )
    assert not teardown.cgroup_dirs(harness.name)
    assert not os.path.exists(f"/run/netns/{harness.name}")
    with open("/proc/self/mountinfo") as f:
        assert harness.base not in f.read()
    assert not os.path.exists(harness.base)
    if os.path.isdir(LIBCNI_CACHE):
        assert not [e for e in os.listdir(LIBCNI_CACHE) if e.startswith(harness.name)]


def test_stop_removes_pods_processes_mounts_cgroups_and_netns() -> None:
    harness = ContainerdHarness().start()
    try:
        pod_id, shims = _run_pod(harness)
        assert shims >= 1 and os.path.exists(_shim_socket(harness, pod_id))
        pids = teardown.cgroup_pids(harness.name) | set(harness.shim_pids()) | {harness.daemon_pid() or 0}
    finally:
        harness.stop()
    _assert_gone(harness, pids - {0}, pod_id)


def test_stop_cleans_up_after_containerd_was_killed() -> None:
    harness = ContainerdHarness().start()
    try:
        pod_id, _ = _run_pod(harness)
        pids = teardown.cgroup_pids(harness.name) | set(harness.shim_pids())
        daemon = harness.daemon_pid()
        assert daemon is not None
        os.kill(daemon, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{daemon}/status") and time.monotonic() < deadline:
            with open(f"/proc/{daemon}/status") as f:
                if "State:\tZ" in f.read():
                    break
            time.sleep(0.05)
    finally:
        harness.stop()
    _assert_gone(harness, pids, pod_id)
