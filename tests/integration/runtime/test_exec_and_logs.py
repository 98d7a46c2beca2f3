"""ExecSync output, exit codes and timeouts; container logs in the CRI format; log reopening."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_for

from cri import api_pb2
from cri.client import CRIError, RuntimeClient

pytestmark = pytest.mark.root

CRI_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) (F|P) (.*)$")


def records(path: Path) -> list[tuple[str, str, bytes]]:
    result = []
    for line in path.read_bytes().split(b"\n")[:-1]:
        match = CRI_LINE.match(line)
        assert match, f"not a CRI log line: {line[:80]!r}"
        result.append((match.group(1).decode(), match.group(2).decode(), match.group(3)))
    return result


@pytest.fixture
def pod(cri: RuntimeClient, runtime: RuntimeUnderTest) -> tuple[str, api_pb2.PodSandboxConfig]:
    config = pod_config("logs", log_directory=str(runtime.logs))
    return cri.run_pod_sandbox(config), config


def run_to_exit(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig], name: str, script: str) -> api_pb2.ContainerStatus:
    container = cri.create_container(pod[0], container_config(name, ["sh", "-c", script], log_path=f"{name}.log"), pod[1])
    cri.start_container(container)
    return wait_for(lambda: (s := cri.container_status(container).status).state == api_pb2.CONTAINER_EXITED and s,
                    what=f"{name} to exit")


def test_exec_sync_returns_stdout_stderr_and_exit_code(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container = cri.create_container(pod[0], container_config("exec", ["sleep", "300"]), pod[1])
    cri.start_container(container)
    result = cri.exec_sync(container, ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"], timeout=10)
    assert (result.stdout, result.stderr, result.exit_code) == (b"to-out\n", b"to-err\n", 3)


def test_exec_sync_times_out_and_kills_the_command(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container = cri.create_container(pod[0], container_config("slow", ["sleep", "300"]), pod[1])
    cri.start_container(container)
    started = time.monotonic()
    with pytest.raises(CRIError) as err:
        cri.exec_sync(container, ["sleep", "60"], timeout=1)
    assert err.value.code.name == "DEADLINE_EXCEEDED"
    assert time.monotonic() - started < 10
    listing = cri.exec_sync(container, ["ps", "-o", "args"], timeout=5).stdout.decode()
    assert "sleep 60" not in listing


def test_exec_in_a_stopped_container_is_refused(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    status = run_to_exit(cri, pod, "done", "true")
    with pytest.raises(CRIError) as err:
        cri.exec_sync(status.id, ["true"], timeout=5)
    assert err.value.code.name == "FAILED_PRECONDITION"


def test_logs_are_cri_lines_per_stream(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig], runtime: RuntimeUnderTest) -> None:
    status = run_to_exit(cri, pod, "lines", "echo one; echo two >&2; echo three")
    assert status.log_path == str(runtime.logs / "lines.log")
    got = records(Path(status.log_path))
    assert sorted(got) == sorted([("stdout", "F", b"one"), ("stderr", "F", b"two"), ("stdout", "F", b"three")])
    assert [r for r in got if r[0] == "stdout"] == [("stdout", "F", b"one"), ("stdout", "F", b"three")]


def test_long_lines_are_split_into_partial_records(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    status = run_to_exit(cri, pod, "long", "head -c 20000 /dev/zero | tr '\\0' a; echo; printf tail")
    got = records(Path(status.log_path))
    # The last line has no newline: partial, as containerd writes it.
    assert [(s, t, len(c)) for s, t, c in got] == [("stdout", "P", 16384), ("stdout", "F", 3616), ("stdout", "P", 4)]
    assert got[-1][2] == b"tail"


def test_exit_codes_and_reasons(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    ok = run_to_exit(cri, pod, "ok", "exit 0")
    failed = run_to_exit(cri, pod, "failed", "exit 42")
    assert (ok.exit_code, ok.reason) == (0, "Completed")
    assert (failed.exit_code, failed.reason) == (42, "Error")
    assert failed.started_at >= failed.created_at and failed.finished_at >= failed.started_at


def test_reopen_container_log_starts_a_new_file(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig], runtime: RuntimeUnderTest) -> None:
    container = cri.create_container(
        pod[0], container_config("ticker", ["sh", "-c", "while true; do echo tick; sleep 0.1; done"], log_path="ticker.log"), pod[1])
    cri.start_container(container)
    log = runtime.logs / "ticker.log"
    wait_for(lambda: log.exists() and log.stat().st_size > 0, what="first ticks")
    log.rename(runtime.logs / "ticker.log.1")
    cri.reopen_container_log(container)
    wait_for(lambda: log.exists() and b"tick" in log.read_bytes(), what="ticks in the reopened log")
    assert all(r == ("stdout", "F", b"tick") for r in records(log))


def test_a_tty_container_gets_a_terminal_of_its_own_devpts(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    config = container_config("tty", ["sh", "-c", "tty; test -t 0 && echo interactive"], log_path="tty.log")
    config.tty = True
    container = cri.create_container(pod[0], config, pod[1])
    cri.start_container(container)
    status = wait_for(lambda: (s := cri.container_status(container).status).state == api_pb2.CONTAINER_EXITED and s,
                      what="tty container to exit")
    assert status.exit_code == 0
    contents = [content.rstrip(b"\r") for _, _, content in records(Path(status.log_path))]
    assert contents == [b"/dev/pts/0", b"interactive"]
