"""A full pod lifecycle driven by a client made only of the CRI v1 proto's generated stubs
(runtime.v1.RuntimeService / ImageService, wire-identical to upstream): nothing of ours but the
socket path. This is what crictl, critest or a kubelet would do."""

from __future__ import annotations

import time

import grpc
import pytest
from runtime_harness import RuntimeUnderTest

from cri import api_pb2 as v1
from cri import api_pb2_grpc as v1_grpc

pytestmark = pytest.mark.root


def test_full_pod_lifecycle_over_plain_cri_v1(runtime: RuntimeUnderTest, tmp_path) -> None:  # type: ignore[no-untyped-def]
    channel = grpc.insecure_channel(f"unix://{runtime.socket}")
    rt = v1_grpc.RuntimeServiceStub(channel)
    images = v1_grpc.ImageServiceStub(channel)
    try:
        assert rt.Version(v1.VersionRequest(version="v1"), timeout=10).runtime_api_version == "v1"
        status = rt.Status(v1.StatusRequest(), timeout=10).status
        assert {c.type for c in status.conditions} == {"RuntimeReady", "NetworkReady"}
        image = images.ImageStatus(v1.ImageStatusRequest(image=v1.ImageSpec(image="busybox:latest")), timeout=10).image
        assert image.id.startswith("sha256:")

        logs = tmp_path / "pod-logs"
        pod = v1.PodSandboxConfig(
            metadata=v1.PodSandboxMetadata(name="lifecycle", namespace="e2e", uid="uid-1", attempt=0),
            hostname="lifecycle", log_directory=str(logs), labels={"tier": "e2e"}, annotations={"a": "b"},
            linux=v1.LinuxPodSandboxConfig(security_context=v1.LinuxSandboxSecurityContext(
                namespace_options=v1.NamespaceOption(pid=v1.CONTAINER))),
        )
        sandbox = rt.RunPodSandbox(v1.RunPodSandboxRequest(config=pod), timeout=30).pod_sandbox_id
        listed = rt.ListPodSandbox(v1.ListPodSandboxRequest(filter=v1.PodSandboxFilter(label_selector={"tier": "e2e"})), timeout=10)
        assert [p.id for p in listed.items] == [sandbox]
        pod_status = rt.PodSandboxStatus(v1.PodSandboxStatusRequest(pod_sandbox_id=sandbox, verbose=True), timeout=10)
        assert pod_status.status.state == v1.SANDBOX_READY
        assert pod_status.status.metadata.name == "lifecycle" and pod_status.status.annotations["a"] == "b"
        assert "info" in pod_status.info

        config = v1.ContainerConfig(
            metadata=v1.ContainerMetadata(name="app"), image=v1.ImageSpec(image="busybox:latest"),
            command=["sh", "-c", "echo started; trap 'echo bye; exit 0' TERM; sleep 300 & wait"],
            log_path="app.log", labels={"role": "app"},
        )
        container = rt.CreateContainer(v1.CreateContainerRequest(
            pod_sandbox_id=sandbox, config=config, sandbox_config=pod), timeout=30).container_id
        assert rt.ContainerStatus(v1.ContainerStatusRequest(container_id=container), timeout=10).status.state == v1.CONTAINER_CREATED
        rt.StartContainer(v1.StartContainerRequest(container_id=container), timeout=30)
        listed_c = rt.ListContainers(v1.ListContainersRequest(filter=v1.ContainerFilter(
            pod_sandbox_id=sandbox, state=v1.ContainerStateValue(state=v1.CONTAINER_RUNNING))), timeout=10)
        assert [c.id for c in listed_c.containers] == [container]

        result = rt.ExecSync(v1.ExecSyncRequest(container_id=container, cmd=["hostname"], timeout=10), timeout=20)
        assert (result.stdout, result.exit_code) == (b"lifecycle\n", 0)
        stats = rt.ContainerStats(v1.ContainerStatsRequest(container_id=container), timeout=10).stats
        assert stats.memory.working_set_bytes.value > 0

        rt.StopContainer(v1.StopContainerRequest(container_id=container, timeout=10), timeout=30)
        final = rt.ContainerStatus(v1.ContainerStatusRequest(container_id=container), timeout=10).status
        assert (final.state, final.exit_code, final.reason) == (v1.CONTAINER_EXITED, 0, "Completed")
        deadline = time.monotonic() + 5
        while b"bye" not in (logs / "app.log").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b" stdout F started\n" in (logs / "app.log").read_bytes()
        assert b" stdout F bye\n" in (logs / "app.log").read_bytes()

        rt.RemoveContainer(v1.RemoveContainerRequest(container_id=container), timeout=30)
        rt.StopPodSandbox(v1.StopPodSandboxRequest(pod_sandbox_id=sandbox), timeout=30)
        rt.RemovePodSandbox(v1.RemovePodSandboxRequest(pod_sandbox_id=sandbox), timeout=30)
        assert rt.ListPodSandbox(v1.ListPodSandboxRequest(), timeout=10).items == []
        with pytest.raises(grpc.RpcError) as err:
            rt.PodSandboxStatus(v1.PodSandboxStatusRequest(pod_sandbox_id=sandbox), timeout=10)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert runtime.cgroup_dirs() == [] and runtime.mounts_under_root() == []
    finally:
        channel.close()
