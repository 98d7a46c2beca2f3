"""The sandbox holder, which a pod's containers can reach (their PID 1 when the pod shares its pid
namespace), gives them nothing of the host: an empty root, a container's default capabilities,
no_new_privs, no ptrace access without CAP_SYS_PTRACE, none of the daemon's environment."""

from __future__ import annotations

import pytest
from runtime_harness import container_config, pod_config

from cri import api_pb2
from cri.client import RuntimeClient
from runtime.linux import capabilities

pytestmark = pytest.mark.root

DEFAULT_CAPS = f"{capabilities.mask(capabilities.DEFAULT):016x}"


def in_shared_pid_pod(cri: RuntimeClient, name: str, privileged: bool = False, **security: object) -> str:
    pod = pod_config(name, pid=api_pb2.POD)
    pod.linux.security_context.privileged = privileged
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config(name, ["sleep", "300"], pid=api_pb2.POD, privileged=privileged, **security)
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    return container


def sh(cri: RuntimeClient, container: str, script: str) -> api_pb2.ExecSyncResponse:
    return cri.exec_sync(container, ["sh", "-c", script], timeout=10)


def status_field(cri: RuntimeClient, container: str, field: str) -> str:
    out = sh(cri, container, f"grep '^{field}:' /proc/1/status").stdout.decode()
    return out.split()[1]


def test_a_container_with_ptrace_sees_an_empty_root_through_the_holder(cri: RuntimeClient) -> None:
    container = in_shared_pid_pod(cri, "holder-root", capabilities=api_pb2.Capability(add_capabilities=["SYS_PTRACE"]))
    assert sh(cri, container, "cat /proc/1/comm").stdout == b"kyb-holder\n"
    listing = sh(cri, container, "ls -A /proc/1/root/; echo rc=$?")
    assert listing.stdout == b"rc=0\n"  # readable, and empty: the host's filesystem is not there
    assert sh(cri, container, "touch /proc/1/root/x").exit_code != 0


def test_the_holder_keeps_no_more_than_a_containers_default_capabilities(cri: RuntimeClient) -> None:
    container = in_shared_pid_pod(cri, "holder-caps")
    assert [status_field(cri, container, f) for f in ("CapEff", "CapPrm", "CapBnd")] == [DEFAULT_CAPS] * 3
    assert status_field(cri, container, "NoNewPrivs") == "1"


def test_without_ptrace_a_container_cannot_open_the_holders_root(cri: RuntimeClient) -> None:
    container = in_shared_pid_pod(cri, "holder-noptrace")
    result = sh(cri, container, "ls /proc/1/root/")
    assert result.exit_code != 0 and b"Permission denied" in result.stderr


def test_the_holder_carries_none_of_the_daemons_environment(cri: RuntimeClient) -> None:
    container = in_shared_pid_pod(cri, "holder-env", capabilities=api_pb2.Capability(add_capabilities=["SYS_PTRACE"]))
    names = {line.split("=", 1)[0] for line in sh(cri, container, "tr '\\0' '\\n' < /proc/1/environ").stdout.decode().split()}
    assert "PATH" in names and all(name == "PATH" or name.startswith("PYTHON") or name.startswith("LC_") for name in names)


def test_a_privileged_pods_holder_keeps_its_capabilities_but_not_the_host_root(cri: RuntimeClient) -> None:
    container = in_shared_pid_pod(cri, "holder-priv", privileged=True)
    assert int(status_field(cri, container, "CapEff"), 16) & ~int(DEFAULT_CAPS, 16)  # more than the default set
    assert sh(cri, container, "ls -A /proc/1/root/").stdout == b""
