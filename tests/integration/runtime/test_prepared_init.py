"""The container process forked ahead of its start (runtime.shim.prepared_init) behaves as a
freshly forked one would: PID 1 of its own pid namespace, its exit code reported, its exec
errors returned by StartContainer, and a prepared process killed while idle costs nothing but a
fresh fork."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_exit_code, wait_for

from cri import api_pb2
from cri.client import CRIError, RuntimeClient
from runtime.forkserver_client import ForkServerClient
from runtime.linux.syscalls import LibcKernel
from runtime.shim.prepared_init import AheadPipes, prepare

pytestmark = pytest.mark.root


def prepared_children(runtime: RuntimeUnderTest) -> list[psutil.Process]:
    """Idle prepared processes: children of a fork-server spare, which is a child of the server."""
    assert runtime.process is not None
    found = []
    for server in psutil.Process(runtime.process.pid).children():
        if server.name() != "kyb-forkserver":
            continue
        for spare in server.children():
            if spare.name() == "kyb-forkserver":
                found.extend(c for c in spare.children() if c.name() == "kyb-forkserver")
    return found


def test_a_container_started_from_a_prepared_process_is_pid_1_and_reports_its_exit(cri: RuntimeClient) -> None:
    pod = pod_config("prep")
    sandbox = cri.run_pod_sandbox(pod)
    for index in range(3):  # the first and the later ones, each from a newly prepared process
        container = cri.create_container(
            sandbox, container_config(f"c{index}", ["sh", "-c", f'test "$$" = 1 && exit {10 + index}']), pod)
        cri.start_container(container)
        assert wait_exit_code(cri, container) == 10 + index


def test_an_exec_error_in_a_prepared_process_fails_the_start(cri: RuntimeClient) -> None:
    pod = pod_config("prep-err")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("c", ["/no/such/binary"]), pod)
    with pytest.raises(CRIError, match="no/such/binary"):
        cri.start_container(container)


def test_a_start_still_succeeds_when_the_idle_prepared_process_was_killed(
    runtime: RuntimeUnderTest, cri: RuntimeClient
) -> None:
    pod = pod_config("prep-killed")
    sandbox = cri.run_pod_sandbox(pod)
    idle = wait_for(lambda: prepared_children(runtime), what="a prepared process")
    for process in idle:
        process.send_signal(signal.SIGKILL)
    container = cri.create_container(sandbox, container_config("c", ["sh", "-c", "exit 7"]), pod)
    cri.start_container(container)
    assert wait_exit_code(cri, container) == 7


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_a_prepared_child_is_pid_1_of_a_new_namespace_holds_only_its_ends_and_runs_once_handed_its_request() -> None:
    # In a forked process of its own: prepare() unshares the caller's pid namespace for children.
    results_r, results_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(results_r)

            def child_main(_kernel: object, message: bytes, _control: socket.socket, pipes: AheadPipes) -> None:
                os.write(results_w, json.dumps({
                    "pid": os.getpid(), "request": json.loads(message),
                    "own_ends": all(_is_open(fd) for fd in (pipes.devnull, *pipes.process_side())),
                    "shim_ends": any(_is_open(fd) for fd in pipes.shim_side()),
                }).encode())
                os._exit(0)

            prepared = prepare(LibcKernel(), child_main)  # type: ignore[arg-type]
            # The spare keeps only its own ends (and /dev/null, which both use).
            assert not any(_is_open(fd) for fd in prepared.pipes.process_side())
            prepared.hand_over(json.dumps({"container_dir": "/some/container"}).encode())
            _, status = os.waitpid(prepared.pid, 0)
            code = 0 if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 2
        finally:
            os._exit(code)
    os.close(results_w)
    report = json.loads(os.read(results_r, 4096) or b"{}")
    os.close(results_r)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert report == {"pid": 1, "request": {"container_dir": "/some/container"}, "own_ends": True, "shim_ends": False}


def test_a_prepared_child_exits_quietly_when_its_spare_goes_away() -> None:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            def never(*_: object) -> None:
                os._exit(3)

            prepared = prepare(LibcKernel(), never)  # type: ignore[arg-type]
            prepared.control.shutdown(socket.SHUT_RDWR)
            prepared.control.close()
            _, status = os.waitpid(prepared.pid, 0)
            code = 0 if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def idle_spares(runtime: RuntimeUnderTest) -> list[psutil.Process]:
    """Children of the fork server still waiting for a connection (a taken one becomes a shim)."""
    assert runtime.process is not None
    return [spare for server in psutil.Process(runtime.process.pid).children() if server.name() == "kyb-forkserver"
            for spare in server.children() if spare.name() == "kyb-forkserver"]


def test_the_fork_server_serves_every_kind_of_request_after_its_idle_spares_were_killed(
    runtime: RuntimeUnderTest, cri: RuntimeClient
) -> None:
    pod = pod_config("spares-killed")
    sandbox = cri.run_pod_sandbox(pod)
    spares = wait_for(lambda: len(idle_spares(runtime)) == 2 and idle_spares(runtime), what="both spares")
    for spare in spares:
        spare.send_signal(signal.SIGKILL)
    container = cri.create_container(sandbox, container_config("c", ["sleep", "30"]), pod)
    cri.start_container(container)
    assert cri.exec_sync(container, ["echo", "served"], timeout=10).stdout == b"served\n"
    shared = cri.create_container(sandbox, container_config("p", ["sh", "-c", "exit 4"], pid=api_pb2.POD), pod)
    cri.start_container(shared)
    assert wait_exit_code(cri, shared) == 4
    wait_for(lambda: len(idle_spares(runtime)) == 2, what="new spares")


def test_a_spare_that_keeps_failing_to_prepare_is_retried_with_backoff_and_requests_are_still_served(
    tmp_path: Path,
) -> None:
    attempts = tmp_path / "attempts"
    code = f"""
import os, sys
import runtime.forkserver as fs
def failing_prepare(*args, **kwargs):
    with open({str(attempts)!r}, "a") as f:
        f.write("x\\n")
    raise OSError("cannot prepare")
fs.prepare = failing_prepare
fs.serve(sys.argv[1])
"""
    socket_path = str(tmp_path / "fs.sock")
    server = subprocess.Popen([sys.executable, "-c", code, socket_path], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline() == b"ready\n"
        time.sleep(1.5)
        tries = len(attempts.read_text().splitlines())
        assert 2 <= tries <= 15, tries  # a doubling pause, not a fork loop
        client = ForkServerClient(socket_path)
        reply = client.call({"op": "start", "pid_mode": "new", "container_dir": str(tmp_path / "missing")}, timeout=10)
        assert "error" in reply and "record" in reply["error"]  # served (by the server itself), and answered
    finally:
        # Only the server's own: the test process has other children (a session's etcd).
        descendants = psutil.Process(server.pid).children(recursive=True)
        server.kill()
        server.wait(5)
        for child in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(descendants, timeout=5)
