"""Exec, Attach and PortForward return one-time URLs of a streaming server speaking Kubernetes'
WebSocket protocols (v5.channel.k8s.io remote command; portforward.k8s.io)."""

from __future__ import annotations

import json
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, run_in_netns, wait_exit_code

from cri import api_pb2
from cri.client import CRIError, RuntimeClient

T = TypeVar("T")

pytestmark = pytest.mark.root


def in_netns(netns: str, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the client in the daemon's network namespace, where its streaming server listens."""
    return run_in_netns(netns, lambda: coroutine, timeout=20)


@pytest.fixture
def running(cri: RuntimeClient, runtime: RuntimeUnderTest) -> tuple[str, str]:
    """(container id, the daemon's netns)"""
    pod = pod_config("stream")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("c", ["sleep", "300"]), pod)
    cri.start_container(container)
    return container, runtime.netns


def exec_url(cri: RuntimeClient, container: str, cmd: list[str], **flags: bool) -> str:
    request = api_pb2.ExecRequest(container_id=container, cmd=cmd, **flags)
    return cri._call(cri.runtime, "Exec", request).url


async def session(url: str, stdin: bytes | None = None, resize: tuple[int, int] | None = None) -> dict[int, bytes]:
    received: dict[int, bytes] = {}
    async with aiohttp.ClientSession() as http, http.ws_connect(url, protocols=["v5.channel.k8s.io"]) as ws:
        assert ws.protocol == "v5.channel.k8s.io"
        if resize is not None:
            await ws.send_bytes(b"\x04" + json.dumps({"Width": resize[0], "Height": resize[1]}).encode())
        if stdin is not None:
            await ws.send_bytes(b"\x00" + stdin)
            await ws.send_bytes(bytes([255, 0]))
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                received[message.data[0]] = received.get(message.data[0], b"") + message.data[1:]
    return received


def test_exec_streams_stdin_to_stdout_and_reports_success(cri: RuntimeClient, running: tuple[str, str]) -> None:
    container, netns = running
    url = exec_url(cri, container, ["sh", "-c", "cat; echo done >&2"], stdin=True, stdout=True, stderr=True)
    out = in_netns(netns, session(url, stdin=b"hello stream\n"))
    assert out[1] == b"hello stream\n"
    assert out[2] == b"done\n"
    assert json.loads(out[3])["status"] == "Success"


def test_exec_reports_a_non_zero_exit_code(cri: RuntimeClient, running: tuple[str, str]) -> None:
    container, netns = running
    url = exec_url(cri, container, ["sh", "-c", "exit 5"], stdout=True, stderr=True)
    status = json.loads(in_netns(netns, session(url))[3])
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "5"}]


def test_exec_with_a_tty_gets_a_terminal_of_the_requested_size(cri: RuntimeClient, running: tuple[str, str]) -> None:
    container, netns = running
    url = exec_url(cri, container, ["sh", "-c", "sleep 0.5; tty; stty size"], stdout=True, tty=True)
    out = in_netns(netns, session(url, resize=(100, 40)))
    lines = out[1].decode().split()
    assert lines[0].startswith("/dev/pts/")
    assert lines[1:] == ["40", "100"]


def test_a_streaming_url_works_once(cri: RuntimeClient, running: tuple[str, str]) -> None:
    container, netns = running
    url = exec_url(cri, container, ["true"], stdout=True)
    in_netns(netns, session(url))
    with pytest.raises(aiohttp.WSServerHandshakeError):
        in_netns(netns, session(url))


def test_exec_requests_are_validated(cri: RuntimeClient, running: tuple[str, str]) -> None:
    container, netns = running
    with pytest.raises(CRIError) as err:
        exec_url(cri, container, ["true"])
    assert err.value.code.name == "INVALID_ARGUMENT"
    with pytest.raises(CRIError) as err:
        exec_url(cri, container, ["true"], tty=True, stdout=True, stderr=True)
    assert err.value.code.name == "INVALID_ARGUMENT"
    with pytest.raises(CRIError) as err:
        exec_url(cri, "0" * 64, ["true"], stdout=True)
    assert err.value.code.name == "NOT_FOUND"


def test_attach_streams_output_and_feeds_stdin(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    pod = pod_config("attach")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("echoer", ["sh", "-c", "while read line; do echo got:$line; done; echo stdin-closed"])
    config.stdin = True
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    url = cri._call(cri.runtime, "Attach", api_pb2.AttachRequest(container_id=container, stdin=True, stdout=True)).url
    out = in_netns(runtime.netns, session(url, stdin=b"one\ntwo\n"))
    assert out[1] == b"got:one\ngot:two\nstdin-closed\n"
    assert json.loads(out[3])["status"] == "Success"


async def raw_session(url: str, messages: list[bytes]) -> dict[int, bytes]:
    """Send these WebSocket messages as they are (channel byte first), then read to the end."""
    received: dict[int, bytes] = {}
    async with aiohttp.ClientSession() as http, http.ws_connect(url, protocols=["v5.channel.k8s.io"]) as ws:
        for message in messages:
            await ws.send_bytes(message)
        async for reply in ws:
            if reply.type == aiohttp.WSMsgType.BINARY:
                received[reply.data[0]] = received.get(reply.data[0], b"") + reply.data[1:]
    return received


def attached(cri: RuntimeClient, runtime: RuntimeUnderTest, name: str, command: list[str], tty: bool = False) -> tuple[str, str]:
    """(container, attach URL) for a running container created with stdin."""
    pod = pod_config(name)
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config(name, command)
    config.stdin = True
    config.tty = tty
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    request = api_pb2.AttachRequest(container_id=container, stdin=True, stdout=True, tty=tty)
    return container, cri._call(cri.runtime, "Attach", request).url


def test_malformed_resizes_from_an_attached_client_leave_the_container_supervised(
    cri: RuntimeClient, runtime: RuntimeUnderTest
) -> None:
    container, url = attached(cri, runtime, "resize", ["sh", "-c", "read x; echo got:$x"], tty=True)
    bad = [b"\x04not json", b"\x04[80, 24]", b'\x04{"Width": 70000, "Height": 1}', b'\x04{"Width": "wide"}', b"\x04\xff"]
    out = in_netns(runtime.netns, raw_session(url, [*bad, b"\x00hello\r"]))
    assert b"got:hello" in out[1]
    assert wait_exit_code(cri, container) == 0  # recorded by the shim, which is still there


def test_input_larger_than_a_pipe_reaches_a_container_that_echoes_it_back(
    cri: RuntimeClient, runtime: RuntimeUnderTest
) -> None:
    # cat writes while it reads: the shim must keep copying its output while the input waits.
    container, url = attached(cri, runtime, "paste", ["cat"])
    paste = bytes(range(256)) * 8192  # 2 MiB in one message
    out = in_netns(runtime.netns, raw_session(url, [b"\x00" + paste, b"\xff\x00"]))
    assert out[1] == paste
    assert wait_exit_code(cri, container) == 0


def test_attach_needs_a_container_created_with_stdin_for_input(cri: RuntimeClient, running: tuple[str, str]) -> None:
    container, netns = running
    with pytest.raises(CRIError) as err:
        cri._call(cri.runtime, "Attach", api_pb2.AttachRequest(container_id=container, stdin=True, stdout=True))
    assert err.value.code.name == "FAILED_PRECONDITION"


async def forward_http(url: str, port: int) -> bytes:
    """Speak HTTP through the port-forward stream: the pod's port 8080 answers."""
    received: dict[int, bytes] = {}
    async with aiohttp.ClientSession() as http, http.ws_connect(url, protocols=["portforward.k8s.io"]) as ws:
        headers = [await ws.receive_bytes(), await ws.receive_bytes()]
        assert headers == [b"\x00" + port.to_bytes(2, "little"), b"\x01" + port.to_bytes(2, "little")]
        await ws.send_bytes(b"\x00GET / HTTP/1.0\r\n\r\n")
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                received[message.data[0]] = received.get(message.data[0], b"") + message.data[1:]
    assert 1 not in received, received.get(1)
    return received[0]


def test_port_forward_reaches_a_port_inside_the_pod(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    pod = pod_config("pf")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config(
        "web", ["sh", "-c", "mkdir /www; echo through-the-tunnel > /www/index.html; httpd -f -p 127.0.0.1:8080 -h /www"]), pod)
    cri.start_container(container)
    for _ in range(50):
        if cri.exec_sync(container, ["sh", "-c", "netstat -ltn | grep -q :8080"], timeout=5).exit_code == 0:
            break
    url = cri._call(cri.runtime, "PortForward", api_pb2.PortForwardRequest(pod_sandbox_id=sandbox, port=[8080])).url
    response = in_netns(runtime.netns, forward_http(url, 8080))
    assert response.startswith(b"HTTP/1.") and response.endswith(b"through-the-tunnel\n")


def test_port_forward_to_an_unknown_sandbox_is_not_found(cri: RuntimeClient) -> None:
    with pytest.raises(CRIError) as err:
        cri._call(cri.runtime, "PortForward", api_pb2.PortForwardRequest(pod_sandbox_id="0" * 64, port=[80]))
    assert err.value.code.name == "NOT_FOUND"
