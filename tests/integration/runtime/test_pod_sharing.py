"""Containers of one pod share its network (localhost) and IPC namespaces, and /dev/shm."""

from __future__ import annotations

import os

import pytest
from runtime_harness import container_config, pod_config, wait_for

from cri import api_pb2
from cri.client import CRIError, RuntimeClient

pytestmark = pytest.mark.root


def start(cri: RuntimeClient, sandbox: str, pod: api_pb2.PodSandboxConfig, name: str, command: list[str]) -> str:
    container = cri.create_container(sandbox, container_config(name, command), pod)
    cri.start_container(container)
    return container


def test_two_containers_share_localhost(cri: RuntimeClient) -> None:
    pod = pod_config("net")
    sandbox = cri.run_pod_sandbox(pod)
    server = start(cri, sandbox, pod, "server", ["sh", "-c", "mkdir -p /www && echo hello-pod > /www/index.html && httpd -f -p 127.0.0.1:8080 -h /www"])
    client = start(cri, sandbox, pod, "client", ["sleep", "300"])
    wait_for(lambda: cri.exec_sync(server, ["sh", "-c", "netstat -ltn | grep -q :8080"], timeout=5).exit_code == 0,
             what="httpd listening")
    result = cri.exec_sync(client, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], timeout=10)
    assert result.stdout == b"hello-pod\n"


def test_two_containers_share_the_ipc_namespace_and_dev_shm(cri: RuntimeClient) -> None:
    pod = pod_config("ipc")
    sandbox = cri.run_pod_sandbox(pod)
    first = start(cri, sandbox, pod, "first", ["sleep", "300"])
    second = start(cri, sandbox, pod, "second", ["sleep", "300"])
    ns_first = cri.exec_sync(first, ["readlink", "/proc/self/ns/ipc"], timeout=5).stdout
    assert ns_first == cri.exec_sync(second, ["readlink", "/proc/self/ns/ipc"], timeout=5).stdout
    assert ns_first.strip() != os.readlink("/proc/self/ns/ipc").encode()
    # a POSIX message queue is an IPC object of the namespace: created in one, seen in the other
    assert cri.exec_sync(first, ["touch", "/dev/mqueue/kyb-queue"], timeout=5).exit_code == 0
    assert cri.exec_sync(second, ["ls", "/dev/mqueue"], timeout=5).stdout == b"kyb-queue\n"
    cri.exec_sync(first, ["sh", "-c", "echo shared > /dev/shm/note"], timeout=5)
    assert cri.exec_sync(second, ["cat", "/dev/shm/note"], timeout=5).stdout == b"shared\n"


def test_other_pods_do_not_share_ipc(cri: RuntimeClient) -> None:
    pod_a, pod_b = pod_config("ipc-a"), pod_config("ipc-b")
    a = start(cri, cri.run_pod_sandbox(pod_a), pod_a, "a", ["sleep", "300"])
    sandbox_b = cri.run_pod_sandbox(pod_b)
    b = start(cri, sandbox_b, pod_b, "b", ["sleep", "300"])
    cri.exec_sync(a, ["sh", "-c", "echo private > /dev/shm/note"], timeout=5)
    assert cri.exec_sync(b, ["cat", "/dev/shm/note"], timeout=5).exit_code != 0


def test_shared_pid_namespace_pod_sees_its_containers_processes(cri: RuntimeClient) -> None:
    pod = pod_config("pids", pid=api_pb2.POD)
    sandbox = cri.run_pod_sandbox(pod)
    first = cri.create_container(sandbox, container_config("first", ["sleep", "301"], pid=api_pb2.POD), pod)
    cri.start_container(first)
    second = cri.create_container(sandbox, container_config("second", ["sleep", "302"], pid=api_pb2.POD), pod)
    cri.start_container(second)
    listing = cri.exec_sync(second, ["ps", "-o", "pid,args"], timeout=5).stdout.decode()
    assert "sleep 301" in listing and "sleep 302" in listing


def test_namespaced_sysctls_apply_to_the_pod_only(cri: RuntimeClient) -> None:
    pod = pod_config("sysctl")
    pod.linux.sysctls.update({"kernel.shm_rmid_forced": "1", "net.ipv4.ip_unprivileged_port_start": "80"})
    sandbox = cri.run_pod_sandbox(pod)
    container = start(cri, sandbox, pod, "c", ["sleep", "300"])
    values = cri.exec_sync(container, ["cat", "/proc/sys/kernel/shm_rmid_forced",
                                       "/proc/sys/net/ipv4/ip_unprivileged_port_start"], timeout=5).stdout.split()
    assert values == [b"1", b"80"]


def test_host_wide_sysctls_are_refused(cri: RuntimeClient) -> None:
    pod = pod_config("badsysctl")
    pod.linux.sysctls["vm.swappiness"] = "10"
    with pytest.raises(CRIError) as err:
        cri.run_pod_sandbox(pod)
    assert err.value.code.name == "INVALID_ARGUMENT"


def test_dns_config_becomes_the_pods_resolv_conf(cri: RuntimeClient) -> None:
    pod = pod_config("dns")
    pod.dns_config.CopyFrom(api_pb2.DNSConfig(servers=["10.96.0.10"], searches=["default.svc.cluster.local"],
                                              options=["ndots:5"]))
    sandbox = cri.run_pod_sandbox(pod)
    container = start(cri, sandbox, pod, "c", ["sleep", "300"])
    resolv = cri.exec_sync(container, ["cat", "/etc/resolv.conf"], timeout=5).stdout.decode().splitlines()
    assert resolv == ["search default.svc.cluster.local", "nameserver 10.96.0.10", "options ndots:5"]
    assert "localhost" in cri.exec_sync(container, ["cat", "/etc/hosts"], timeout=5).stdout.decode()
