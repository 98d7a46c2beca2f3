"""`kyb runtime` as a process: it serves Version and Status on its socket, owns the socket
exclusively, replaces a stale one, and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from cri import api_pb2, api_pb2_grpc

START_TIMEOUT = 20.0


def _start(sock: Path, root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kyb", "runtime", "--socket", str(sock), "--root", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_serving(sock: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"runtime exited early: {proc.stderr.read() if proc.stderr else ''}")
        if sock.exists():
            try:
                with grpc.insecure_channel(f"unix://{sock}") as ch:
                    api_pb2_grpc.RuntimeServiceStub(ch).Version(api_pb2.VersionRequest(), timeout=1)
                return
            except grpc.RpcError:
                pass
        time.sleep(0.05)
    raise AssertionError("runtime did not start serving in time")


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "run" / "runtime.sock", tmp_path / "root"


@pytest.fixture
def daemon(paths: tuple[Path, Path]) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    sock, root = paths
    proc = _start(sock, root)
    try:
        _wait_serving(sock, proc)
        yield proc, sock
    finally:
        _stop(proc)


def _runtime(sock: Path) -> tuple[grpc.Channel, api_pb2_grpc.RuntimeServiceStub]:
    ch = grpc.insecure_channel(f"unix://{sock}")
    return ch, api_pb2_grpc.RuntimeServiceStub(ch)


def test_version_names_the_runtime_and_cri_v1(daemon: tuple[subprocess.Popen[str], Path]) -> None:
    ch, rt = _runtime(daemon[1])
    with ch:
        v = rt.Version(api_pb2.VersionRequest(version="v1"), timeout=5)
    assert v.runtime_name == "kybernetes"
    assert v.runtime_api_version == "v1"
    assert v.runtime_version


def test_status_reports_runtime_and_network_conditions(daemon: tuple[subprocess.Popen[str], Path]) -> None:
    ch, rt = _runtime(daemon[1])
    with ch:
        status = rt.Status(api_pb2.StatusRequest(), timeout=5).status
    conditions = {c.type: c for c in status.conditions}
    assert set(conditions) == {"RuntimeReady", "NetworkReady"}
    assert conditions["RuntimeReady"].status is True
    if not conditions["NetworkReady"].status:
        assert conditions["NetworkReady"].reason and conditions["NetworkReady"].message


def test_second_runtime_on_the_same_socket_refuses_to_start(
    daemon: tuple[subprocess.Popen[str], Path], tmp_path: Path
) -> None:
    second = _start(daemon[1], tmp_path / "other-root")
    try:
        _, err = second.communicate(timeout=START_TIMEOUT)
    finally:
        _stop(second)
    assert second.returncode == 1
    assert len(err.strip().splitlines()) == 1
    assert "already serves" in err
    ch, rt = _runtime(daemon[1])
    with ch:
        assert rt.Version(api_pb2.VersionRequest(), timeout=5).runtime_name == "kybernetes"


def test_a_socket_owned_by_another_server_is_refused(paths: tuple[Path, Path]) -> None:
    sock, root = paths
    sock.parent.mkdir(parents=True)
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(sock))
    other.listen(1)
    try:
        proc = _start(sock, root)
        _, err = proc.communicate(timeout=START_TIMEOUT)
    finally:
        other.close()
    assert proc.returncode == 1
    assert "already serves" in err
    assert sock.exists()


def test_stale_socket_file_is_replaced(paths: tuple[Path, Path]) -> None:
    sock, root = paths
    sock.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock))
    stale.close()
    assert sock.exists()
    proc = _start(sock, root)
    try:
        _wait_serving(sock, proc)
    finally:
        _stop(proc)


def test_sigterm_stops_cleanly_and_removes_the_socket(paths: tuple[Path, Path]) -> None:
    sock, root = paths
    proc = _start(sock, root)
    _wait_serving(sock, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert not sock.exists()
    assert not os.path.exists(f"{sock}.lock")


def test_checkpointing_an_unknown_container_is_not_found(daemon: tuple[subprocess.Popen[str], Path]) -> None:
    ch, rt = _runtime(daemon[1])
    with ch, pytest.raises(grpc.RpcError) as err:
        rt.CheckpointContainer(api_pb2.CheckpointContainerRequest(container_id="x"), timeout=5)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_cluster_cidr_without_pod_cidr_is_a_one_line_error(paths: tuple[Path, Path]) -> None:
    sock, root = paths
    proc = subprocess.run(
        [sys.executable, "-m", "kyb", "runtime", "--socket", str(sock), "--root", str(root),
         "--cluster-cidr", "10.244.0.0/16"],
        capture_output=True, text=True, timeout=START_TIMEOUT,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "--pod-cidr" in proc.stderr


def test_a_daemon_starts_and_serves_despite_torn_records(paths: tuple[Path, Path]) -> None:
    sock, root = paths
    for kind in ("sandboxes", "containers"):
        torn = root / kind / ("d" * 64)
        torn.mkdir(parents=True)
        (torn / "record.json").write_text('{"id": "dddd')  # what a machine crash can leave of an unflushed write
    proc = _start(sock, root)
    try:
        _wait_serving(sock, proc)
        with grpc.insecure_channel(f"unix://{sock}") as ch:
            stub = api_pb2_grpc.RuntimeServiceStub(ch)
            assert list(stub.ListPodSandbox(api_pb2.ListPodSandboxRequest(), timeout=10).items) == []
            assert list(stub.ListContainers(api_pb2.ListContainersRequest(), timeout=10).containers) == []
        for kind in ("sandboxes", "containers"):
            assert os.listdir(root / kind / ("d" * 64)) == ["record.json.unreadable"]
    finally:
        _stop(proc)
