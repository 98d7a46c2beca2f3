"""Pods with a user namespace of their own (hostUsers: false, KEP-127), on the real kernel.

The pod maps container IDs 0-65535 to host IDs starting at a range of its own; its containers see
themselves as root, own the image's files through idmapped layers, can write them (copy-up),
and are an unprivileged host user seen from outside.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_harness import POD_CIDR, RuntimeUnderTest, container_config, pod_config, wait_for
from test_exec_streaming import exec_url, in_netns, session

from cri import api_pb2
from cri.client import CRIError, RuntimeClient

pytestmark = pytest.mark.root

LENGTH = 65536


def host_base() -> int:
    """A range of host IDs for this test's pod; tests running at once pick different ones."""
    return LENGTH * (16 + secrets.randbelow(4000))


def mapping(base: int, length: int = LENGTH, container_id: int = 0) -> list[api_pb2.IDMapping]:
    return [api_pb2.IDMapping(host_id=base, container_id=container_id, length=length)]


def userns_options(base: int) -> api_pb2.UserNamespace:
    return api_pb2.UserNamespace(mode=api_pb2.POD, uids=mapping(base), gids=mapping(base))


def userns_pod(name: str, base: int, **kwargs: object) -> api_pb2.PodSandboxConfig:
    pod = pod_config(name, **kwargs)  # type: ignore[arg-type]
    pod.linux.security_context.namespace_options.userns_options.CopyFrom(userns_options(base))
    return pod


def start(cri: RuntimeClient, sandbox: str, pod: api_pb2.PodSandboxConfig, name: str, command: list[str],
          pid: int = api_pb2.CONTAINER, tty: bool = False, **linux: Any) -> str:
    config = container_config(name, command, pid=pid, **linux)
    config.tty = tty
    config.linux.security_context.namespace_options.userns_options.CopyFrom(
        pod.linux.security_context.namespace_options.userns_options)
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    return container


def run(cri: RuntimeClient, container: str, *command: str) -> str:
    result = cri.exec_sync(container, list(command), timeout=10)
    assert result.exit_code == 0, result.stderr.decode()
    return result.stdout.decode()


def status_ids(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Uid"].split()[1]), int(fields["Gid"].split()[1])


def test_a_container_sees_the_pods_mapping_and_is_root_inside(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-map", base)
    container = start(cri, cri.run_pod_sandbox(pod), pod, "c", ["sleep", "300"])
    assert run(cri, container, "cat", "/proc/self/uid_map").split() == ["0", str(base), str(LENGTH)]
    assert run(cri, container, "cat", "/proc/self/gid_map").split() == ["0", str(base), str(LENGTH)]
    assert run(cri, container, "id", "-u").strip() == "0"
    assert run(cri, container, "id", "-g").strip() == "0"


def test_the_containers_processes_are_the_pods_host_user_seen_from_the_host(runtime: RuntimeUnderTest,
                                                                           cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-host", base)
    sandbox = cri.run_pod_sandbox(pod)
    container = start(cri, sandbox, pod, "c", ["sleep", "300"])
    container_pid = record(runtime, "containers", container)["pid"]
    holder_pid = record(runtime, "sandboxes", sandbox)["holder"]["pid"]
    assert status_ids(container_pid) == (base, base)
    assert status_ids(holder_pid) == (base, base)
    ps = subprocess.run(["ps", "-o", "uid=", "-p", str(container_pid)], capture_output=True, text=True, check=True)
    assert ps.stdout.strip() == str(base)


def record(runtime: RuntimeUnderTest, kind: str, object_id: str) -> dict:
    return json.loads((runtime.root / kind / object_id / "record.json").read_text())


def test_image_files_belong_to_root_inside_and_root_can_change_them(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-files", base)
    container = start(cri, cri.run_pod_sandbox(pod), pod, "c", ["sleep", "300"])
    assert run(cri, container, "stat", "-c", "%u:%g", "/bin/busybox", "/etc/passwd", "/").split() == ["0:0"] * 3
    run(cri, container, "sh", "-c", "echo changed >> /etc/passwd && echo new > /etc/new-file && rm /etc/group")
    assert run(cri, container, "tail", "-n", "1", "/etc/passwd") == "changed\n"
    assert run(cri, container, "stat", "-c", "%u:%g", "/etc/passwd", "/etc/new-file").split() == ["0:0"] * 2
    assert run(cri, container, "sh", "-c", "test -e /etc/group || echo gone") == "gone\n"


def test_host_files_outside_the_range_belong_to_nobody_inside(cri: RuntimeClient, tmp_path: Path) -> None:
    base = host_base()
    pod = userns_pod("userns-nobody", base)
    volume = tmp_path / "plain"
    volume.mkdir()
    (volume / "f").write_text("host\n")
    config = container_config("c", ["sleep", "300"])
    config.mounts.append(api_pb2.Mount(container_path="/plain", host_path=str(volume)))
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert run(cri, container, "stat", "-c", "%u", "/plain/f").strip() == "65534"
    assert cri.exec_sync(container, ["sh", "-c", "echo x > /plain/f"], timeout=10).exit_code != 0


def test_an_idmapped_host_path_volume_is_owned_and_writable_by_root_inside(cri: RuntimeClient, tmp_path: Path) -> None:
    base = host_base()
    pod = userns_pod("userns-volume", base)
    volume = tmp_path / "data"
    volume.mkdir()
    (volume / "from-host").write_text("host\n")
    config = container_config("c", ["sleep", "300"])
    config.mounts.append(api_pb2.Mount(container_path="/data", host_path=str(volume),
                                       uidMappings=mapping(base), gidMappings=mapping(base)))
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert run(cri, container, "stat", "-c", "%u:%g", "/data/from-host").strip() == "0:0"
    run(cri, container, "sh", "-c", "echo pod > /data/from-pod && chown 1000:1000 /data/from-pod")
    # written through the idmapped mount, the files carry the volume's own (host) IDs on disk
    assert (os.stat(volume / "from-pod").st_uid, os.stat(volume / "from-pod").st_gid) == (1000, 1000)
    assert (volume / "from-pod").read_text() == "pod\n"


def test_two_containers_of_a_pod_share_its_user_namespace(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-share", base, pid=api_pb2.POD)
    sandbox = cri.run_pod_sandbox(pod)
    first = start(cri, sandbox, pod, "first", ["sleep", "301"], pid=api_pb2.POD)
    second = start(cri, sandbox, pod, "second", ["sleep", "302"])
    ns = run(cri, first, "readlink", "/proc/self/ns/user")
    assert ns == run(cri, second, "readlink", "/proc/self/ns/user")
    assert ns.strip() != os.readlink("/proc/self/ns/user")
    assert "sleep 301" in run(cri, first, "ps", "-o", "pid,user,args")


def test_the_pods_namespaces_belong_to_its_user_namespace(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-own", base, hostname="ownhost")
    pod.linux.sysctls.update({"net.ipv4.ip_unprivileged_port_start": "1024", "kernel.shm_rmid_forced": "1"})
    container = start(cri, cri.run_pod_sandbox(pod), pod, "c", ["sleep", "300"],
                      capabilities=api_pb2.Capability(add_capabilities=["SYS_ADMIN"]))
    # binding a port below 1024 needs CAP_NET_BIND_SERVICE over the network namespace's owner,
    # sethostname CAP_SYS_ADMIN over the UTS namespace's: the pod's root has them only there
    run(cri, container, "sh", "-c", "httpd -p 80 -h /tmp && sleep 0.2 && netstat -ltn | grep -q ':80 '")
    run(cri, container, "hostname", "renamed")
    assert run(cri, container, "hostname").strip() == "renamed"
    assert run(cri, container, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start", "/proc/sys/kernel/shm_rmid_forced").split() \
        == ["1024", "1"]


def test_a_non_root_container_user_is_mapped_too(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-user", base)
    container = start(cri, cri.run_pod_sandbox(pod), pod, "c", ["sleep", "300"],
                      run_as_user=api_pb2.Int64Value(value=1000), run_as_group=api_pb2.Int64Value(value=1000))
    assert run(cri, container, "id", "-u").strip() == "1000"
    assert run(cri, container, "sh", "-c", "echo x > /tmp/mine && stat -c %u /tmp/mine").strip() == "1000"


def test_a_tty_container_gets_a_terminal_of_its_own_group(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-tty", base)
    container = start(cri, cri.run_pod_sandbox(pod), pod, "c", ["sleep", "300"], tty=True)
    assert run(cri, container, "stat", "-c", "%u:%g", "/dev", "/dev/pts/0").split() == ["0:0", "0:5"]


def test_node_mode_keeps_the_hosts_identity_mapping(cri: RuntimeClient) -> None:
    pod = pod_config("userns-node")
    pod.linux.security_context.namespace_options.userns_options.mode = api_pb2.NODE
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("c", ["sleep", "300"])
    config.linux.security_context.namespace_options.userns_options.mode = api_pb2.NODE
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert run(cri, container, "cat", "/proc/self/uid_map").split() == Path("/proc/self/uid_map").read_text().split()


@pytest.mark.parametrize("uids", [
    mapping(200000, length=0),
    mapping(0),
    mapping(200000, container_id=1),
    mapping(200000) + mapping(400000, container_id=LENGTH),
    mapping(4294967295 - 100),
], ids=["length-0", "host-root", "root-unmapped", "two-lines", "overflow"])
def test_invalid_mappings_are_refused_and_leave_nothing(runtime: RuntimeUnderTest, cri: RuntimeClient,
                                                       uids: list[api_pb2.IDMapping]) -> None:
    pod = pod_config("userns-bad")
    pod.linux.security_context.namespace_options.userns_options.CopyFrom(
        api_pb2.UserNamespace(mode=api_pb2.POD, uids=uids, gids=mapping(200000)))
    with pytest.raises(CRIError) as failure:
        cri.run_pod_sandbox(pod)
    assert failure.value.code.name == "INVALID_ARGUMENT"
    assert cri.list_pod_sandbox() == []
    sandboxes = runtime.root / "sandboxes"
    assert not sandboxes.exists() or list(sandboxes.iterdir()) == []


@pytest.mark.parametrize("options", [
    api_pb2.UserNamespace(mode=api_pb2.CONTAINER),
    api_pb2.UserNamespace(mode=api_pb2.TARGET),
    api_pb2.UserNamespace(mode=api_pb2.POD),
    api_pb2.UserNamespace(mode=api_pb2.NODE, uids=mapping(200000), gids=mapping(200000)),
], ids=["container", "target", "pod-without-maps", "node-with-maps"])
def test_invalid_modes_are_refused(cri: RuntimeClient, options: api_pb2.UserNamespace) -> None:
    pod = pod_config("userns-mode")
    pod.linux.security_context.namespace_options.userns_options.CopyFrom(options)
    with pytest.raises(CRIError) as failure:
        cri.run_pod_sandbox(pod)
    assert failure.value.code.name == "INVALID_ARGUMENT"


def test_a_container_asking_for_another_mapping_than_its_pod_is_refused(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-mismatch", base)
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("c", ["sleep", "300"])
    config.linux.security_context.namespace_options.userns_options.CopyFrom(userns_options(base + LENGTH))
    with pytest.raises(CRIError) as failure:
        cri.create_container(sandbox, config, pod)
    assert failure.value.code.name == "INVALID_ARGUMENT"
    assert cri.list_containers() == []


def test_removing_the_pod_leaves_no_process_and_no_mount(runtime: RuntimeUnderTest, cri: RuntimeClient,
                                                        tmp_path: Path) -> None:
    base = host_base()
    pod = userns_pod("userns-gone", base)
    volume = tmp_path / "vol"
    volume.mkdir()
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("c", ["sleep", "300"])
    config.mounts.append(api_pb2.Mount(container_path="/vol", host_path=str(volume),
                                       uidMappings=mapping(base), gidMappings=mapping(base)))
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    run(cri, container, "true")
    pids = runtime.state_pids() | runtime.cgroup_pids()
    assert pids
    cri.remove_pod_sandbox(sandbox)
    for pid in pids:
        wait_for(lambda pid=pid: not _alive(pid), timeout=10, what=f"process {pid} gone")
    assert runtime.mounts_under_root() == []
    assert not any(line.split()[4].startswith(str(volume)) for line in Path("/proc/self/mountinfo").read_text().splitlines())
    assert not _processes_of_host_user(base)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _processes_of_host_user(uid: int) -> list[int]:
    """Live processes of that host user (a zombie waiting for its reaper runs nothing)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if status_ids(int(entry))[0] == uid and _alive(int(entry)):
                    found.append(int(entry))
            except (OSError, KeyError, ValueError):
                continue
    return found


def test_status_advertises_user_namespaces_for_every_handler(cri: RuntimeClient) -> None:
    handlers = {h.name: h.features.user_namespaces for h in cri.status().runtime_handlers}
    assert handlers == {"": True, "kyb": True, "runc": True}



def test_the_runtime_wires_the_network_of_a_pod_in_its_own_user_namespace(networked: RuntimeUnderTest) -> None:
    cri = networked.client
    assert cri is not None
    base = host_base()
    web_pod, client_pod = userns_pod("userns-web", base), pod_config("plain-client")
    web_sandbox = cri.run_pod_sandbox(web_pod)
    web_ip = cri.pod_sandbox_status(web_sandbox).status.network.ip
    assert web_ip.startswith(POD_CIDR.rsplit(".", 1)[0] + ".")
    # port 80 is privileged: only root of the network namespace's owner (the pod's) may bind it
    start(cri, web_sandbox, web_pod, "web", ["sh", "-c", "mkdir /www; echo userns-web > /www/index.html; httpd -f -p 80 -h /www"])
    client = cri.create_container(cri.run_pod_sandbox(client_pod), container_config("client", ["sleep", "300"]), client_pod)
    cri.start_container(client)
    body = wait_for(lambda: (r := cri.exec_sync(client, ["wget", "-q", "-O", "-", f"http://{web_ip}/"],
                                               timeout=10)).exit_code == 0 and r.stdout,
                    what="the web pod to answer", timeout=15)
    assert body == b"userns-web\n"


def test_an_image_volume_in_a_user_namespace_pod_belongs_to_root_inside(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-imagevol", base)
    config = container_config("c", ["sleep", "300"])
    config.mounts.append(api_pb2.Mount(container_path="/volume", image=api_pb2.ImageSpec(image="busybox:latest"),
                                       readonly=True))
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert run(cri, container, "stat", "-c", "%u:%g", "/volume/bin/busybox").strip() == "0:0"


def test_a_read_only_root_filesystem_stays_read_only_for_the_pods_root(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-ro", base)
    container = start(cri, cri.run_pod_sandbox(pod), pod, "c", ["sleep", "300"], readonly_rootfs=True)
    result = cri.exec_sync(container, ["touch", "/new-file"], timeout=10)
    assert result.exit_code != 0 and b"Read-only file system" in result.stderr


def test_a_working_directory_missing_from_the_image_belongs_to_the_pods_root(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-workdir", base)
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("c", ["sleep", "300"])
    config.working_dir = "/work/dir"
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert run(cri, container, "stat", "-c", "%u:%g", "/work", "/work/dir", "/etc").split() == ["0:0"] * 3
    run(cri, container, "touch", "/work/dir/written-by-root")


def test_an_exec_with_a_terminal_joins_the_pods_user_namespace(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-exec-tty", base)
    container = start(cri, cri.run_pod_sandbox(pod), pod, "c", ["sleep", "300"])
    url = exec_url(cri, container, ["sh", "-c", "sleep 0.5; stat -c %u:%g $(tty); id -u; cat /proc/self/uid_map"],
                   stdout=True, tty=True)
    out = in_netns(runtime.netns, session(url)).get(1, b"").decode().split()
    assert out == ["0:5", "0", "0", str(base), str(LENGTH)]


def test_a_restarted_daemon_still_runs_execs_in_the_pods_user_namespace(runtime: RuntimeUnderTest,
                                                                          cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-restart", base)
    sandbox = cri.run_pod_sandbox(pod)
    container = start(cri, sandbox, pod, "c", ["sleep", "300"])
    runtime.kill_daemon()
    again = runtime.start()
    assert again.container_status(container).status.state == api_pb2.CONTAINER_RUNNING
    assert run(again, container, "cat", "/proc/self/uid_map").split() == ["0", str(base), str(LENGTH)]
    second = start(again, sandbox, pod, "second", ["sleep", "300"])
    assert run(again, second, "id", "-u").strip() == "0"


def test_the_pods_root_mounts_in_its_own_mount_namespace_but_cannot_unmask_paths(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-mount", base)
    container = start(cri, cri.run_pod_sandbox(pod), pod, "c", ["sleep", "300"],
                      capabilities=api_pb2.Capability(add_capabilities=["SYS_ADMIN"]))
    run(cri, container, "sh", "-c", "mkdir -p /scratch && mount -t tmpfs scratch /scratch && touch /scratch/f")
    unmask = cri.exec_sync(container, ["umount", "/proc/timer_list"], timeout=10)
    assert unmask.exit_code != 0
    assert run(cri, container, "stat", "-c", "%t:%T", "/proc/timer_list").strip() == "1:3"  # still /dev/null


def test_without_sys_admin_the_pods_root_cannot_mount(cri: RuntimeClient) -> None:
    base = host_base()
    pod = userns_pod("userns-nomount", base)
    container = start(cri, cri.run_pod_sandbox(pod), pod, "c", ["sleep", "300"])
    result = cri.exec_sync(container, ["sh", "-c", "mkdir -p /scratch && mount -t tmpfs scratch /scratch"], timeout=10)
    assert result.exit_code != 0


@pytest.fixture
def shared_dir(runtime: RuntimeUnderTest) -> Iterator[Path]:
    """A host directory that is its own shared mount, as the kubelet's pod volume dirs are."""
    path = runtime.logs / f"shared-{secrets.token_hex(3)}"
    path.mkdir()
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    subprocess.run(["mount", "--make-shared", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-R", "-l", str(path)], check=False)


@pytest.mark.parametrize("idmapped", [False, True], ids=["plain", "idmapped"])
def test_host_mounts_propagate_into_a_user_namespace_pods_volume(cri: RuntimeClient, shared_dir: Path,
                                                                 idmapped: bool) -> None:
    base = host_base()
    pod = userns_pod("userns-prop", base)
    config = container_config("c", ["sleep", "300"])
    mount = api_pb2.Mount(container_path="/vol", host_path=str(shared_dir),
                          propagation=api_pb2.PROPAGATION_HOST_TO_CONTAINER)
    if idmapped:
        mount.uidMappings.extend(mapping(base))
        mount.gidMappings.extend(mapping(base))
    config.mounts.append(mount)
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    (shared_dir / "later").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "late", str(shared_dir / "later")], check=True)
    (shared_dir / "later" / "flag").write_text("mounted after start\n")
    assert run(cri, container, "cat", "/vol/later/flag") == "mounted after start\n"
