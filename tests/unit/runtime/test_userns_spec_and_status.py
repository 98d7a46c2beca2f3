"""A container of a pod with its own user namespace: what its spec carries, and how Status tells
the kubelet that the runtime handlers support user namespaces."""

from __future__ import annotations

import subprocess

import pytest

from cri import api_pb2
from runtime.container.spec import build_spec
from runtime.errors import InvalidArgument
from runtime.service import runtime_handlers
from runtime.service.runtime_handlers import RuntimeHandlers, kernel_version

RANGE = {"container_id": 0, "host_id": 100000, "length": 65536}
POD_USERNS = {"uids": [RANGE], "gids": [RANGE], "path": "/proc/9/ns/user"}
SANDBOX = {"dir": "/state/sandboxes/s1", "namespaces": {"net": "/proc/9/ns/net", "ipc": "/proc/9/ns/ipc",
                                                       "uts": "/proc/9/ns/uts"},
           "shm": "/state/sandboxes/s1/shm", "privileged": False, "userns": POD_USERNS}


def spec_for(config: api_pb2.ContainerConfig, sandbox: dict | None = None) -> dict:
    return build_spec(
        container_dir="/state/containers/c1", config=config, sandbox=sandbox or SANDBOX, image_config={"Cmd": ["sh"]},
        layer_dirs=["/layers/base"], log_path="", cgroup_procs=[], oom=None, pid_namespace=("new", None), last_cap=40,
    )


def config(userns: api_pb2.UserNamespace | None = None, mounts: list | None = None) -> api_pb2.ContainerConfig:
    made = api_pb2.ContainerConfig(metadata=api_pb2.ContainerMetadata(name="c"), image=api_pb2.ImageSpec(image="busybox"),
                                   mounts=mounts or [])
    if userns is not None:
        made.linux.security_context.namespace_options.userns_options.CopyFrom(userns)
    return made


def line(host: int = 100000) -> api_pb2.IDMapping:
    return api_pb2.IDMapping(host_id=host, container_id=0, length=65536)


def test_the_spec_carries_the_pods_user_namespace_to_join() -> None:
    assert spec_for(config())["userns"] == POD_USERNS
    assert spec_for(config(), dict(SANDBOX, userns=None))["userns"] is None


def test_a_container_repeating_its_pods_mapping_is_accepted() -> None:
    spec = spec_for(config(api_pb2.UserNamespace(mode=api_pb2.POD, uids=[line()], gids=[line()])))
    assert spec["userns"] == POD_USERNS


def test_a_container_asking_for_another_user_namespace_than_its_pod_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="differs from its sandbox"):
        spec_for(config(api_pb2.UserNamespace(mode=api_pb2.POD, uids=[line(300000)], gids=[line(300000)])))
    with pytest.raises(InvalidArgument, match="differs from its sandbox"):
        spec_for(config(api_pb2.UserNamespace(mode=api_pb2.NODE)))


def test_a_volume_with_mappings_carries_its_idmap_and_others_do_not() -> None:
    mounts = [api_pb2.Mount(container_path="/a", host_path="/h/a"),
              api_pb2.Mount(container_path="/b", host_path="/h/b", uidMappings=[line()], gidMappings=[line()])]
    plain, idmapped = spec_for(config(mounts=mounts))["mounts"]
    assert "idmap" not in plain
    assert idmapped["idmap"] == {"uids": [RANGE], "gids": [RANGE]}


def test_bidirectional_propagation_is_refused_in_a_pod_with_its_own_user_namespace() -> None:
    mount = api_pb2.Mount(container_path="/b", host_path="/h/b", propagation=api_pb2.PROPAGATION_BIDIRECTIONAL)
    with pytest.raises(InvalidArgument, match="Bidirectional propagation is not possible"):
        spec_for(config(mounts=[mount]))
    assert spec_for(config(mounts=[mount]), dict(SANDBOX, userns=None))["mounts"][0]["propagation"] == "rshared"
    mount.propagation = api_pb2.PROPAGATION_HOST_TO_CONTAINER
    assert spec_for(config(mounts=[mount]))["mounts"][0]["propagation"] == "rslave"


def test_kernel_versions_compare_by_major_and_minor() -> None:
    assert kernel_version("6.18.44-fc-v782") == (6, 18)
    assert kernel_version("5.4.0") < runtime_handlers.MIN_KERNEL <= kernel_version("5.19.1")
    assert kernel_version("weird") == (0, 0)


def test_every_handler_advertises_user_namespaces_when_the_probe_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(runtime_handlers.subprocess, "run", run)
    monkeypatch.setattr(runtime_handlers, "kernel_version", lambda: (6, 18))
    monkeypatch.setattr(runtime_handlers, "recursive_readonly_supported", lambda: True)
    handlers = RuntimeHandlers(("", "kyb"), "/var/lib/kyb")
    first, again = handlers.messages(), handlers.messages()
    assert [(h.name, h.features.user_namespaces, h.features.recursive_read_only_mounts) for h in first] == \
        [("", True, True), ("kyb", True, True)]
    assert first == again
    assert len(calls) == 1 and calls[0][-3:] == ["-m", "runtime.linux.idmap", "/var/lib/kyb"]


def test_no_handler_advertises_user_namespaces_when_idmapped_mounts_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_handlers.subprocess, "run",
                        lambda argv, **kw: subprocess.CompletedProcess(argv, 1, "mount_setattr: Invalid argument\n", ""))
    monkeypatch.setattr(runtime_handlers, "kernel_version", lambda: (6, 18))
    assert [h.features.user_namespaces for h in RuntimeHandlers(("",), "/x").messages()] == [False]


def test_an_old_kernel_advertises_no_user_namespaces_without_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        raise AssertionError("no probe expected")

    monkeypatch.setattr(runtime_handlers.subprocess, "run", run)
    monkeypatch.setattr(runtime_handlers, "kernel_version", lambda: (5, 15))
    assert [h.features.user_namespaces for h in RuntimeHandlers(("",), "/x").messages()] == [False]
