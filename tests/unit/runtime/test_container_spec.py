"""CRI ContainerConfig -> shim spec, decided the way containerd decides it."""

from __future__ import annotations

import pytest

from cri import api_pb2
from runtime.container.spec import DEFAULT_MASKED_PATHS, build_spec, check_namespace_modes
from runtime.errors import FailedPrecondition, InvalidArgument

IMAGE = {"Entrypoint": ["/entry"], "Cmd": ["--serve"], "Env": ["PATH=/bin", "A=image"], "WorkingDir": "/srv", "User": "www:staff"}
SANDBOX = {"dir": "/state/sandboxes/s1", "hostname": "web-0", "namespaces": {"net": "/proc/9/ns/net", "ipc": "/proc/9/ns/ipc", "uts": "/proc/9/ns/uts"},
           "shm": "/state/sandboxes/s1/shm", "privileged": False}


def spec_for(config: api_pb2.ContainerConfig, image: dict | None = None, sandbox: dict | None = None) -> dict:
    return build_spec(
        container_dir="/state/containers/c1", config=config, sandbox=sandbox or SANDBOX,
        image_config=IMAGE if image is None else image, layer_dirs=["/layers/base", "/layers/top"],
        log_path="/logs/c.log", cgroup_procs=["/cg/cgroup.procs"], oom=None, pid_namespace=("new", None), last_cap=40,
    )


def config(**fields: object) -> api_pb2.ContainerConfig:
    return api_pb2.ContainerConfig(metadata=api_pb2.ContainerMetadata(name="c"), image=api_pb2.ImageSpec(image="busybox"), **fields)


def test_image_entrypoint_and_cmd_are_the_default_command() -> None:
    assert spec_for(config())["process"]["args"] == ["/entry", "--serve"]


def test_args_replace_cmd_and_command_replaces_both() -> None:
    assert spec_for(config(args=["--debug"]))["process"]["args"] == ["/entry", "--debug"]
    assert spec_for(config(command=["sh"], args=["-c", "true"]))["process"]["args"] == ["sh", "-c", "true"]


def test_no_command_anywhere_is_invalid() -> None:
    with pytest.raises(InvalidArgument):
        spec_for(config(), image={})


def test_config_env_overrides_image_env() -> None:
    env = spec_for(config(envs=[api_pb2.KeyValue(key="A", value="config"), api_pb2.KeyValue(key="B", value="b")]))["process"]["env"]
    assert env == ["PATH=/bin", "HOSTNAME=web-0", "A=config", "B=b"]


def test_hostname_and_a_default_path_are_in_the_environment_unless_overridden() -> None:
    assert spec_for(config(), image={"Cmd": ["sh"]})["process"]["env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=web-0"]
    env = spec_for(config(envs=[api_pb2.KeyValue(key="HOSTNAME", value="mine")]))["process"]["env"]
    assert "HOSTNAME=mine" in env and "HOSTNAME=web-0" not in env


def test_working_dir_defaults_to_the_images_and_must_be_absolute() -> None:
    assert spec_for(config())["process"]["cwd"] == "/srv"
    with pytest.raises(InvalidArgument):
        spec_for(config(working_dir="relative"))


def test_user_comes_from_the_image_unless_the_security_context_sets_it() -> None:
    assert spec_for(config())["process"]["user"] == {"name": "www", "group": "staff"}
    sc = api_pb2.LinuxContainerSecurityContext(run_as_user=api_pb2.Int64Value(value=7), run_as_group=api_pb2.Int64Value(value=8),
                                               supplemental_groups=[9])
    user = spec_for(config(linux=api_pb2.LinuxContainerConfig(security_context=sc)))["process"]["user"]
    assert user == {"uid": 7, "gid": 8, "supplemental": [9]}


def test_run_as_group_without_a_user_is_invalid() -> None:
    sc = api_pb2.LinuxContainerSecurityContext(run_as_group=api_pb2.Int64Value(value=8))
    with pytest.raises(InvalidArgument):
        spec_for(config(linux=api_pb2.LinuxContainerConfig(security_context=sc)), image={"Cmd": ["x"]})


def test_layers_become_overlay_lowerdirs_top_first() -> None:
    rootfs = spec_for(config())["rootfs"]
    assert rootfs["lower"] == ["/layers/top", "/layers/base"]
    assert rootfs["upper"] == "/state/containers/c1/upper" and rootfs["target"] == "/state/containers/c1/rootfs"


def test_mounts_must_be_absolute_and_carry_propagation() -> None:
    m = api_pb2.Mount(container_path="/data", host_path="/srv/data", readonly=True,
                      propagation=api_pb2.PROPAGATION_HOST_TO_CONTAINER)
    assert spec_for(config(mounts=[m]))["mounts"] == [
        {"source": "/srv/data", "destination": "/data", "readonly": True, "propagation": "rslave"}]
    with pytest.raises(InvalidArgument):
        spec_for(config(mounts=[api_pb2.Mount(container_path="data", host_path="/srv")]))
    with pytest.raises(InvalidArgument):
        spec_for(config(mounts=[api_pb2.Mount(container_path="/data", host_path="srv")]))


def test_kubelet_managed_etc_hosts_wins_over_the_sandboxes() -> None:
    m = api_pb2.Mount(container_path="/etc/hosts", host_path="/var/lib/kubelet/pods/p/etc-hosts")
    etc = spec_for(config(mounts=[m]))["etc_files"]
    assert set(etc) == {"/etc/hostname", "/etc/resolv.conf"}
    assert etc["/etc/resolv.conf"] == "/state/sandboxes/s1/resolv.conf"


def test_default_masked_paths_unless_given_and_none_when_privileged() -> None:
    assert spec_for(config())["masked_paths"] == DEFAULT_MASKED_PATHS
    sc = api_pb2.LinuxContainerSecurityContext(masked_paths=["/proc/x"])
    assert spec_for(config(linux=api_pb2.LinuxContainerConfig(security_context=sc)))["masked_paths"] == ["/proc/x"]
    priv = api_pb2.LinuxContainerSecurityContext(privileged=True)
    spec = spec_for(config(linux=api_pb2.LinuxContainerConfig(security_context=priv)), sandbox={**SANDBOX, "privileged": True})
    assert spec["masked_paths"] == [] and spec["readonly_paths"] == [] and len(spec["process"]["capabilities"]) == 41


def test_privileged_container_in_unprivileged_sandbox_is_refused() -> None:
    priv = api_pb2.LinuxContainerSecurityContext(privileged=True)
    with pytest.raises(FailedPrecondition):
        spec_for(config(linux=api_pb2.LinuxContainerConfig(security_context=priv)))


def test_unknown_capability_is_invalid() -> None:
    sc = api_pb2.LinuxContainerSecurityContext(capabilities=api_pb2.Capability(add_capabilities=["CAP_FLY"]))
    with pytest.raises(InvalidArgument):
        spec_for(config(linux=api_pb2.LinuxContainerConfig(security_context=sc)))


def test_namespace_modes_are_checked() -> None:
    check_namespace_modes(api_pb2.NamespaceOption(network=api_pb2.NODE, pid=api_pb2.TARGET), "c")
    with pytest.raises(InvalidArgument):
        check_namespace_modes(api_pb2.NamespaceOption(pid=9), "c")
    with pytest.raises(InvalidArgument):
        check_namespace_modes(api_pb2.NamespaceOption(network=api_pb2.TARGET), "c")


def test_user_namespaces_with_mappings_are_refused() -> None:
    userns = api_pb2.UserNamespace(mode=api_pb2.POD, uids=[api_pb2.IDMapping(host_id=100000, container_id=0, length=65536)])
    with pytest.raises(InvalidArgument):
        check_namespace_modes(api_pb2.NamespaceOption(userns_options=userns), "sandbox")
    check_namespace_modes(api_pb2.NamespaceOption(userns_options=api_pb2.UserNamespace(mode=api_pb2.NODE)), "sandbox")


def test_device_rules_allow_the_defaults_plus_configured_devices() -> None:
    spec = spec_for(config(devices=[api_pb2.Device(host_path="/dev/null", container_path="/dev/n2", permissions="rw")]))
    assert spec["device_rules"][:2] == ["c *:* m", "b *:* m"]
    assert spec["device_rules"][-1] == "c 1:3 rw"
    priv = api_pb2.LinuxContainerSecurityContext(privileged=True)
    spec = spec_for(config(linux=api_pb2.LinuxContainerConfig(security_context=priv)), sandbox={**SANDBOX, "privileged": True})
    assert spec["device_rules"] == []
