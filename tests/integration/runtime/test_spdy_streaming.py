"""The streaming server's SPDY/3.1 side at the protocol level: the upgrade handshake and its
errors, the remote-command versions v4..v1, port-forward streams, and a client that breaks the
framing rules. (kubectl driving it for real is in tests/e2e/runtime/test_kubectl_streaming.py.)"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_for
from runtime_harness import run_in_netns as in_netns

from cri import api_pb2
from cri.client import RuntimeClient
from runtime.streaming.spdy_frames import DataFrame, GoAwayStatus, Ping, RstStatus

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e" / "cri_validation"))
from spdy_remotecommand_client import SpdyClient, UpgradeRefused  # noqa: E402

T = TypeVar("T")
pytestmark = pytest.mark.root


@pytest.fixture(autouse=True)
def no_tracebacks_in_the_daemon_log(runtime: RuntimeUnderTest) -> Iterator[None]:
    """Whatever a client does, the streaming server logs no unexpected exception."""
    yield
    log = runtime.daemon_log()
    assert "Traceback" not in log and "exception was never retrieved" not in log, log[-3000:]


@pytest.fixture
def running(cri: RuntimeClient, runtime: RuntimeUnderTest) -> tuple[str, str, str]:
    """(container id, sandbox id, the daemon's netns)"""
    pod = pod_config("spdy")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("c", ["sleep", "300"]), pod)
    cri.start_container(container)
    return container, sandbox, runtime.netns


def exec_url(cri: RuntimeClient, container: str, cmd: list[str], **flags: bool) -> str:
    return cri._call(cri.runtime, "Exec", api_pb2.ExecRequest(container_id=container, cmd=cmd, **flags)).url  # type: ignore[no-any-return]


async def run_command(url: str, protocol: str, streams: tuple[str, ...] = ("error", "stdout", "stderr"),
                      stdin: bytes | None = None) -> tuple[SpdyClient, dict[str, int]]:
    client = await SpdyClient.connect(url, [protocol])
    ids = {name: await client.open({"streamType": name}) for name in streams}
    if stdin is not None:
        client.send(DataFrame(ids["stdin"], stdin, fin=True))
    ends = [ids[n] for n in ("error", "stdout", "stderr") if n in ids]
    assert await client.wait(lambda: all(i in client.finished for i in ends), 20), "the server never finished"
    return client, ids


# ------------------------------------------------------------------------------ the handshake
def refused(netns: str, url: str, protocols: list[str], **kwargs: str) -> UpgradeRefused:
    async def attempt() -> UpgradeRefused:
        try:
            await SpdyClient.connect(url, protocols, **kwargs)
        except UpgradeRefused as e:
            return e
        raise AssertionError("the upgrade was accepted")
    return in_netns(netns, attempt)


def test_an_unknown_token_is_not_found(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["true"], stdout=True)
    error = refused(netns, url.rsplit("/", 1)[0] + "/not-a-token", ["v4.channel.k8s.io"])
    assert error.status == 404 and "unknown or expired streaming token" in error.body


def test_a_request_for_neither_spdy_nor_websocket_is_a_clear_bad_request(cri: RuntimeClient,
                                                                        running: tuple[str, str, str]) -> None:
    container, _, netns = running
    error = refused(netns, exec_url(cri, container, ["true"], stdout=True), ["v4.channel.k8s.io"], upgrade="h2c")
    assert error.status == 400 and "SPDY/3.1" in error.body and "websocket" in error.body


def test_the_protocol_version_header_is_required(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    error = refused(netns, exec_url(cri, container, ["true"], stdout=True), [])
    assert error.status == 400 and "X-Stream-Protocol-Version is required" in error.body


def test_no_common_protocol_version_is_forbidden_and_lists_what_is_accepted(cri: RuntimeClient,
                                                                           running: tuple[str, str, str]) -> None:
    container, _, netns = running
    error = refused(netns, exec_url(cri, container, ["true"], stdout=True), ["v5.channel.k8s.io"])
    assert error.status == 403 and "unable to negotiate protocol" in error.body
    assert "v4.channel.k8s.io" in error.headers["x-accepted-stream-protocol-versions"]


def test_the_clients_first_supported_version_is_chosen(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["true"], stdout=True)

    async def negotiate() -> str:
        client = await SpdyClient.connect(url, ["v5.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io"])
        await client.close()
        return client.protocol
    assert in_netns(netns, negotiate) == "v3.channel.k8s.io"


# ------------------------------------------------------------------------------ remote command versions
def test_v4_reports_the_exit_code_as_a_json_status(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["sh", "-c", "echo out; echo err >&2; exit 4"], stdout=True, stderr=True)

    async def session() -> tuple[bytes, bytes, dict[str, Any]]:
        client, ids = await run_command(url, "v4.channel.k8s.io")
        await client.close()
        return bytes(client.data[ids["stdout"]]), bytes(client.data[ids["stderr"]]), json.loads(client.data[ids["error"]])
    out, err, status = in_netns(netns, session)
    assert (out, err) == (b"out\n", b"err\n")
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "4"}]


def test_v3_reports_a_failure_as_text_and_success_as_silence(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    failing = exec_url(cri, container, ["sh", "-c", "exit 2"], stdout=True, stderr=True)
    succeeding = exec_url(cri, container, ["true"], stdout=True, stderr=True)

    async def error_text(url: str) -> bytes:
        client, ids = await run_command(url, "v3.channel.k8s.io")
        await client.close()
        return bytes(client.data[ids["error"]])
    assert b"non-zero exit code" in in_netns(netns, lambda: error_text(failing))
    assert in_netns(netns, lambda: error_text(succeeding)) == b""


def test_v1_resets_the_error_stream_at_the_end(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["echo", "v1"], stdout=True, stderr=True)

    async def session() -> tuple[bytes, int | None]:
        client, ids = await run_command(url, "channel.k8s.io")
        await client.close()
        return bytes(client.data[ids["stdout"]]), client.resets.get(ids["error"])
    assert in_netns(netns, session) == (b"v1\n", RstStatus.CANCEL)


def test_stdin_reaches_the_command_and_its_fin_closes_it(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["sh", "-c", "cat; echo closed"], stdin=True, stdout=True, stderr=True)

    async def session() -> bytes:
        client, ids = await run_command(url, "v4.channel.k8s.io", ("error", "stdin", "stdout", "stderr"),
                                        stdin=b"typed\n")
        await client.close()
        return bytes(client.data[ids["stdout"]])
    assert in_netns(netns, session) == b"typed\nclosed\n"


def test_a_terminal_without_resize_streams_under_v2(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["tty"], stdout=True, tty=True)

    async def session() -> bytes:
        client, ids = await run_command(url, "v2.channel.k8s.io", ("error", "stdout"))
        await client.close()
        return bytes(client.data[ids["stdout"]])
    assert in_netns(netns, session).startswith(b"/dev/pts/")


def test_a_stream_without_a_type_is_refused(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["true"], stdout=True)

    async def session() -> int | None:
        client = await SpdyClient.connect(url, ["v4.channel.k8s.io"])
        stream = await client.open({"other": "x"})
        await client.close()
        return client.resets.get(stream)
    assert in_netns(netns, session) == RstStatus.REFUSED_STREAM


# ------------------------------------------------------------------------------ the connection
def test_pings_from_the_client_are_echoed(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["sleep", "1"], stdout=True)

    async def session() -> list[int]:
        client = await SpdyClient.connect(url, ["v4.channel.k8s.io"])
        client.send(Ping(7))
        await client.wait(lambda: client.pongs, 5)
        await client.close()
        return client.pongs
    assert in_netns(netns, session) == [7]


def test_a_malformed_frame_ends_only_that_connection(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["true"], stdout=True)

    async def broken() -> tuple[int | None, bool]:
        client = await SpdyClient.connect(url, ["v4.channel.k8s.io"])
        client.writer.write(struct.pack(">HHI", 0x8003, 6, 2) + b"xx")  # a PING of 2 bytes
        await client.wait(lambda: client.closed, 10)
        return (client.goaway.status if client.goaway else None), client.closed
    assert in_netns(netns, broken) == (GoAwayStatus.PROTOCOL_ERROR, True)
    # the server lives on
    again = exec_url(cri, container, ["echo", "still-here"], stdout=True)

    async def session() -> bytes:
        client, ids = await run_command(again, "v4.channel.k8s.io", ("error", "stdout"))
        await client.close()
        return bytes(client.data[ids["stdout"]])
    assert in_netns(netns, session) == b"still-here\n"


# ------------------------------------------------------------------------------ port-forward
def port_forward_url(cri: RuntimeClient, sandbox: str) -> str:
    return cri._call(cri.runtime, "PortForward", api_pb2.PortForwardRequest(pod_sandbox_id=sandbox)).url  # type: ignore[no-any-return]


def test_port_forward_to_a_closed_port_says_why_on_the_error_stream(cri: RuntimeClient,
                                                                   running: tuple[str, str, str]) -> None:
    _, sandbox, netns = running
    url = port_forward_url(cri, sandbox)

    async def session() -> bytes:
        client = await SpdyClient.connect(url, ["portforward.k8s.io"])
        error = await client.open({"streamType": "error", "port": "9", "requestID": "1"})
        await client.open({"streamType": "data", "port": "9", "requestID": "1"})
        await client.wait(lambda: error in client.finished, 15)
        await client.close()
        return bytes(client.data[error])
    message = in_netns(netns, session)
    assert b"error forwarding port 9" in message and b"refused" in message.lower()


def test_port_forward_streams_need_a_port_and_a_type(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    _, sandbox, netns = running
    url = port_forward_url(cri, sandbox)

    async def session() -> list[int | None]:
        client = await SpdyClient.connect(url, ["portforward.k8s.io"])
        opened = [await client.open({"streamType": "data"}),
                  await client.open({"streamType": "data", "port": "http"}),
                  await client.open({"streamType": "other", "port": "80"})]
        await client.close()
        return [client.resets.get(s) for s in opened]
    assert in_netns(netns, session) == [RstStatus.REFUSED_STREAM] * 3


def test_port_forward_pairs_streams_of_old_clients_by_stream_id(cri: RuntimeClient, runtime: RuntimeUnderTest) -> None:
    pod = pod_config("pf-old")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config(
        "web", ["sh", "-c", "mkdir /www; echo paired > /www/index.html; httpd -f -p 127.0.0.1:8080 -h /www"]), pod)
    cri.start_container(container)
    wait_for(lambda: cri.exec_sync(container, ["sh", "-c", "netstat -ltn | grep -q :8080"], timeout=5).exit_code == 0,
             20, what="httpd")
    url = port_forward_url(cri, sandbox)

    async def session() -> bytes:
        client = await SpdyClient.connect(url, ["portforward.k8s.io"])
        await client.open({"streamType": "error", "port": "8080"})  # no requestID, as before 1.6
        data = await client.open({"streamType": "data", "port": "8080"})
        client.send(DataFrame(data, b"GET / HTTP/1.0\r\n\r\n", fin=True))
        await client.wait(lambda: data in client.finished, 15)
        await client.close()
        return bytes(client.data[data])
    response = in_netns(runtime.netns, session)
    assert response.startswith(b"HTTP/1.") and response.endswith(b"paired\n")


def test_stopping_the_daemon_ends_a_live_session_promptly(cri: RuntimeClient, running: tuple[str, str, str],
                                                           runtime: RuntimeUnderTest) -> None:
    _, sandbox, netns = running
    parts = urlsplit(port_forward_url(cri, sandbox))

    def upgraded() -> socket.socket:
        sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        sock.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: Upgrade\r\n"
                     "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 101")
        return sock

    async def connect() -> socket.socket:
        return upgraded()  # made in the daemon's namespace; usable from any thread after
    sock = in_netns(netns, connect)
    try:
        started = time.monotonic()
        runtime.stop_daemon()
        assert time.monotonic() - started < 10
        assert runtime.process is not None and runtime.process.returncode == 0
        sock.settimeout(10)
        while sock.recv(65536):  # a GOAWAY, then the end
            pass
    finally:
        sock.close()


def test_many_sessions_run_at_once(cri: RuntimeClient, running: tuple[str, str, str]) -> None:
    """Ten commands wait for each other (a barrier in /tmp): they pass only if all run together,
    so no session may hold a thread or a slot that the next one needs."""
    container, _, netns = running
    count = 10
    barrier = (f"touch /tmp/started-$$; for i in $(seq 300); do [ $(ls /tmp/started-* | wc -l) -ge {count} ] && "
               "echo met && exit 0; sleep 0.1; done; exit 1")
    urls = [exec_url(cri, container, ["sh", "-c", barrier], stdout=True, stderr=True) for _ in range(count)]

    async def one(url: str) -> bytes:
        client, ids = await run_command(url, "v4.channel.k8s.io")
        await client.close()
        return bytes(client.data[ids["stdout"]])

    async def together() -> list[bytes]:
        return list(await asyncio.gather(*(one(url) for url in urls)))
    assert in_netns(netns, together) == [b"met\n"] * count


def test_a_child_left_holding_the_output_does_not_change_the_exit_status(cri: RuntimeClient,
                                                                        running: tuple[str, str, str]) -> None:
    container, _, netns = running
    url = exec_url(cri, container, ["sh", "-c", "sleep 30 & echo parent-done; exit 3"], stdout=True, stderr=True)

    async def session() -> tuple[bytes, dict[str, Any]]:
        client, ids = await run_command(url, "v4.channel.k8s.io")
        await client.close()
        return bytes(client.data[ids["stdout"]]), json.loads(client.data[ids["error"]])
    out, status = in_netns(netns, session)
    assert out == b"parent-done\n"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
