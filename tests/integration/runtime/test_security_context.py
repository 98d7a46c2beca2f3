"""The security context as critest checks it: users and groups, capabilities, no_new_privs,
read-only rootfs, privileged, host namespaces, volume mounts."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config

from cri import api_pb2
from cri.client import CRIError, RuntimeClient

pytestmark = pytest.mark.root


def started(cri: RuntimeClient, name: str, pod: api_pb2.PodSandboxConfig | None = None, **security: object) -> str:
    pod = pod or pod_config(name)
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config(name, ["sleep", "300"], **security), pod)
    cri.start_container(container)
    return container


def sh(cri: RuntimeClient, container: str, script: str) -> str:
    return cri.exec_sync(container, ["sh", "-c", script], timeout=10).stdout.decode().strip()


def test_run_as_user_and_group_with_supplemental_groups(cri: RuntimeClient) -> None:
    c = started(cri, "uid", run_as_user=api_pb2.Int64Value(value=1000), run_as_group=api_pb2.Int64Value(value=2000),
                supplemental_groups=[3000])
    assert sh(cri, c, "id -u; id -g; id -G").split() == ["1000", "2000", "2000", "3000"]
    assert sh(cri, c, "grep -E '^(Uid|Gid)' /proc/1/status | awk '{print $2}'").split() == ["1000", "2000"]


def test_run_as_username_resolves_in_the_image(cri: RuntimeClient) -> None:
    c = started(cri, "username", run_as_username="nobody")
    assert sh(cri, c, "id -un; id -u") .split() == ["nobody", "65534"]
    user = cri.container_status(c).status.user.linux
    assert (user.uid, user.gid) == (65534, 65534)


def test_unknown_username_fails_the_start(cri: RuntimeClient) -> None:
    pod = pod_config("ghost")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("ghost", ["true"], run_as_username="ghost"), pod)
    with pytest.raises(CRIError) as err:
        cri.start_container(container)
    assert "ghost" in err.value.details


def test_dropping_all_capabilities(cri: RuntimeClient) -> None:
    c = started(cri, "nocaps", capabilities=api_pb2.Capability(drop_capabilities=["ALL"]))
    assert sh(cri, c, "grep CapEff /proc/1/status").split()[1] == "0000000000000000"
    assert sh(cri, c, "chown 1 /tmp 2>/dev/null && echo yes || echo no") == "no"


def test_adding_a_capability(cri: RuntimeClient) -> None:
    c = started(cri, "netadmin", capabilities=api_pb2.Capability(add_capabilities=["NET_ADMIN"]))
    mask = int(sh(cri, c, "grep CapEff /proc/1/status").split()[1], 16)
    assert mask & (1 << 12)  # CAP_NET_ADMIN
    assert sh(cri, c, "ip link set lo mtu 1500 && echo ok") == "ok"


def test_no_new_privs(cri: RuntimeClient) -> None:
    c = started(cri, "nnp", no_new_privs=True)
    assert sh(cri, c, "grep NoNewPrivs /proc/1/status").split()[1] == "1"


def test_readonly_rootfs(cri: RuntimeClient) -> None:
    c = started(cri, "rofs", readonly_rootfs=True)
    assert cri.exec_sync(c, ["touch", "/newfile"], timeout=5).exit_code != 0
    assert cri.exec_sync(c, ["touch", "/dev/shm/ok"], timeout=5).exit_code == 0


def test_privileged_container_has_all_capabilities_and_writable_sys(cri: RuntimeClient) -> None:
    pod = pod_config("priv")
    pod.linux.security_context.privileged = True
    c = started(cri, "priv", pod=pod, privileged=True)
    ours = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("CapBnd"))
    assert sh(cri, c, "grep CapEff /proc/1/status").split()[1] == ours.split()[1]
    assert sh(cri, c, "ip link set lo mtu 1500 && echo ok") == "ok"
    assert "ro," not in sh(cri, c, "grep ' /sys ' /proc/mounts")


def test_privileged_container_needs_a_privileged_sandbox(cri: RuntimeClient) -> None:
    pod = pod_config("unpriv")
    sandbox = cri.run_pod_sandbox(pod)
    with pytest.raises(CRIError) as err:
        cri.create_container(sandbox, container_config("priv", ["true"], privileged=True), pod)
    assert err.value.code.name == "FAILED_PRECONDITION"


def test_host_network_pod_sees_the_hosts_interfaces(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    pod = pod_config("hostnet", network=api_pb2.NODE)
    c = started(cri, "hostnet", pod=pod)
    # the daemon runs in the test's network namespace, which is the "host" here
    assert sh(cri, c, "hostname") == os.uname().nodename


def test_host_pid_namespace(cri: RuntimeClient) -> None:
    c = started(cri, "hostpid", pid=api_pb2.NODE)
    assert sh(cri, c, "cat /proc/1/comm") == Path("/proc/1/comm").read_text().strip()


def test_volume_mounts_readonly_and_writable(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    data = runtime.logs / "vol"
    data.mkdir()
    (data / "hello").write_text("from-host\n")
    pod = pod_config("vol")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("vol", ["sleep", "300"])
    config.mounts.extend([
        api_pb2.Mount(container_path="/ro", host_path=str(data), readonly=True),
        api_pb2.Mount(container_path="/rw", host_path=str(data)),
    ])
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert sh(cri, container, "cat /ro/hello") == "from-host"
    assert cri.exec_sync(container, ["touch", "/ro/x"], timeout=5).exit_code != 0
    assert cri.exec_sync(container, ["sh", "-c", "echo back > /rw/written"], timeout=5).exit_code == 0
    assert (data / "written").read_text() == "back\n"
    mounts = cri.container_status(container).status.mounts
    assert [(m.container_path, m.readonly) for m in mounts] == [("/ro", True), ("/rw", False)]


@pytest.fixture
def dir_with_submount(runtime: RuntimeUnderTest) -> Iterator[Path]:
    """A host directory with a tmpfs mounted below it, as a pod volume with a nested mount is."""
    path = runtime.logs / "nested"
    (path / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "kybt-nested", str(path / "sub")], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path / "sub")], check=False)


@pytest.mark.parametrize(("recursive", "sub_writable"), [(False, True), (True, False)])
def test_a_recursive_read_only_mount_is_read_only_below_its_submounts_too(
    cri: RuntimeClient, dir_with_submount: Path, recursive: bool, sub_writable: bool
) -> None:
    pod = pod_config("rro")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("rro", ["sleep", "300"])
    config.mounts.append(api_pb2.Mount(container_path="/vol", host_path=str(dir_with_submount), readonly=True,
                                       recursive_read_only=recursive))
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert cri.exec_sync(container, ["touch", "/vol/top"], timeout=5).exit_code != 0
    below = cri.exec_sync(container, ["touch", "/vol/sub/below"], timeout=5)
    assert (below.exit_code == 0) is sub_writable, below.stderr
    if not sub_writable:
        assert b"Read-only file system" in below.stderr
    assert cri.container_status(container).status.mounts[0].recursive_read_only is recursive


def test_a_recursive_read_only_mount_that_is_not_read_only_is_refused(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    pod = pod_config("rro-bad")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("rro-bad", ["sleep", "300"])
    config.mounts.append(api_pb2.Mount(container_path="/vol", host_path=str(runtime.logs), recursive_read_only=True))
    with pytest.raises(CRIError, match="recursive_read_only needs readonly") as raised:
        cri.create_container(sandbox, config, pod)
    assert raised.value.code.name == "INVALID_ARGUMENT"


def test_env_and_working_dir(cri: RuntimeClient) -> None:
    pod = pod_config("env")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("env", ["sleep", "300"])
    config.envs.extend([api_pb2.KeyValue(key="GREETING", value="hello world")])
    config.working_dir = "/work/dir"
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    environ = sh(cri, container, "tr '\\0' '\\n' < /proc/1/environ")
    assert "GREETING=hello world" in environ.splitlines()
    assert any(line.startswith("PATH=") for line in environ.splitlines())
    assert sh(cri, container, "readlink /proc/1/cwd") == "/work/dir"


def test_hostname_and_home_are_in_the_environment_of_the_container_and_its_execs(cri: RuntimeClient) -> None:
    pod = pod_config("envhost", hostname="web-0")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("envhost", ["sleep", "300"]), pod)
    cri.start_container(container)
    environ = sh(cri, container, "tr '\\0' '\\n' < /proc/1/environ").splitlines()
    assert "HOSTNAME=web-0" in environ and "HOME=/root" in environ
    assert {"HOSTNAME=web-0", "HOME=/root"} <= set(sh(cri, container, "env").splitlines())


def test_home_follows_the_user_and_is_root_directory_without_a_passwd_entry(cri: RuntimeClient) -> None:
    nobody = started(cri, "home-nobody", run_as_username="nobody")
    assert sh(cri, nobody, "echo $HOME") == "/home"
    unknown = started(cri, "home-uid", run_as_user=api_pb2.Int64Value(value=4242))
    assert sh(cri, unknown, "echo $HOME") == "/"


def test_host_devices_are_recreated_in_the_container(cri: RuntimeClient) -> None:
    pod = pod_config("dev")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("dev", ["sleep", "300"])
    config.devices.append(api_pb2.Device(host_path="/dev/zero", container_path="/dev/myzero", permissions="rwm"))
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert sh(cri, container, "head -c 3 /dev/myzero | wc -c") == "3"
    assert sh(cri, container, "stat -c '%t:%T' /dev/myzero") == "1:5"


@pytest.fixture
def shared_dir(runtime: RuntimeUnderTest) -> Iterator[Path]:
    """A host directory that is its own shared mount, as kubelet's pod volume dirs are."""
    path = runtime.logs / "shared"
    path.mkdir()
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    subprocess.run(["mount", "--make-shared", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-R", "-l", str(path)], check=False)


@pytest.mark.parametrize(("propagation", "seen"), [
    (api_pb2.PROPAGATION_PRIVATE, False),
    (api_pb2.PROPAGATION_HOST_TO_CONTAINER, True),
])
def test_mount_propagation_from_host_to_container(cri: RuntimeClient, shared_dir: Path, propagation: int, seen: bool) -> None:
    pod = pod_config("prop")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("prop", ["sleep", "300"])
    config.mounts.append(api_pb2.Mount(container_path="/vol", host_path=str(shared_dir), propagation=propagation))
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    (shared_dir / "later").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "late", str(shared_dir / "later")], check=True)
    (shared_dir / "later" / "flag").write_text("mounted after start\n")
    result = cri.exec_sync(container, ["cat", "/vol/later/flag"], timeout=5)
    assert (result.exit_code == 0) is seen


def test_device_cgroup_lets_a_container_make_but_not_open_host_devices(cri: RuntimeClient) -> None:
    c = started(cri, "devcg")
    disk = os.major(os.stat("/dev/vda").st_rdev) if os.path.exists("/dev/vda") else 8
    script = f"mknod /tmp/disk b {disk} 0 && (head -c 1 /tmp/disk >/dev/null 2>&1 && echo opened || echo denied)"
    assert sh(cri, c, script) == "denied"
    assert sh(cri, c, "head -c 2 /dev/zero | wc -c; echo ok > /dev/null && echo null-ok") == "2\nnull-ok"


def test_configured_devices_are_allowed_by_the_device_cgroup(cri: RuntimeClient) -> None:
    pod = pod_config("devok")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("devok", ["sleep", "300"])
    config.devices.append(api_pb2.Device(host_path="/dev/loop-control", container_path="/dev/loop-control", permissions="rw"))
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert sh(cri, container, "exec 3</dev/loop-control && echo opened") == "opened"


@pytest.mark.parametrize(("profile", "allowed"), [
    (api_pb2.SecurityProfile.Unconfined, True),
    (api_pb2.SecurityProfile.RuntimeDefault, False),
])
def test_runtime_default_seccomp_refuses_what_containers_never_need(cri: RuntimeClient, profile: int, allowed: bool) -> None:
    pod = pod_config("seccomp")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("seccomp", ["sleep", "300"])
    config.linux.security_context.seccomp.profile_type = profile
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    # creating a user namespace needs no capability, only the syscall the default profile refuses
    result = cri.exec_sync(container, ["unshare", "-U", "true"], timeout=5)
    assert (result.exit_code == 0) is allowed
    assert cri.exec_sync(container, ["sh", "-c", "echo fine"], timeout=5).stdout == b"fine\n"


def test_a_relative_localhost_seccomp_profile_path_is_refused_clearly(cri: RuntimeClient) -> None:
    pod = pod_config("seccomp-local")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("c", ["true"])
    config.linux.security_context.seccomp.CopyFrom(
        api_pb2.SecurityProfile(profile_type=api_pb2.SecurityProfile.Localhost, localhost_ref="profiles/x.json"))
    with pytest.raises(CRIError) as err:
        cri.create_container(sandbox, config, pod)
    assert err.value.code.name == "INVALID_ARGUMENT" and "absolute path" in err.value.details
