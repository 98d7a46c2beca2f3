"""Sandbox-level decisions: which namespaces the holder creates, which sysctls are allowed,
and the /etc files its containers share."""

from __future__ import annotations

import pytest

from cri import api_pb2
from runtime.errors import InvalidArgument
from runtime.linux.syscalls import CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWUTS
from runtime.sandbox.files import DEFAULT_HOSTS, hosts_file, resolv_conf
from runtime.sandbox.manager import SandboxManager, check_sysctl
from runtime.shim.holder import namespace_flags


def test_holder_owns_net_uts_and_ipc_by_default() -> None:
    assert namespace_flags({"own_network": True, "own_ipc": True}) == CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC


def test_host_network_pod_keeps_the_hosts_net_and_uts() -> None:
    assert namespace_flags({"own_network": False, "own_ipc": True}) == CLONE_NEWIPC


def test_resolv_conf_from_dns_config() -> None:
    dns = api_pb2.DNSConfig(servers=["10.96.0.10"], searches=["ns.svc.cluster.local", "svc.cluster.local"], options=["ndots:5"])
    assert resolv_conf(dns) == "search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"


def test_without_dns_config_the_hosts_resolv_conf_is_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 192.0.2.1\n")
    assert resolv_conf(None, str(host)) == "nameserver 192.0.2.1\n"


def test_pod_network_pods_get_a_localhost_hosts_file() -> None:
    assert hosts_file(False).startswith("127.0.0.1\tlocalhost") and hosts_file(False) == DEFAULT_HOSTS


@pytest.mark.parametrize("key", ["kernel.shm_rmid_forced", "fs.mqueue.msg_max", "net.ipv4.ip_forward"])
def test_namespaced_sysctls_are_allowed(key: str) -> None:
    check_sysctl(key, api_pb2.NamespaceOption())


@pytest.mark.parametrize(("key", "options"), [
    ("vm.swappiness", api_pb2.NamespaceOption()),
    ("net.ipv4.ip_forward", api_pb2.NamespaceOption(network=api_pb2.NODE)),
    ("kernel.msgmax", api_pb2.NamespaceOption(ipc=api_pb2.NODE)),
    ("kernel.hostname", api_pb2.NamespaceOption()),
    ("../../etc", api_pb2.NamespaceOption()),
])
def test_other_sysctls_are_refused(key: str, options: api_pb2.NamespaceOption) -> None:
    with pytest.raises(InvalidArgument):
        check_sysctl(key, options)


def validate(config: api_pb2.PodSandboxConfig) -> None:
    SandboxManager(None, None)._validate(config, "")  # type: ignore[arg-type]


def pod(**fields: object) -> api_pb2.PodSandboxConfig:
    return api_pb2.PodSandboxConfig(metadata=api_pb2.PodSandboxMetadata(name="p", namespace="n", uid="u"), **fields)


def test_an_ordinary_sandbox_config_passes() -> None:
    validate(pod(hostname="h" * 64, dns_config=api_pb2.DNSConfig(servers=["10.96.0.10"], options=["ndots:5"]),
                 port_mappings=[api_pb2.PortMapping(protocol=api_pb2.UDP, container_port=53, host_port=53)]))


@pytest.mark.parametrize(("config", "message"), [
    (pod(hostname="h" * 65), "longer than the kernel's 64 bytes"),
    (pod(hostname="web\nevil"), "control character"),
    (pod(dns_config=api_pb2.DNSConfig(servers=["10.0.0.1\nnameserver 192.0.2.66"])), "dns server"),
    (pod(dns_config=api_pb2.DNSConfig(searches=["a\tb"])), "dns search"),
    (pod(port_mappings=[api_pb2.PortMapping(protocol=9, container_port=80, host_port=8080)]), "unknown protocol 9"),
    (pod(log_directory="/var/log/pods/\0x"), "log_directory contains a NUL byte"),
])
def test_sandbox_values_that_would_misbehave_in_the_kernel_or_a_file_are_refused(
    config: api_pb2.PodSandboxConfig, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        validate(config)
