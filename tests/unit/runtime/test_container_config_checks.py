"""A ContainerConfig is refused up front, naming the field, when a value could only fail (or be
silently cut short) once it reaches the kernel."""

from __future__ import annotations

import errno

import pytest

from cri import api_pb2
from runtime.cgroups import CgroupError
from runtime.container.config_checks import MAX_ID, MAX_SUPPLEMENTAL_GROUPS, check_container_config
from runtime.container.manager import cgroup_failure
from runtime.errors import FailedPrecondition, InternalError, InvalidArgument


def config(**fields: object) -> api_pb2.ContainerConfig:
    return api_pb2.ContainerConfig(metadata=api_pb2.ContainerMetadata(name="c"), image=api_pb2.ImageSpec(image="busybox"),
                                   command=["sh", "-c", "true"], **fields)


def security(**fields: object) -> api_pb2.LinuxContainerConfig:
    return api_pb2.LinuxContainerConfig(security_context=api_pb2.LinuxContainerSecurityContext(**fields))


def test_an_ordinary_config_passes() -> None:
    check_container_config(config(envs=[api_pb2.KeyValue(key="A", value="b=c")], working_dir="/srv",
                                  mounts=[api_pb2.Mount(container_path="/d", host_path="/tmp")],
                                  linux=security(run_as_user=api_pb2.Int64Value(value=MAX_ID), supplemental_groups=[0])))


@pytest.mark.parametrize(("field", "cfg"), [
    ("args", config(args=["a\0b"])),
    ("env 'A'", config(envs=[api_pb2.KeyValue(key="A", value="x\0y")])),
    ("env name", config(envs=[api_pb2.KeyValue(key="A\0", value="x")])),
    ("working_dir", config(working_dir="/srv\0")),
    ("mount host_path", config(mounts=[api_pb2.Mount(container_path="/d", host_path="/tmp\0/x")])),
    ("device container_path", config(devices=[api_pb2.Device(container_path="/dev/\0x", host_path="/dev/null")])),
    ("masked path", config(linux=security(masked_paths=["/proc/\0kcore"]))),
])
def test_a_nul_byte_anywhere_it_reaches_the_kernel_is_refused_naming_the_field(field: str, cfg: api_pb2.ContainerConfig) -> None:
    with pytest.raises(InvalidArgument, match=f"^{field} contains a NUL byte"):
        check_container_config(cfg)


def test_labels_and_annotations_are_not_checked() -> None:
    check_container_config(config(labels={"a": "b\0"}, annotations={"x\0": "y"}))


@pytest.mark.parametrize("linux", [
    security(run_as_user=api_pb2.Int64Value(value=-1)),
    security(run_as_user=api_pb2.Int64Value(value=2**32 - 1)),
    security(run_as_user=api_pb2.Int64Value(value=0), run_as_group=api_pb2.Int64Value(value=2**40)),
    security(supplemental_groups=[5, -3]),
])
def test_ids_outside_the_kernels_32_bits_are_refused(linux: api_pb2.LinuxContainerConfig) -> None:
    with pytest.raises(InvalidArgument, match="is not a valid id"):
        check_container_config(config(linux=linux))


def test_device_permissions_may_only_combine_r_w_and_m() -> None:
    check_container_config(config(devices=[api_pb2.Device(container_path="/dev/x", host_path="/dev/null", permissions="rm")]))
    with pytest.raises(InvalidArgument, match="permissions 'rwx'"):
        check_container_config(config(devices=[api_pb2.Device(container_path="/dev/x", host_path="/dev/null", permissions="rwx")]))


def test_an_environment_variable_without_a_name_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="empty name"):
        check_container_config(config(envs=[api_pb2.KeyValue(key="", value="x")]))


def test_more_supplemental_groups_than_the_kernel_takes_are_refused() -> None:
    check_container_config(config(linux=security(supplemental_groups=range(MAX_SUPPLEMENTAL_GROUPS))))
    with pytest.raises(InvalidArgument, match=f"{MAX_SUPPLEMENTAL_GROUPS + 1} supplemental groups"):
        check_container_config(config(linux=security(supplemental_groups=range(MAX_SUPPLEMENTAL_GROUPS + 1))))


@pytest.mark.parametrize("adj", [-1001, 1001, 5000])
def test_an_oom_score_adj_outside_the_kernels_range_is_refused(adj: int) -> None:
    cfg = config(linux=api_pb2.LinuxContainerConfig(resources=api_pb2.LinuxContainerResources(oom_score_adj=adj)))
    with pytest.raises(InvalidArgument, match=f"oom_score_adj {adj} is outside"):
        check_container_config(cfg)


@pytest.mark.parametrize("adj", [-1000, 0, 1000])
def test_an_oom_score_adj_in_range_passes(adj: int) -> None:
    check_container_config(config(linux=api_pb2.LinuxContainerConfig(
        resources=api_pb2.LinuxContainerResources(oom_score_adj=adj))))


@pytest.mark.parametrize("linux", [security(masked_paths=["proc/kcore"]), security(readonly_paths=["sys"])])
def test_relative_masked_and_read_only_paths_are_refused(linux: api_pb2.LinuxContainerConfig) -> None:
    with pytest.raises(InvalidArgument, match="must be an absolute path"):
        check_container_config(config(linux=linux))


@pytest.mark.parametrize(("code", "kind"), [(errno.EINVAL, InvalidArgument), (errno.ERANGE, InvalidArgument),
                                            (errno.EBUSY, FailedPrecondition), (errno.EACCES, InternalError),
                                            (None, InternalError)])
def test_a_cgroup_write_failure_maps_to_whose_fault_it_is(code: int | None, kind: type) -> None:
    assert type(cgroup_failure(CgroupError("cannot write 'x' to cpuset.cpus", code), "cannot create")) is kind


def test_an_exec_command_with_a_nul_byte_is_refused_before_the_container_is_looked_up() -> None:
    from runtime.container.exec_sync import exec_sync

    with pytest.raises(InvalidArgument, match="exec cmd contains a NUL byte"):
        exec_sync(None, "any", ["echo", "a\0b"], 0)  # type: ignore[arg-type]
