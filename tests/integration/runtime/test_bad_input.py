"""Bad requests get a precise gRPC status, change nothing, and never take the daemon down."""

from __future__ import annotations

import json
import os

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_exit_code

from cri import api_pb2
from cri.client import CRIError, RuntimeClient

pytestmark = pytest.mark.root

UNKNOWN = "0" * 64


def code_of(call, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(CRIError) as err:
        call(*args)
    return err.value.code.name


@pytest.fixture
def sandbox(cri: RuntimeClient) -> tuple[str, api_pb2.PodSandboxConfig]:
    pod = pod_config("bad")
    return cri.run_pod_sandbox(pod), pod


def test_unknown_ids_are_not_found(cri: RuntimeClient) -> None:
    assert code_of(cri.container_status, UNKNOWN) == "NOT_FOUND"
    assert code_of(cri.start_container, UNKNOWN) == "NOT_FOUND"
    assert code_of(cri.pod_sandbox_status, UNKNOWN) == "NOT_FOUND"
    assert code_of(cri.exec_sync, UNKNOWN, ["true"]) == "NOT_FOUND"
    assert code_of(cri.create_container, UNKNOWN, container_config("x", ["true"]), pod_config("x")) == "NOT_FOUND"
    cri.stop_container(UNKNOWN)  # stopping and removal are idempotent (CRI; critest's Idempotence specs)
    cri.remove_container(UNKNOWN)
    cri.stop_pod_sandbox(UNKNOWN)
    cri.remove_pod_sandbox(UNKNOWN)


def test_container_without_an_image_is_invalid(cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    config = container_config("noimage", ["true"])
    config.image.image = ""
    assert code_of(cri.create_container, sandbox[0], config, sandbox[1]) == "INVALID_ARGUMENT"


def test_image_not_present_is_a_failed_precondition(cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    config = container_config("missing", ["true"])
    config.image.image = "example.com/not/here:1.0"
    with pytest.raises(CRIError) as err:
        cri.create_container(sandbox[0], config, sandbox[1])
    assert err.value.code.name == "FAILED_PRECONDITION"
    assert "not present" in err.value.details


def test_relative_mount_path_is_invalid_and_leaves_nothing(
    cri: RuntimeClient, runtime: RuntimeUnderTest, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    cgroups_before = set(runtime.cgroup_dirs())
    config = container_config("relative", ["true"])
    config.mounts.append(api_pb2.Mount(container_path="data", host_path=str(runtime.logs)))
    assert code_of(cri.create_container, sandbox[0], config, sandbox[1]) == "INVALID_ARGUMENT"
    assert os.listdir(runtime.root / "containers") == []
    assert set(runtime.cgroup_dirs()) == cgroups_before


def test_a_unified_resource_naming_a_path_is_invalid_and_leaves_nothing(
    cri: RuntimeClient, runtime: RuntimeUnderTest, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    cgroups_before = set(runtime.cgroup_dirs())
    config = container_config("unified", ["sleep", "30"])
    config.linux.resources.unified["../../cgroup.procs"] = "1"
    assert code_of(cri.create_container, sandbox[0], config, sandbox[1]) == "INVALID_ARGUMENT"
    assert os.listdir(runtime.root / "containers") == []
    assert set(runtime.cgroup_dirs()) == cgroups_before
    container = cri.create_container(sandbox[0], container_config("ok", ["sleep", "30"]), sandbox[1])
    bad = api_pb2.LinuxContainerResources(hugepage_limits=[api_pb2.HugepageLimit(page_size="../2MB", limit=1)])
    request = api_pb2.UpdateContainerResourcesRequest(container_id=container, linux=bad)
    assert code_of(cri._call, cri.runtime, "UpdateContainerResources", request) == "INVALID_ARGUMENT"


def test_a_log_path_leaving_the_pods_log_directory_is_invalid_and_leaves_nothing(
    cri: RuntimeClient, runtime: RuntimeUnderTest
) -> None:
    pod = pod_config("logescape", log_directory=str(runtime.logs / "pod"))
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("escape", ["true"], log_path="../../escaped.log")
    assert code_of(cri.create_container, sandbox, config, pod) == "INVALID_ARGUMENT"
    assert os.listdir(runtime.root / "containers") == []
    inside = cri.create_container(sandbox, container_config("inside", ["true"], log_path="c/0.log"), pod)
    assert cri.container_status(inside).status.log_path == str(runtime.logs / "pod" / "c" / "0.log")


def test_a_volume_over_proc_is_invalid_and_leaves_nothing(
    cri: RuntimeClient, runtime: RuntimeUnderTest, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    cgroups_before = set(runtime.cgroup_dirs())
    for destination in ("/proc", "/proc/sys/kernel"):
        config = container_config("overproc", ["true"])
        config.mounts.append(api_pb2.Mount(container_path=destination, host_path=str(runtime.logs)))
        with pytest.raises(CRIError) as err:
            cri.create_container(sandbox[0], config, sandbox[1])
        assert err.value.code.name == "INVALID_ARGUMENT"
        assert repr(destination) in err.value.details
    assert os.listdir(runtime.root / "containers") == []
    assert set(runtime.cgroup_dirs()) == cgroups_before


def test_a_volume_led_into_proc_by_a_symlink_fails_the_start_and_mounts_nothing_there(
    cri: RuntimeClient, runtime: RuntimeUnderTest, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    data = runtime.logs / "symlinked"
    data.mkdir()
    (data / "link").symlink_to("/proc/sys")
    config = container_config("viaproc", ["true"])
    config.mounts.append(api_pb2.Mount(container_path="/data", host_path=str(data)))
    config.mounts.append(api_pb2.Mount(container_path="/data/link/kernel", host_path=str(runtime.logs)))
    container = cri.create_container(sandbox[0], config, sandbox[1])
    with pytest.raises(CRIError) as err:
        cri.start_container(container)
    assert "'/data/link/kernel' resolves to '/proc/sys/kernel'" in err.value.details
    assert cri.container_status(container).status.reason == "StartError"


def test_more_supplemental_groups_than_the_kernel_takes_are_invalid_at_once(
    cri: RuntimeClient, runtime: RuntimeUnderTest, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    config = container_config("groups", ["true"])
    config.linux.security_context.supplemental_groups.extend(range(1, 70_000))
    assert code_of(cri.create_container, sandbox[0], config, sandbox[1]) == "INVALID_ARGUMENT"
    assert os.listdir(runtime.root / "containers") == []


def test_the_most_supplemental_groups_the_kernel_takes_start_promptly(
    cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    config = container_config("manygroups", ["sh", "-c", "id -G | wc -w"])
    config.linux.security_context.supplemental_groups.extend(range(1, 65_536))
    container = cri.create_container(sandbox[0], config, sandbox[1])
    cri.start_container(container)  # within the client's deadline: nothing is quadratic, nothing blocks
    assert wait_exit_code(cri, container) == 0
    # Too many for one fork-server message: the shim leaves the user in a file for the daemon.
    assert len(cri.container_status(container).status.user.linux.supplemental_groups) == 65_536


def test_a_memory_limit_too_low_to_start_fails_the_start_naming_the_oom_killer(
    cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    config = container_config("tiny", ["true"])
    config.linux.resources.memory_limit_in_bytes = 4096
    container = cri.create_container(sandbox[0], config, sandbox[1])
    with pytest.raises(CRIError) as err:
        cri.start_container(container)
    assert "killed by the OOM killer while it was being set up" in err.value.details
    assert cri.container_status(container).status.reason == "StartError"


def test_unknown_namespace_mode_is_invalid(cri: RuntimeClient) -> None:
    pod = pod_config("badns")
    pod.linux.security_context.namespace_options.network = 7
    assert code_of(cri.run_pod_sandbox, pod) == "INVALID_ARGUMENT"
    assert cri.list_pod_sandbox() == []


def test_duplicate_container_name_in_a_sandbox_is_refused(cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    cri.create_container(sandbox[0], container_config("twin", ["true"]), sandbox[1])
    with pytest.raises(CRIError) as err:
        cri.create_container(sandbox[0], container_config("twin", ["true"]), sandbox[1])
    assert err.value.code.name == "FAILED_PRECONDITION"
    assert "twin" in err.value.details
    assert len(cri.list_containers()) == 1


def test_a_removed_containers_name_can_be_used_again(cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    first = cri.create_container(sandbox[0], container_config("again", ["true"]), sandbox[1])
    cri.remove_container(first)
    second = cri.create_container(sandbox[0], container_config("again", ["true"]), sandbox[1])
    assert [c.id for c in cri.list_containers()] == [second]


def test_duplicate_sandbox_name_is_refused(cri: RuntimeClient) -> None:
    pod = pod_config("dup")
    cri.run_pod_sandbox(pod)
    assert code_of(cri.run_pod_sandbox, pod) == "FAILED_PRECONDITION"


def test_missing_executable_fails_start_with_a_message(cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container = cri.create_container(sandbox[0], container_config("nobin", ["/no/such/binary"]), sandbox[1])
    with pytest.raises(CRIError) as err:
        cri.start_container(container)
    assert "/no/such/binary" in err.value.details
    assert err.value.code.name == "UNKNOWN"  # as containerd answers a failed OCI create
    status = cri.container_status(container).status
    assert (status.state, status.exit_code, status.reason) == (api_pb2.CONTAINER_EXITED, 128, "StartError")
    assert status.started_at == 0 and status.finished_at > 0  # it never started, as containerd reports


def test_a_working_directory_that_is_a_file_fails_the_start_naming_only_the_container_path(
    cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    config = container_config("wdfile", ["pwd"])
    config.working_dir = "/etc/passwd"
    container = cri.create_container(sandbox[0], config, sandbox[1])
    with pytest.raises(CRIError) as err:
        cri.start_container(container)
    assert err.value.code.name == "UNKNOWN"
    assert err.value.details.endswith("working directory /etc/passwd: not a directory")
    assert cri.container_status(container).status.reason == "StartError"


def test_exec_sync_of_a_missing_binary_is_unknown_and_names_it(
    cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    container = cri.create_container(sandbox[0], container_config("execmiss", ["sleep", "300"]), sandbox[1])
    cri.start_container(container)
    with pytest.raises(CRIError) as err:
        cri.exec_sync(container, ["/no/such/tool", "-x"], timeout=10)
    assert err.value.code.name == "UNKNOWN" and "/no/such/tool" in err.value.details
    assert cri.exec_sync(container, ["true"], timeout=10).exit_code == 0  # the container is unharmed


def test_starting_twice_is_a_failed_precondition(cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container = cri.create_container(sandbox[0], container_config("once", ["sleep", "300"]), sandbox[1])
    cri.start_container(container)
    assert code_of(cri.start_container, container) == "FAILED_PRECONDITION"


def test_containers_in_a_stopped_sandbox_cannot_be_created(cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    cri.stop_pod_sandbox(sandbox[0])
    assert code_of(cri.create_container, sandbox[0], container_config("late", ["true"]), sandbox[1]) == "FAILED_PRECONDITION"
    assert cri.version().runtime_name == "kybernetes"


def test_an_unwritable_log_path_fails_the_start_cleanly(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    blocker = runtime.logs / "not-a-dir"
    blocker.write_text("a file where the log directory should be\n")
    pod = pod_config("badlog", log_directory=str(blocker))
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("c", ["sleep", "300"], log_path="c.log"), pod)
    with pytest.raises(CRIError) as err:
        cri.start_container(container)
    assert "log" in err.value.details
    status = cri.container_status(container).status
    assert (status.state, status.reason) == (api_pb2.CONTAINER_EXITED, "StartError")
    assert runtime.cgroup_pids() == {json.loads(cri.pod_sandbox_status(sandbox, verbose=True).info["info"])["pid"]}


def test_a_resource_value_the_kernel_refuses_is_invalid_and_leaves_nothing(
    cri: RuntimeClient, runtime: RuntimeUnderTest, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    cgroups_before = set(runtime.cgroup_dirs())
    config = container_config("cpuset", ["true"], resources=api_pb2.LinuxContainerResources(cpuset_cpus="abc"))
    with pytest.raises(CRIError) as err:
        cri.create_container(sandbox[0], config, sandbox[1])
    assert err.value.code.name == "INVALID_ARGUMENT" and "'abc'" in err.value.details
    assert os.listdir(runtime.root / "containers") == []
    assert set(runtime.cgroup_dirs()) == cgroups_before


def test_an_update_the_kernel_refuses_is_invalid(cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container = cri.create_container(sandbox[0], container_config("upd", ["sleep", "30"]), sandbox[1])
    request = api_pb2.UpdateContainerResourcesRequest(
        container_id=container, linux=api_pb2.LinuxContainerResources(cpu_period=1 << 40))
    assert code_of(cri._call, cri.runtime, "UpdateContainerResources", request) == "INVALID_ARGUMENT"


def test_a_nul_byte_in_the_command_is_invalid_and_leaves_nothing(
    cri: RuntimeClient, runtime: RuntimeUnderTest, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    config = container_config("nul", ["tr\0ue"])
    with pytest.raises(CRIError) as err:
        cri.create_container(sandbox[0], config, sandbox[1])
    assert err.value.code.name == "INVALID_ARGUMENT" and "command" in err.value.details
    assert os.listdir(runtime.root / "containers") == []


def test_a_nul_byte_in_a_mount_path_is_invalid(cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    config = container_config("nulmount", ["true"])
    config.mounts.append(api_pb2.Mount(container_path="/data", host_path="/tmp/a\0b"))
    assert code_of(cri.create_container, sandbox[0], config, sandbox[1]) == "INVALID_ARGUMENT"


def test_an_unknown_port_protocol_is_invalid_and_leaves_no_sandbox(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    pod = pod_config("badproto")
    pod.port_mappings.append(api_pb2.PortMapping(container_port=80, host_port=8080, protocol=9))
    with pytest.raises(CRIError) as err:
        cri.run_pod_sandbox(pod)
    assert err.value.code.name == "INVALID_ARGUMENT" and "protocol" in err.value.details
    assert cri.list_pod_sandbox() == []
    assert os.listdir(runtime.root / "sandboxes") == []


def test_a_hostname_longer_than_the_kernel_allows_is_invalid(cri: RuntimeClient) -> None:
    pod = pod_config("longhost")
    pod.hostname = "h" * 65
    assert code_of(cri.run_pod_sandbox, pod) == "INVALID_ARGUMENT"
    assert cri.list_pod_sandbox() == []


def test_a_dns_server_with_a_newline_cannot_add_lines_to_resolv_conf(cri: RuntimeClient) -> None:
    pod = pod_config("dnsinject")
    pod.dns_config.servers.append("10.0.0.10\nnameserver 192.0.2.66")
    assert code_of(cri.run_pod_sandbox, pod) == "INVALID_ARGUMENT"
    assert cri.list_pod_sandbox() == []


def test_a_sysctl_value_the_kernel_refuses_is_invalid_and_leaves_no_sandbox(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    pod = pod_config("badsysctl")
    pod.linux.sysctls["net.ipv4.ip_unprivileged_port_start"] = "not a number"
    with pytest.raises(CRIError) as err:
        cri.run_pod_sandbox(pod)
    assert err.value.code.name == "INVALID_ARGUMENT"
    assert "net.ipv4.ip_unprivileged_port_start='not a number'" in err.value.details
    assert cri.list_pod_sandbox() == []
    assert os.listdir(runtime.root / "sandboxes") == []


def test_a_cgroup_parent_with_a_newline_is_invalid(cri: RuntimeClient) -> None:
    pod = pod_config("cgnewline")
    pod.linux.cgroup_parent = "/kyb-test\nother"
    assert code_of(cri.run_pod_sandbox, pod) == "INVALID_ARGUMENT"
    assert cri.list_pod_sandbox() == []


def test_a_pod_without_a_hostname_has_the_nodes_and_its_name_adds_no_line_to_its_files(cri: RuntimeClient) -> None:
    import socket

    pod = pod_config("x\n192.0.2.66 injected")
    pod.hostname = ""
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("h", ["sleep", "30"]), pod)
    cri.start_container(container)
    for command in (["hostname"], ["cat", "/etc/hostname"]):
        assert cri.exec_sync(container, command, timeout=10).stdout.decode().strip() == socket.gethostname()
    assert b"injected" not in cri.exec_sync(container, ["cat", "/etc/hosts"], timeout=10).stdout


def test_messages_up_to_16_mib_pass_either_way_as_with_containerd_and_the_kubelet(
    cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    config = container_config("big", ["true"])
    config.annotations["big"] = "a" * (6 * 1024 * 1024)  # over gRPC's default 4 MiB, both ways
    container = cri.create_container(sandbox[0], config, sandbox[1])
    assert len(cri.container_status(container).status.annotations["big"]) == 6 * 1024 * 1024


def test_a_message_over_16_mib_is_resource_exhausted_and_leaves_nothing(
    cri: RuntimeClient, runtime: RuntimeUnderTest, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    import grpc

    from cri import api_pb2_grpc

    config = container_config("huge", ["true"])
    config.annotations["huge"] = "a" * (17 * 1024 * 1024)
    request = api_pb2.CreateContainerRequest(pod_sandbox_id=sandbox[0], config=config, sandbox_config=sandbox[1])
    with grpc.insecure_channel(f"unix://{runtime.socket}", options=[("grpc.max_send_message_length", -1)]) as channel:
        with pytest.raises(grpc.RpcError) as err:
            api_pb2_grpc.RuntimeServiceStub(channel).CreateContainer(request, timeout=30)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert os.listdir(runtime.root / "containers") == []


def test_a_full_disk_is_resource_exhausted_and_leaves_nothing(
    cri: RuntimeClient, runtime: RuntimeUnderTest, sandbox: tuple[str, api_pb2.PodSandboxConfig]
) -> None:
    import subprocess

    containers = runtime.root / "containers"
    cgroups_before = set(runtime.cgroup_dirs())
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "kybt-full", str(containers)], check=True)
    try:
        with open(containers / "filler", "wb", buffering=0) as f, pytest.raises(OSError):
            for _ in range(64):  # bounded: the filesystem holds 64 KiB
                f.write(b"\0" * 4096)
        config = container_config("nospace", ["true"])
        config.envs.extend(api_pb2.KeyValue(key=f"K{i}", value="v" * 64) for i in range(100))  # a record over a page
        with pytest.raises(CRIError) as err:
            cri.create_container(sandbox[0], config, sandbox[1])
        assert err.value.code.name == "RESOURCE_EXHAUSTED" and "No space left" in err.value.details
        assert os.listdir(containers) == ["filler"]
        assert set(runtime.cgroup_dirs()) == cgroups_before
    finally:
        subprocess.run(["umount", "-l", str(containers)], check=False)


def test_checkpointing_answers_unimplemented_and_leaves_the_container_running(
        cri: RuntimeClient, sandbox: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container = cri.create_container(sandbox[0], container_config("ckpt", ["sleep", "60"]), sandbox[1])
    cri.start_container(container)
    with pytest.raises(CRIError) as err:
        cri.checkpoint_container(container, "/tmp/kybt-never-written.tar")
    assert err.value.code.name == "UNIMPLEMENTED"
    assert "CRIU" in err.value.details and container in err.value.details
    assert cri.container_status(container).status.state == api_pb2.CONTAINER_RUNNING

