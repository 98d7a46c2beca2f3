"""critest "Container" (container.go), "Container Mount Propagation", "Container OOM" and
"Container Mount Readonly" (container_linux.go), "Multiple Containers" (multi_container_linux.go)
and the container half of "Idempotence" (idempotence.go), against `kyb runtime`.

Deviation, because of the image only: critest checks that a timed-out ExecSync left no process
with ``pgrep sleep``; Debian's busybox has no pgrep applet, so ``pidof sleep`` asks the same.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cri_validation_runtime import PAUSE_CMD, Cri, log_lines, parse_cri_log, rpc_code, v1, wait_for

pytestmark = pytest.mark.root


@pytest.fixture
def pod(cri: Cri) -> Iterator[tuple[str, v1.PodSandboxConfig]]:
    """critest's CreatePodSandboxForContainer."""
    with cri.pod("PodSandbox-for-container-") as made:
        yield made


@pytest.fixture
def log_pod(cri: Cri) -> Iterator[tuple[str, v1.PodSandboxConfig]]:
    """critest's createPodSandboxWithLogDirectory: a pod whose log directory the test reads."""
    host = tempfile.mkdtemp(prefix="kybt-podlog-")
    try:
        with cri.pod("PodSandbox-with-log-directory-", log_directory=os.path.join(host, "pod")) as made:
            os.makedirs(made[1].log_directory, exist_ok=True)
            yield made
    finally:
        shutil.rmtree(host, ignore_errors=True)


# ----------------------------------------------------------------------------- basic operations
def test_created_container_is_listed(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = cri.create(*pod, cri.container_config("container-for-create-"))
    assert [c.id for c in cri.list_containers(id=container_id)] == [container_id]
    assert cri.status(container_id).state == v1.CONTAINER_CREATED


def test_started_container_is_running(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = cri.run(*pod, cri.container_config("container-for-start-test-"))
    status = cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    assert status.started_at >= status.created_at > 0 and status.finished_at == 0


def test_stopped_container_is_exited(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = cri.run(*pod, cri.container_config("container-for-stop-test-"))
    cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    started = time.monotonic()
    cri.stop(container_id, 60)
    assert time.monotonic() - started < 60  # critest fails a stop that takes its whole timeout
    status = cri.status(container_id)
    assert status.state == v1.CONTAINER_EXITED
    assert status.finished_at >= status.started_at > 0


@pytest.mark.parametrize("stage", ["created", "running", "stopped"])
def test_container_is_removed_in_any_state(cri: Cri, pod: tuple[str, v1.PodSandboxConfig], stage: str) -> None:
    container_id = cri.create(*pod, cri.container_config(f"container-for-remove-{stage}-test-", PAUSE_CMD))
    if stage != "created":
        cri.start(container_id)
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    if stage == "stopped":
        cri.stop(container_id, 60)
        cri.wait_state(container_id, v1.CONTAINER_EXITED)
    cri.remove(container_id)
    assert cri.list_containers(id=container_id) == []
    assert rpc_code(lambda: cri.status(container_id)) == grpc.StatusCode.NOT_FOUND


def test_stopping_a_stopped_container_and_removing_it_twice_succeed(
    cri: Cri, pod: tuple[str, v1.PodSandboxConfig]
) -> None:
    container_id = cri.run(*pod, cri.container_config("idempotence-container-", PAUSE_CMD))
    cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    cri.stop(container_id, 60)
    cri.stop(container_id, 60)
    assert cri.status(container_id).state == v1.CONTAINER_EXITED
    cri.remove(container_id)
    cri.remove(container_id)


def test_stopping_and_removing_a_container_that_does_not_exist_succeed(cri: Cri) -> None:
    cri.stop(str(uuid.uuid4()), 0)
    cri.remove(str(uuid.uuid4()))


def test_exit_code_reason_and_times_of_a_finished_container(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    ok = cri.run(*pod, cri.container_config("exit-0-", ["true"]))
    failed = cri.run(*pod, cri.container_config("exit-3-", ["sh", "-c", "exit 3"]))
    ok_status = cri.wait_state(ok, v1.CONTAINER_EXITED)
    failed_status = cri.wait_state(failed, v1.CONTAINER_EXITED)
    assert (ok_status.exit_code, ok_status.reason) == (0, "Completed")
    assert (failed_status.exit_code, failed_status.reason) == (3, "Error")
    for s in (ok_status, failed_status):
        assert 0 < s.created_at <= s.started_at <= s.finished_at


def test_container_status_round_trips_config(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    config = cri.container_config("round-trip-", labels={"foo": "bar"}, annotations={"abc": "def"})
    config.metadata.attempt = 3
    container_id = cri.create(*pod, config)
    status = cri.status(container_id, verbose=True)
    assert status.metadata == config.metadata
    assert dict(status.labels) == {"foo": "bar"} and dict(status.annotations) == {"abc": "def"}
    assert status.image.image == config.image.image and status.image_ref and status.image_id
    (listed,) = cri.list_containers(id=container_id)
    assert (listed.pod_sandbox_id, listed.metadata, dict(listed.labels)) == (pod[0], config.metadata, {"foo": "bar"})


def test_list_containers_filters_by_state_sandbox_and_labels(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    tag = secrets.token_hex(4)
    running = cri.run(*pod, cri.container_config("running-", labels={"t": tag, "which": "running"}))
    created = cri.create(*pod, cri.container_config("created-", labels={"t": tag, "which": "created"}))
    cri.wait_state(running, v1.CONTAINER_RUNNING)
    assert {c.id for c in cri.list_containers(pod_sandbox_id=pod[0])} == {running, created}
    assert [c.id for c in cri.list_containers(pod_sandbox_id=pod[0], state=v1.CONTAINER_RUNNING)] == [running]
    assert [c.id for c in cri.list_containers(pod_sandbox_id=pod[0], state=v1.CONTAINER_CREATED)] == [created]
    assert [c.id for c in cri.list_containers(label_selector={"t": tag, "which": "created"})] == [created]
    assert cri.list_containers(label_selector={"t": "nothing-has-this"}) == []


# ----------------------------------------------------------------------------- exec
def test_exec_sync_returns_stdout(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = cri.run(*pod, cri.container_config("container-for-execSync-test-"))
    cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    assert cri.exec_ok(container_id, ["echo", "-n", "hello"]) == "hello"


def test_exec_sync_returns_stderr_and_exit_code(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = cri.run(*pod, cri.container_config("container-for-execSync-code-"))
    cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    result = cri.exec_sync(container_id, ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 7)


def test_exec_sync_times_out_and_leaves_no_process(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = cri.run(*pod, cri.container_config("container-for-execSync-timeout-test-"))
    cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    started = time.monotonic()
    assert rpc_code(lambda: cri.exec_sync(container_id, ["sleep", "4321"], timeout=1)) != grpc.StatusCode.OK
    assert time.monotonic() - started < 10
    assert cri.exec_ok(container_id, ["sh", "-c", "pidof sleep || true"]).strip() == ""


# ----------------------------------------------------------------------------- stats
def test_container_stats_of_a_running_container(cri: Cri, pod: tuple[str, v1.PodSandboxConfig]) -> None:
    container_id = cri.run(*pod, cri.container_config("container-for-stats-"))
    cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    stats = cri.rt.ContainerStats(v1.ContainerStatsRequest(container_id=container_id), timeout=10).stats
    assert stats.attributes.id == container_id
    assert stats.attributes.metadata.name.startswith("container-for-stats-")
    assert stats.cpu.timestamp > 0 and stats.memory.timestamp > 0
    assert stats.memory.working_set_bytes.value > 0


def test_list_container_stats_by_id_without_filter_and_by_labels(
    cri: Cri, pod: tuple[str, v1.PodSandboxConfig]
) -> None:
    ids = [cri.run(*pod, cri.container_config("container-for-stats-with-nil-filter-")) for _ in range(3)]
    labelled = cri.run(*pod, cri.container_config("container-for-stats-with-labels-", labels={"foo": "bar"}))
    for container_id in [*ids, labelled]:
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)

    def stats_ids(**fields: object) -> set[str]:
        f = v1.ContainerStatsFilter()
        for key, value in fields.items():
            if isinstance(value, dict):
                getattr(f, key).update(value)
            else:
                setattr(f, key, value)
        request = v1.ListContainerStatsRequest(filter=f) if fields else v1.ListContainerStatsRequest()
        return {s.attributes.id for s in cri.rt.ListContainerStats(request, timeout=10).stats}

    assert stats_ids(id=ids[0]) == {ids[0]}
    assert {*ids, labelled} <= stats_ids()
    assert labelled in stats_ids(label_selector={"foo": "bar"})
    assert labelled not in stats_ids(label_selector={"foo": "baz"})
    assert stats_ids(pod_sandbox_id=pod[0]) == {*ids, labelled}


# ----------------------------------------------------------------------------- volumes
@pytest.fixture
def host_dir() -> Iterator[str]:
    """critest's createHostPath: a temporary directory holding one flag file."""
    path = tempfile.mkdtemp(prefix="kybt-test-vol-")
    Path(path, "testVolume.file").touch()
    try:
        yield path
    finally:
        if os.path.islink(path + "-symlink"):
            os.unlink(path + "-symlink")
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("through_symlink", [False, True], ids=["host-path", "host-path-symlink"])
def test_container_with_volume_sees_the_host_path(
    cri: Cri, pod: tuple[str, v1.PodSandboxConfig], host_dir: str, through_symlink: bool
) -> None:
    path = host_dir
    if through_symlink:
        path = host_dir + "-symlink"
        os.symlink(host_dir, path)
    mount = v1.Mount(host_path=path, container_path=path, selinux_relabel=True)
    container_id = cri.run(*pod, cri.container_config("container-with-volume-test-", PAUSE_CMD, mounts=[mount]))
    cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    assert cri.exec_ok(container_id, ["ls", "-A", path]).split() == ["testVolume.file"]


def test_readonly_volume_cannot_be_written(cri: Cri, pod: tuple[str, v1.PodSandboxConfig], host_dir: str) -> None:
    writable = v1.Mount(host_path=host_dir, container_path="/rw")
    readonly = v1.Mount(host_path=host_dir, container_path="/mnt", readonly=True)
    config = cri.container_config("test-mount-", PAUSE_CMD, mounts=[writable, readonly])
    container_id = cri.run(*pod, config)
    cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    assert len(cri.status(container_id, verbose=True).mounts) == 2
    result = cri.exec_sync(container_id, ["touch", "/mnt/file"])
    assert result.exit_code != 0 and b"Read-only file system" in result.stderr
    cri.exec_ok(container_id, ["touch", "/rw/file"])
    assert Path(host_dir, "file").exists()


@pytest.fixture
def privileged_pod(cri: Cri) -> Iterator[tuple[str, v1.PodSandboxConfig]]:
    """critest's createPrivilegedPodSandbox(privileged=true)."""
    linux = v1.LinuxPodSandboxConfig(security_context=v1.LinuxSandboxSecurityContext(privileged=True))
    with cri.pod("create-Privileged-PodSandbox-for-container-", linux=linux) as made:
        yield made


def _mount(*argv: str) -> None:
    subprocess.run(["mount", *argv], check=True, capture_output=True, timeout=30)


@pytest.mark.parametrize("propagation", [
    v1.PROPAGATION_PRIVATE, v1.PROPAGATION_HOST_TO_CONTAINER, v1.PROPAGATION_BIDIRECTIONAL,
], ids=["rprivate", "rslave", "rshared"])
def test_mount_propagation(cri: Cri, privileged_pod: tuple[str, v1.PodSandboxConfig], propagation: int) -> None:
    """critest's testMountPropagation: a host mount made after start reaches the container only
    for rslave and rshared; a container mount reaches the host only for rshared."""
    host = tempfile.mkdtemp(prefix="kybt-propagation-")
    source = os.path.join(host, "mnt")
    propagation_mount_point = os.path.join(source, "propagationMnt")
    propagation_source = os.path.join(host, "propagationSrcDir")
    os.makedirs(propagation_mount_point)
    os.makedirs(propagation_source)
    Path(propagation_source, "flagFile").touch()
    _mount("--rbind", source, source)
    try:
        _mount("--make-rprivate" if propagation == v1.PROPAGATION_PRIVATE else "--make-rshared", source)
        config = cri.container_config(
            "mount-propagation-test-", PAUSE_CMD,
            mounts=[v1.Mount(host_path=source, container_path=source, propagation=propagation)],
            linux=v1.LinuxContainerConfig(security_context=v1.LinuxContainerSecurityContext(privileged=True)),
        )
        container_id = cri.create(*privileged_pod, config)
        (mount,) = cri.status(container_id, verbose=True).mounts
        assert (mount.container_path, mount.host_path, mount.readonly, mount.selinux_relabel) == (source, source, False, False)
        assert mount.propagation == propagation
        cri.start(container_id)
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)

        _mount("--rbind", propagation_source, propagation_mount_point)
        seen = cri.exec_ok(container_id, ["ls", "-A", propagation_mount_point])
        assert (seen != "") == (propagation != v1.PROPAGATION_PRIVATE)

        container_mount_point = os.path.join(source, "containerMntPoint")
        cri.exec_ok(container_id, ["sh", "-c", "mkdir -p " + container_mount_point])
        cri.exec_ok(container_id, ["sh", "-c", "mount --bind /etc " + container_mount_point])
        assert (os.listdir(container_mount_point) != []) == (propagation == v1.PROPAGATION_BIDIRECTIONAL)
    finally:
        subprocess.run(["umount", "--recursive", "--lazy", source], capture_output=True, timeout=30)
        shutil.rmtree(host, ignore_errors=True)


def test_memory_limit_kills_with_oomkilled_reason_and_code_137(
    cri: Cri, privileged_pod: tuple[str, v1.PodSandboxConfig]
) -> None:
    resources = v1.LinuxContainerResources(memory_limit_in_bytes=15 * 1024 * 1024,
                                           memory_swap_limit_in_bytes=15 * 1024 * 1024)
    config = cri.container_config("OOM-test-", ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=20M"],
                                  linux=v1.LinuxContainerConfig(resources=resources))
    container_id = cri.run(*privileged_pod, config)
    status = cri.wait_state(container_id, v1.CONTAINER_EXITED)
    assert (status.reason, status.exit_code) == ("OOMKilled", 137)


# ----------------------------------------------------------------------------- logs
def test_container_log_is_written_in_cri_format(cri: Cri, log_pod: tuple[str, v1.PodSandboxConfig]) -> None:
    name = "container-with-log-test-"
    config = cri.container_config(name, ["echo", "hello World"], log_path=f"{name}.log")
    container_id = cri.run(*log_pod, config)
    status = cri.wait_state(container_id, v1.CONTAINER_EXITED)
    path = os.path.join(log_pod[1].log_directory, f"{name}.log")
    assert status.log_path == path
    (entry,) = parse_cri_log(path)
    timestamp, stream, tag, text = entry
    assert (stream, tag, text) == ("stdout", "F", "hello World")
    assert timestamp.endswith("Z") and "T" in timestamp


def test_container_log_keeps_stdout_and_stderr_apart(cri: Cri, log_pod: tuple[str, v1.PodSandboxConfig]) -> None:
    """A last line with no newline is written when the stream ends as a partial record (tag P), as
    containerd's CRI logger does: no reader may add a newline the container did not write."""
    config = cri.container_config("streams-", ["sh", "-c", "echo out; echo err >&2; printf no-newline"],
                                  log_path="streams.log")
    cri.wait_state(cri.run(*log_pod, config), v1.CONTAINER_EXITED)
    entries = parse_cri_log(os.path.join(log_pod[1].log_directory, "streams.log"))
    assert ("stdout", "F", "out") in [e[1:] for e in entries]
    assert ("stderr", "F", "err") in [e[1:] for e in entries]
    assert [e[1:] for e in entries if e[1] == "stdout"][-1] == ("stdout", "P", "no-newline")


def test_reopen_container_log_starts_a_new_file(cri: Cri, log_pod: tuple[str, v1.PodSandboxConfig]) -> None:
    config = cri.container_config("container-reopen-log-test-",
                                  ["sh", "-c", "while true; do echo hello World; sleep 0.2; done"], log_path="reopen.log")
    container_id = cri.run(*log_pod, config)
    path = os.path.join(log_pod[1].log_directory, "reopen.log")
    wait_for(lambda: log_lines(path), 30, what="container log")
    os.rename(path, path + ".new")
    cri.rt.ReopenContainerLog(v1.ReopenContainerLogRequest(container_id=container_id), timeout=10)
    assert os.path.exists(path)
    wait_for(lambda: log_lines(path), 30, what="new container log")
    old_length = len(log_lines(path + ".new"))
    time.sleep(1)
    assert len(log_lines(path + ".new")) == old_length


# ----------------------------------------------------------------------------- multiple containers
def test_multiple_containers_in_a_pod_log_and_exec_separately(cri: Cri, log_pod: tuple[str, v1.PodSandboxConfig]) -> None:
    first = cri.run(*log_pod, cri.container_config("httpd-", ["sh", "-c", "echo httpd; exec httpd -f -p 80 -h /etc"],
                                                   log_path="httpd.log"))
    second = cri.run(*log_pod, cri.container_config("busybox-", ["sh", "-c", "echo hello World; sleep 1000"],
                                                    log_path="busybox.log"))
    for container_id in (first, second):
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
    wait_for(lambda: "httpd" in Path(cri.status(first).log_path).read_text(), 30, what="httpd log")
    wait_for(lambda: "hello World" in Path(cri.status(second).log_path).read_text(), 30, what="busybox log")
    assert cri.exec_ok(first, ["echo", "httpd"]) == "httpd\n"
    assert cri.exec_ok(second, ["echo", "busybox"]) == "busybox\n"
    # the containers share the pod's network namespace: the second reaches the first on localhost
    page = cri.exec_ok(second, ["wget", "-q", "-O", "-", "http://127.0.0.1:80/hostname"])
    assert page.strip() == cri.exec_ok(second, ["hostname"]).strip()
