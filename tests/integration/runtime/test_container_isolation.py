"""A container is isolated: its own pid namespace, the pod's hostname, only its own mounts,
read-only kernel knobs, masked paths, Docker's default capabilities."""

from __future__ import annotations

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config

from cri import api_pb2
from cri.client import RuntimeClient

pytestmark = pytest.mark.root

ALLOWED_MOUNT_PREFIXES = ("/proc", "/dev", "/sys", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf")


@pytest.fixture
def sleeper(cri: RuntimeClient) -> str:
    pod = pod_config("iso", hostname="isolated-pod")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("sleeper", ["sleep", "300"]), pod)
    cri.start_container(container)
    return container


def run(cri: RuntimeClient, container: str, script: str) -> api_pb2.ExecSyncResponse:
    return cri.exec_sync(container, ["sh", "-c", script], timeout=10)


def test_container_sees_only_its_own_processes_with_its_command_as_pid_1(cri: RuntimeClient, sleeper: str) -> None:
    result = run(cri, sleeper, "for p in /proc/[0-9]*; do echo ${p#/proc/} $(cat $p/comm); done")
    processes = dict(line.split(" ", 1) for line in result.stdout.decode().split("\n") if line)
    assert processes["1"] == "sleep"
    assert set(processes.values()) <= {"sleep", "sh", "cat"}


def test_container_has_the_pods_hostname(cri: RuntimeClient, sleeper: str) -> None:
    assert run(cri, sleeper, "hostname").stdout.decode().strip() == "isolated-pod"
    assert run(cri, sleeper, "cat /etc/hostname").stdout.decode().strip() == "isolated-pod"


def test_the_pods_etc_files_leave_the_images_etc_and_the_writable_layer_untouched(
        cri: RuntimeClient, runtime: RuntimeUnderTest, sleeper: str) -> None:
    # Their mount targets come from the init layer: nothing is copied up or created per container.
    result = run(cri, sleeper, "cat /etc/hostname; grep -c '^root:' /etc/passwd; grep -q localhost /etc/hosts && echo pod-hosts")
    assert result.stdout.decode().split() == ["isolated-pod", "1", "pod-hosts"]
    assert list((runtime.root / "containers" / sleeper / "upper").iterdir()) == []


def test_container_sees_no_host_mounts(cri: RuntimeClient, sleeper: str) -> None:
    points = [line.split()[4] for line in run(cri, sleeper, "cat /proc/self/mountinfo").stdout.decode().splitlines()]
    assert points[0] == "/"
    strays = [p for p in points[1:] if not p.startswith(ALLOWED_MOUNT_PREFIXES)]
    assert strays == []


def test_container_cannot_write_proc_sys(cri: RuntimeClient, sleeper: str) -> None:
    result = run(cri, sleeper, "echo 1 > /proc/sys/kernel/ns_last_pid")
    assert result.exit_code != 0
    assert b"Read-only file system" in result.stderr


def test_masked_paths_read_empty(cri: RuntimeClient, sleeper: str) -> None:
    # /proc/kcore and friends exist only on some kernels; these two exist on every Linux we run on
    result = run(cri, sleeper, "wc -c < /proc/timer_list; wc -c < /proc/keys; ls /sys/firmware | wc -l")
    assert result.stdout.decode().split() == ["0", "0", "0"]


def test_configured_masked_and_read_only_paths_are_applied_inside_the_container(cri: RuntimeClient) -> None:
    # Resolved in the container's root: "/etc/../home" is the container's /home, and a path the
    # image lacks is skipped rather than failing the start.
    pod = pod_config("iso-paths")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("paths", ["sleep", "300"], masked_paths=["/etc/passwd", "/etc/../home", "/no/such/path"],
                              readonly_paths=["/var", "/no/such/dir"])
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    result = run(cri, container, "wc -c < /etc/passwd; ls -A /home | wc -l; touch /home/x || echo home-ro; "
                                 "touch /var/x || echo var-ro; touch /tmp/x && echo tmp-rw")
    assert result.stdout.decode().split() == ["0", "0", "home-ro", "var-ro", "tmp-rw"]


def test_sys_is_read_only(cri: RuntimeClient, sleeper: str) -> None:
    result = run(cri, sleeper, "touch /sys/kernel/x")
    assert result.exit_code != 0


def test_default_capabilities_are_dockers_set(cri: RuntimeClient, sleeper: str) -> None:
    status = run(cri, sleeper, "grep CapEff /proc/1/status").stdout.decode()
    assert status.split()[1] == "00000000a80425fb"


def test_minimal_dev_has_the_standard_nodes(cri: RuntimeClient, sleeper: str) -> None:
    listing = set(run(cri, sleeper, "ls /dev").stdout.decode().split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue"} <= listing
    assert run(cri, sleeper, "echo x > /dev/null && head -c 4 /dev/zero | wc -c").stdout.decode().strip() == "4"


def test_container_has_its_own_network_namespace_with_loopback_up(cri: RuntimeClient, sleeper: str) -> None:
    links = run(cri, sleeper, "ls /sys/class/net").stdout.decode().split()
    assert links == ["lo"]
    assert b"UP" in run(cri, sleeper, "ip link show lo").stdout
