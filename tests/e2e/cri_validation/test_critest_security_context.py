"""critest "Security Context" (security_context_linux.go) against `kyb runtime`: namespace modes,
users and groups (from the config and from the image), read-only rootfs, privileged mode,
capabilities, masked and read-only paths, no_new_privs, seccomp and AppArmor profiles.

Deviations, because of the offline busybox image only: Debian's busybox has no ``ipcs``, so the
host-IPC check reads /proc/sysvipc/shm (what ipcs reads); its shell runs applets without looking
at PATH, so a masked /bin/ls is checked by executing /bin/ls itself rather than ``sh -c ls``; and
critest's nonewprivs image (a setuid binary) is replaced by reading NoNewPrivs in /proc/self/status.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cri_validation_runtime import BUSYBOX, PAUSE_CMD, Cri, NetworkedKybRuntime, log_lines, rpc_code, v1
from derived_image import accounts_layer, write_derived_archive

pytestmark = pytest.mark.root

SC = v1.LinuxContainerSecurityContext
IMAGE_UID = "example.test/cri-tools/test-image-user-uid:1"  # USER 1002
IMAGE_USERNAME = "example.test/cri-tools/test-image-user-username:1"  # USER www-data
IMAGE_UID_GROUP = "example.test/cri-tools/test-image-user-uid-group:1"  # USER 1003:1004
IMAGE_USERNAME_GROUP = "example.test/cri-tools/test-image-user-username-group:1"  # USER www-data:daemon


@pytest.fixture(scope="module")
def extra_archives(busybox_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("user-images")
    made = []
    for i, (reference, user) in enumerate([(IMAGE_UID, "1002"), (IMAGE_USERNAME, "www-data"),
                                           (IMAGE_UID_GROUP, "1003:1004"), (IMAGE_USERNAME_GROUP, "www-data:daemon")]):
        path = out / f"image-{i}.tar"
        write_derived_archive(busybox_archive, path, reference, user=user, files=accounts_layer())
        made.append(path)
    return made


@pytest.fixture
def pod(cri: Cri) -> Iterator[tuple[str, v1.PodSandboxConfig]]:
    with cri.pod("PodSandbox-for-security-context-") as made:
        yield made


@pytest.fixture
def log_pod(cri: Cri) -> Iterator[tuple[str, v1.PodSandboxConfig]]:
    host = tempfile.mkdtemp(prefix="kybt-podlog-")
    try:
        with cri.pod("PodSandbox-with-log-directory-", log_directory=host) as made:
            yield made
    finally:
        shutil.rmtree(host, ignore_errors=True)


def namespaced_pod(cri: Cri, options: v1.NamespaceOption, **fields: object):  # type: ignore[no-untyped-def]
    """critest's createNamespacePodSandbox."""
    linux = v1.LinuxPodSandboxConfig(security_context=v1.LinuxSandboxSecurityContext(namespace_options=options))
    return cri.pod("NamespaceOption-PodSandbox-", linux=linux, dns_config=v1.DNSConfig(), **fields)


def running(cri: Cri, pod: tuple[str, v1.PodSandboxConfig], config: v1.ContainerConfig) -> str:
    container_id = cri.run(*pod, config)
    cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    return container_id


def secured(cri: Cri, prefix: str, command: list[str] | None = None, image: str = BUSYBOX,
            **security: object) -> v1.ContainerConfig:
    return cri.container_config(prefix, PAUSE_CMD if command is None else command, image=image,
                                linux=v1.LinuxContainerConfig(security_context=SC(**security)))


def exited_output(cri: Cri, pod: tuple[str, v1.PodSandboxConfig], config: v1.ContainerConfig,
                  stream: str = "stdout") -> list[str]:
    config.log_path = config.metadata.name + ".log"
    container_id = cri.run(*pod, config)
    cri.wait_state(container_id, v1.CONTAINER_EXITED)
    return log_lines(os.path.join(pod[1].log_directory, config.log_path), stream)


# ----------------------------------------------------------------------------- namespaces
def test_host_pid_container_sees_other_containers_processes(cri: Cri) -> None:
    options = v1.NamespaceOption(pid=v1.NODE, ipc=v1.POD, network=v1.POD)
    with namespaced_pod(cri, options) as pod:
        other = running(cri, pod, cri.container_config("sleeper-", ["sleep", "4242"]))
        other_pid = json.loads(cri.status_info(other)["info"])["pid"]
        host_pid = running(cri, pod, secured(cri, "container-with-HostPID-test-", ["sh", "-c", "sleep 1000"],
                                             namespace_options=options))
        assert str(other_pid) in cri.exec_ok(host_pid, ["pidof", "sleep"]).split()
        assert int(cri.exec_ok(host_pid, ["sh", "-c", "echo $$"])) > 1


def test_pod_pid_namespace_is_shared_and_pid_1_is_the_sandbox(cri: Cri) -> None:
    options = v1.NamespaceOption(pid=v1.POD)
    with namespaced_pod(cri, options) as pod:
        first = running(cri, pod, secured(cri, "first-", ["sleep", "1001"], namespace_options=options))
        second = running(cri, pod, secured(cri, "second-", ["sleep", "1002"], namespace_options=options))
        assert cri.exec_ok(second, ["cat", "/proc/1/cmdline"]) not in ("sleep\x001001\x00", "sleep\x001002\x00")
        assert set(cri.exec_ok(first, ["pidof", "sleep"]).split()) == set(cri.exec_ok(second, ["pidof", "sleep"]).split())
        assert len(cri.exec_ok(first, ["pidof", "sleep"]).split()) == 2


def test_container_pid_namespace_makes_the_command_pid_1(cri: Cri) -> None:
    options = v1.NamespaceOption(pid=v1.CONTAINER)
    with namespaced_pod(cri, options) as pod:
        container_id = running(cri, pod, secured(cri, "nginx-container-pid-", ["sleep", "1003"], namespace_options=options))
        assert cri.exec_ok(container_id, ["cat", "/proc/1/cmdline"]) == "sleep\x001003\x00"


@pytest.fixture
def host_shm_segment() -> Iterator[int]:
    """critest's `ipcmk -M 1048576`: a System V shared memory segment in the host's IPC namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    ipc_private, ipc_creat, ipc_rmid = 0, 0o1000, 0
    segment = libc.shmget(ipc_private, 1048576, ipc_creat | 0o600)
    assert segment >= 0, os.strerror(ctypes.get_errno())
    try:
        yield segment
    finally:
        libc.shmctl(segment, ipc_rmid, None)


@pytest.mark.parametrize("mode", [v1.NODE, v1.POD], ids=["host-ipc", "pod-ipc"])
def test_host_ipc_shows_the_hosts_shared_memory_only_when_asked(cri: Cri, host_shm_segment: int, mode: int) -> None:
    options = v1.NamespaceOption(pid=v1.POD, ipc=mode, network=v1.POD)
    with namespaced_pod(cri, options) as pod:
        container_id = running(cri, pod, secured(cri, "namespace-container-", namespace_options=options))
        rows = cri.exec_ok(container_id, ["cat", "/proc/sysvipc/shm"]).splitlines()[1:]
        segments = {int(row.split()[1]) for row in rows}
        assert (host_shm_segment in segments) == (mode == v1.NODE)


@pytest.fixture
def node_listener(harness: NetworkedKybRuntime) -> Iterator[int]:
    """A TCP listener on the node (the daemon's network namespace); yields its port."""
    code = ("import socket,sys,time;s=socket.socket();s.bind(('0.0.0.0',0));s.listen();"
            "print(s.getsockname()[1],flush=True);time.sleep(300)")
    proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{harness.name}", sys.executable, "-c", code],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize("mode", [v1.NODE, v1.POD], ids=["host-network", "pod-network"])
def test_host_network_shows_the_nodes_listeners_only_when_asked(
    cri: Cri, node_listener: int, mode: int, tmp_path: Path
) -> None:
    options = v1.NamespaceOption(pid=v1.POD, ipc=v1.POD, network=mode)
    with namespaced_pod(cri, options, log_directory=str(tmp_path)) as pod:
        lines = exited_output(cri, pod, secured(cri, "container-with-HostNetwork-test-", ["sh", "-c", "netstat -ln"],
                                                namespace_options=options))
        assert any(f":{node_listener} " in line for line in lines) == (mode == v1.NODE), lines


# ----------------------------------------------------------------------------- users and groups
def test_supplemental_groups(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "container-with-SupplementalGroups-test-",
                                             supplemental_groups=[1234, 5678]))
    groups = cri.exec_ok(container_id, ["id", "-G"]).split()
    assert "1234" in groups and "5678" in groups


def test_run_as_user(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "container-with-RunAsUser-test-",
                                             run_as_user=v1.Int64Value(value=1001)))
    assert cri.exec_ok(container_id, ["id", "-u"]) == "1001\n"


def test_run_as_username(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "container-with-RunAsUserName-test-", run_as_username="nobody"))
    assert cri.exec_ok(container_id, ["id", "-nu"]) == "nobody\n"


def test_run_as_group(cri: Cri, log_pod: tuple[str, v1.PodSandboxConfig]) -> None:
    config = secured(cri, "container-with-RunAsGroup-test-", ["sh", "-c", "echo $(id -u):$(id -g)"],
                     run_as_user=v1.Int64Value(value=1001), run_as_group=v1.Int64Value(value=1002))
    assert exited_output(cri, log_pod, config) == ["1001:1002"]


def test_run_as_group_without_run_as_user_is_refused(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    config = secured(cri, "container-with-RunAsGroup-without-RunAsUser-test-", ["sh", "-c", "echo $(id -u):$(id -g)"],
                     run_as_group=v1.Int64Value(value=1002))
    assert rpc_code(lambda: cri.create(*pod, config)) == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(("image", "expected"), [
    (IMAGE_UID, "uid=1002 gid=0(root)"),
    (IMAGE_USERNAME, "uid=33(www-data) gid=33(www-data)"),
    (IMAGE_UID_GROUP, "uid=1003 gid=1004"),
    (IMAGE_USERNAME_GROUP, "uid=33(www-data) gid=1(daemon)"),
], ids=["uid", "username", "uid-group", "username-group"])
def test_container_runs_as_the_images_user(cri: Cri, pod: tuple[str, v1.PodSandboxConfig], image: str,
                                           expected: str) -> None:
    container_id = running(cri, pod, cri.container_config("image-user-", PAUSE_CMD, image=image))
    assert cri.exec_ok(container_id, ["id"]).startswith(expected)
    status = cri.img.ImageStatus(v1.ImageStatusRequest(image=v1.ImageSpec(image=image)), timeout=10).image
    if expected.startswith("uid=33"):
        assert (status.username, status.HasField("uid")) == ("www-data", False)
    else:
        assert (status.uid.value, status.username) == (int(expected.split()[0][4:]), "")


def test_run_as_user_overrides_the_images_user(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "override-", image=IMAGE_USERNAME, run_as_user=v1.Int64Value(value=0)))
    assert cri.exec_ok(container_id, ["id", "-u"]) == "0\n"


# ----------------------------------------------------------------------------- rootfs, privileges, capabilities
@pytest.mark.parametrize("readonly", [False, True], ids=["writable-rootfs", "readonly-rootfs"])
def test_readonly_rootfs(cri: Cri, log_pod: tuple[str, v1.PodSandboxConfig], readonly: bool) -> None:
    config = secured(cri, f"container-with-ReadOnlyRootfs-{readonly}-test-",
                     ["sh", "-c", "touch test.go && [ -f test.go ] && echo 'Found'"], readonly_rootfs=readonly)
    config.log_path = config.metadata.name + ".log"
    container_id = cri.run(*log_pod, config)
    cri.wait_state(container_id, v1.CONTAINER_EXITED)
    path = os.path.join(log_pod[1].log_directory, config.log_path)
    if readonly:
        assert "touch: test.go: Read-only file system" in log_lines(path, "stderr")
    else:
        assert log_lines(path, "stdout") == ["Found"]


@pytest.fixture
def privileged_pod(cri: Cri) -> Iterator[tuple[str, v1.PodSandboxConfig]]:
    linux = v1.LinuxPodSandboxConfig(security_context=v1.LinuxSandboxSecurityContext(privileged=True))
    with cri.pod("create-Privileged-PodSandbox-for-container-", linux=linux) as made:
        yield made


def test_privileged_container_manages_network_mounts_and_sees_host_devices(
    cri: Cri, privileged_pod: tuple[str, v1.PodSandboxConfig]
) -> None:
    container_id = running(cri, privileged_pod, secured(cri, "container-with-isPrivileged-test-", privileged=True))
    cri.exec_ok(container_id, ["brctl", "addbr", "foobar"])
    cri.exec_ok(container_id, ["sh", "-c", "mkdir -p /m && mount -t tmpfs tmpfs /m"])
    host_devices = {f"/dev/{n}" for n in ("loop0", "net/tun", "fuse") if os.path.exists(f"/dev/{n}")}
    assert host_devices, "the host has none of the devices this test looks for"
    for device in host_devices:
        cri.exec_ok(container_id, ["test", "-c", device, "-o", "-b", device])
    assert "0000000000000000" not in cri.exec_ok(container_id, ["grep", "CapBnd", "/proc/self/status"])


def test_unprivileged_container_cannot_manage_network_or_mount(
    cri: Cri, privileged_pod: tuple[str, v1.PodSandboxConfig]
) -> None:
    container_id = running(cri, privileged_pod, secured(cri, "container-with-notPrivileged-test-", privileged=False))
    assert cri.exec_sync(container_id, ["brctl", "addbr", "foobar"]).exit_code != 0
    assert cri.exec_sync(container_id, ["sh", "-c", "mkdir -p /m && mount -t tmpfs tmpfs /m"]).exit_code != 0
    assert cri.exec_sync(container_id, ["test", "-e", "/dev/loop0"]).exit_code != 0


def test_privileged_container_needs_a_privileged_sandbox(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    config = secured(cri, "privileged-in-unprivileged-pod-", privileged=True)
    assert rpc_code(lambda: cri.create(*pod, config)) != grpc.StatusCode.OK


def cap_eff(cri: Cri, container_id: str, field: str = "CapEff") -> int:
    status = cri.exec_ok(container_id, ["cat", "/proc/self/status"])
    return int(re.search(rf"^{field}:\s*([0-9a-f]+)$", status, re.M).group(1), 16)  # type: ignore[union-attr]


CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN = 13, 12, 21


def test_adding_a_capability(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    added = running(cri, pod, secured(cri, "container-with-added-capability-test-",
                                      capabilities=v1.Capability(add_capabilities=["NET_ADMIN"])))
    default = running(cri, pod, secured(cri, "container-with-notCapability-test-"))
    cri.exec_ok(added, ["brctl", "addbr", "foobar"])
    assert cri.exec_sync(default, ["brctl", "addbr", "foobar"]).exit_code != 0
    assert cap_eff(cri, added) & (1 << CAP_NET_ADMIN) and not cap_eff(cri, default) & (1 << CAP_NET_ADMIN)


def test_dropping_a_capability(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "container-with-dropped-capability-test-",
                                             capabilities=v1.Capability(drop_capabilities=["NET_RAW"])))
    result = cri.exec_sync(container_id, ["ping", "-c", "1", "127.0.0.1"])
    assert result.exit_code != 0 and result.stdout != b"" and b"permission denied" in result.stderr
    assert not cap_eff(cri, container_id) & (1 << CAP_NET_RAW)


def test_adding_all_capabilities(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "container-with-added-all-capability-test-",
                                             capabilities=v1.Capability(add_capabilities=["ALL"])))
    assert cap_eff(cri, container_id, "CapBnd") != 0
    assert cap_eff(cri, container_id) & (1 << CAP_SYS_ADMIN)


def test_dropping_all_capabilities(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "container-with-dropped-all-capability-test-",
                                             capabilities=v1.Capability(drop_capabilities=["ALL"])))
    assert cap_eff(cri, container_id, "CapBnd") == 0 and cap_eff(cri, container_id) == 0


def test_masked_paths(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "container-with-maskedpaths", masked_paths=["/bin/ls"]))
    result = cri.exec_sync(container_id, ["sh", "-c", "/bin/ls"])
    assert result.exit_code != 0 and b"Permission denied" in result.stderr
    assert cri.exec_ok(container_id, ["cat", "/bin/ls"]) == ""


def test_default_masked_and_readonly_paths(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "default-paths-"))
    masked = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list") if os.path.exists(p)]
    assert masked, "the host has none of the masked files this test reads"
    for path in masked:
        assert cri.exec_ok(container_id, ["cat", path]) == ""
    result = cri.exec_sync(container_id, ["sh", "-c", "echo 1 > /proc/sys/kernel/domainname"])
    assert result.exit_code != 0 and b"Read-only file system" in result.stderr


def test_readonly_paths(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(cri, "container-with-readonlypaths", readonly_paths=["/tmp"]))
    result = cri.exec_sync(container_id, ["touch", "/tmp/test"])
    assert result.exit_code != 0 and result.stderr == b"touch: /tmp/test: Read-only file system\n"


@pytest.mark.parametrize("no_new_privs", [True, False])
def test_no_new_privs(cri: Cri, log_pod: tuple[str, v1.PodSandboxConfig], no_new_privs: bool) -> None:
    config = secured(cri, f"alpine-nnp-{no_new_privs}-", ["grep", "NoNewPrivs", "/proc/self/status"],
                     no_new_privs=no_new_privs, run_as_user=v1.Int64Value(value=1000))
    assert exited_output(cri, log_pod, config) == [f"NoNewPrivs:\t{int(no_new_privs)}"]


# ----------------------------------------------------------------------------- seccomp and AppArmor
def seccomp_mode(cri: Cri, profile: v1.SecurityProfile | None) -> str:
    """critest's seccompTestContainer + `grep Seccomp: /proc/self/status`."""
    linux = v1.LinuxPodSandboxConfig()
    if profile is not None:
        linux.security_context.seccomp.CopyFrom(profile)
    with cri.pod("seccomp-sandbox-", linux=linux) as pod:
        config = cri.container_config("seccomp-container-", PAUSE_CMD)
        if profile is not None:
            config.linux.security_context.seccomp.CopyFrom(profile)
        container_id = running(cri, pod, config)
        return cri.exec_ok(container_id, ["grep", "Seccomp:", "/proc/self/status"]).split()[1]


def test_seccomp_unconfined(cri: Cri) -> None:
    assert seccomp_mode(cri, v1.SecurityProfile(profile_type=v1.SecurityProfile.Unconfined)) == "0"


def test_seccomp_nil_profile_is_unconfined(cri: Cri) -> None:
    assert seccomp_mode(cri, None) == "0"


def test_seccomp_runtime_default_filters(cri: Cri) -> None:
    assert seccomp_mode(cri, v1.SecurityProfile(profile_type=v1.SecurityProfile.RuntimeDefault)) == "2"


def test_seccomp_localhost_profile_blocks_its_syscalls(cri: Cri, pod: tuple[str, v1.PodSandboxConfig],
                                                       tmp_path: Path) -> None:
    profile_path = tmp_path / "block-chmod.json"
    profile_path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                                        "syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]}))
    profile = v1.SecurityProfile(profile_type=v1.SecurityProfile.Localhost, localhost_ref=str(profile_path))
    container_id = running(cri, pod, secured(cri, "seccomp-localhost-", seccomp=profile))
    result = cri.exec_sync(container_id, ["chmod", "400", "/"])
    assert result.exit_code != 0 and b"Operation not permitted" in result.stderr


def test_unconfined_seccomp_with_sys_admin_can_set_the_hostname(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = running(cri, pod, secured(
        cri, "container-with-block-hostname-seccomp-profile-test-", ["sleep", "60"],
        seccomp=v1.SecurityProfile(profile_type=v1.SecurityProfile.Unconfined),
        capabilities=v1.Capability(add_capabilities=["SYS_ADMIN"])))
    cri.exec_ok(container_id, ["hostname", "ANewHostName"])


BLOCK_HOSTNAME = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}


def block_hostname_profile(tmp_path: Path) -> v1.SecurityProfile:
    path = tmp_path / "block-host-name.json"
    path.write_text(json.dumps(BLOCK_HOSTNAME))
    return v1.SecurityProfile(profile_type=v1.SecurityProfile.Localhost, localhost_ref=str(path))


def test_seccomp_profile_blocks_setting_the_hostname_despite_sys_admin(
    cri: Cri, pod: tuple[str, v1.PodSandboxConfig], tmp_path: Path
) -> None:
    container_id = running(cri, pod, secured(
        cri, "container-with-block-hostname-seccomp-profile-test-", ["sleep", "60"],
        seccomp=block_hostname_profile(tmp_path), capabilities=v1.Capability(add_capabilities=["SYS_ADMIN"])))
    assert cri.exec_sync(container_id, ["hostname", "ANewHostName"]).exit_code != 0


def test_privileged_container_ignores_a_seccomp_profile(
    cri: Cri, privileged_pod: tuple[str, v1.PodSandboxConfig], tmp_path: Path
) -> None:
    container_id = running(cri, privileged_pod, secured(
        cri, "container-with-block-hostname-seccomp-profile-test-", ["sleep", "60"],
        seccomp=block_hostname_profile(tmp_path), privileged=True))
    cri.exec_ok(container_id, ["hostname", "ANewHostName"])


def test_apparmor_unconfined_is_accepted(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    profile = v1.SecurityProfile(profile_type=v1.SecurityProfile.Unconfined)
    container_id = running(cri, pod, secured(cri, "apparmor-unconfined-", apparmor=profile))
    assert cri.exec_ok(container_id, ["echo", "-n", "hello"]) == "hello"


@pytest.mark.skipif(os.path.exists("/sys/kernel/security/apparmor"), reason="this host has AppArmor")
@pytest.mark.parametrize("asked", [
    {"apparmor": v1.SecurityProfile(profile_type=v1.SecurityProfile.Localhost, localhost_ref="localhost/kybt-profile")},
    {"apparmor_profile": "localhost/kybt-profile"},
])
def test_an_apparmor_profile_on_a_host_without_apparmor_fails_the_create(
        cri: Cri, pod: tuple[str, v1.PodSandboxConfig], asked: dict) -> None:
    # critest runs its AppArmor specs only where the kernel has AppArmor; elsewhere containerd
    # fails such a request loudly rather than run the container unconfined.
    assert rpc_code(lambda: cri.create(*pod, secured(cri, "apparmor-unsupported-", **asked))) != grpc.StatusCode.OK

