"""cgroup limits take effect: memory (OOM-kill reported as OOMKilled), pids, cpu; updates apply."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_for

from cri import api_pb2
from cri.client import RuntimeClient

pytestmark = pytest.mark.root


def cgroup_file(runtime: RuntimeUnderTest, cri: RuntimeClient, container: str, controller: str, name: str) -> Path:
    import json

    info = json.loads(cri.container_status(container, verbose=True).info["info"])
    return Path("/sys/fs/cgroup", controller, info["cgroup"].lstrip("/"), name)


def test_memory_limit_oom_kills_and_reports_oomkilled(cri: RuntimeClient) -> None:
    pod = pod_config("oom")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config(
        "hog", ["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"],
        resources=api_pb2.LinuxContainerResources(memory_limit_in_bytes=32 * 1024 * 1024),
    )
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    status = wait_for(lambda: (s := cri.container_status(container).status).state == api_pb2.CONTAINER_EXITED and s,
                      timeout=20, what="the hog to exit")
    assert status.reason == "OOMKilled"
    assert status.exit_code == 137


def test_pids_limit_stops_a_fork_bomb(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    pod = pod_config("pids")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config(
        "bomb", ["sleep", "300"], resources=api_pb2.LinuxContainerResources(unified={"pids.max": "20"}),
    )
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    pids_max = cgroup_file(runtime, cri, container, "pids", "pids.max")
    assert pids_max.read_text().strip() == "20"
    bomb = "i=0; while [ $i -lt 100 ]; do sleep 300 >/dev/null 2>&1 & i=$((i+1)); done"
    result = cri.exec_sync(container, ["sh", "-c", bomb], timeout=20)
    assert result.exit_code != 0
    assert b"can't fork" in result.stderr
    assert int(cgroup_file(runtime, cri, container, "pids", "pids.current").read_text()) <= 20


def test_cpu_and_memory_limits_are_written_and_updated(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    pod = pod_config("cpu")
    sandbox = cri.run_pod_sandbox(pod)
    resources = api_pb2.LinuxContainerResources(cpu_shares=512, cpu_quota=50000, cpu_period=100000,
                                                memory_limit_in_bytes=64 * 1024 * 1024)
    container = cri.create_container(sandbox, container_config("limited", ["sleep", "300"], resources=resources), pod)
    cri.start_container(container)
    assert cgroup_file(runtime, cri, container, "cpu", "cpu.shares").read_text().strip() == "512"
    assert cgroup_file(runtime, cri, container, "cpu", "cpu.cfs_quota_us").read_text().strip() == "50000"
    assert int(cgroup_file(runtime, cri, container, "memory", "memory.limit_in_bytes").read_text()) == 64 * 1024 * 1024
    cri._call(cri.runtime, "UpdateContainerResources", api_pb2.UpdateContainerResourcesRequest(
        container_id=container, linux=api_pb2.LinuxContainerResources(memory_limit_in_bytes=128 * 1024 * 1024)))
    assert int(cgroup_file(runtime, cri, container, "memory", "memory.limit_in_bytes").read_text()) == 128 * 1024 * 1024
    status = cri.container_status(container).status
    assert status.resources.linux.memory_limit_in_bytes == 128 * 1024 * 1024
    assert status.resources.linux.cpu_shares == 512


def test_an_update_of_an_exited_container_is_recorded_as_containerd_records_it(cri: RuntimeClient) -> None:
    pod = pod_config("upd-exited")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("done", ["true"]), pod)
    cri.start_container(container)
    wait_for(lambda: cri.container_status(container).status.state == api_pb2.CONTAINER_EXITED, what="the exit")
    cri._call(cri.runtime, "UpdateContainerResources", api_pb2.UpdateContainerResourcesRequest(
        container_id=container, linux=api_pb2.LinuxContainerResources(cpu_shares=256)))
    assert cri.container_status(container).status.resources.linux.cpu_shares == 256


def test_stats_report_cpu_and_memory_from_the_cgroup(cri: RuntimeClient) -> None:
    pod = pod_config("stats")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("busy", ["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 300"]), pod)
    cri.start_container(container)
    stats = wait_for(lambda: (s := cri.container_stats(container)).cpu.usage_core_nano_seconds.value > 10_000_000 and s,
                     what="cpu usage", timeout=20)
    assert stats.memory.working_set_bytes.value > 0
    assert stats.attributes.id == container
    listed = cri.list_container_stats(api_pb2.ContainerStatsFilter(pod_sandbox_id=sandbox))
    assert [s.attributes.id for s in listed] == [container]
    pod_stats = cri._call(cri.runtime, "PodSandboxStats", api_pb2.PodSandboxStatsRequest(pod_sandbox_id=sandbox)).stats
    assert pod_stats.linux.cpu.usage_core_nano_seconds.value >= stats.cpu.usage_core_nano_seconds.value
    assert [c.attributes.id for c in pod_stats.linux.containers] == [container]


def test_the_kubelets_cgroup_parent_is_honoured(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    import json

    pod = pod_config("parent")
    pod.linux.cgroup_parent = f"{runtime.cgroup_root}/kubepods/besteffort/pod-1234"
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("c", ["sleep", "300"]), pod)
    cri.start_container(container)
    cgroup = json.loads(cri.container_status(container, verbose=True).info["info"])["cgroup"]
    assert cgroup == f"{pod.linux.cgroup_parent}/{container}"
    procs = Path("/sys/fs/cgroup/memory", cgroup.lstrip("/"), "cgroup.procs").read_text().split()
    assert len(procs) == 1
    cri.stop_pod_sandbox(sandbox)
    cri.remove_pod_sandbox(sandbox)
    assert not Path("/sys/fs/cgroup/memory", pod.linux.cgroup_parent.lstrip("/")).exists()
