"""The remote-command WebSocket client behind `kyb cri exec` (no -s), against a fake server.

The fake speaks what the kubelet's streaming library serves: subprotocol v4.channel.k8s.io,
one channel byte per message (1 stdout, 2 stderr, 3 the final Status), and reads stdin frames
(channel 0) when the client sends them.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from kyb.crictl.remote_exec import exit_code_from_status, stream_exec
from kyb.crictl.session import CRIFailure


def _status(code: int) -> bytes:
    if code == 0:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    return json.dumps(
        {
            "metadata": {},
            "status": "Failure",
            "message": f"command terminated with non-zero exit code: {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
        }
    ).encode()


async def _serve(handler: Any) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/exec/{token}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/exec/tok"


def _run(handler: Any, stdin: bool = False) -> tuple[int, bytes, bytes, list[str]]:
    protocols: list[str] = []

    async def wrapped(request: web.Request) -> web.WebSocketResponse:
        protocols.append(request.headers.get("Sec-WebSocket-Protocol", ""))
        return await handler(request)

    async def main() -> tuple[int, bytes, bytes]:
        runner, url = await _serve(wrapped)
        out, err = io.BytesIO(), io.BytesIO()
        try:
            code = await stream_exec(url, stdin, False, out, err)
        finally:
            await runner.cleanup()
        return code, out.getvalue(), err.getvalue()

    code, out, err = asyncio.run(main())
    return code, out, err, protocols


async def _command(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
    await ws.prepare(request)
    for channel in (1, 2, 3):
        await ws.send_bytes(bytes([channel]))  # the library's "channel open" frames
    await ws.send_bytes(b"\x01hello\n")
    await ws.send_bytes(b"\x02warn\n")
    await ws.send_bytes(b"\x03" + _status(5))
    await ws.close()
    return ws


def test_output_goes_to_its_stream_and_the_status_gives_the_exit_code() -> None:
    code, out, err, protocols = _run(_command)
    assert (code, out, err) == (5, b"hello\n", b"warn\n")
    assert "v4.channel.k8s.io" in protocols[0]


async def _success_without_status(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
    await ws.prepare(request)
    await ws.send_bytes(b"\x01done\n")
    await ws.close()
    return ws


def test_closing_without_a_status_means_success() -> None:
    code, out, _, _ = _run(_success_without_status)
    assert (code, out) == (0, b"done\n")


def test_failure_status_without_exit_code_is_an_error() -> None:
    with pytest.raises(CRIFailure, match="container not found"):
        exit_code_from_status({"status": "Failure", "message": "container not found"})


def test_success_status_is_exit_code_zero() -> None:
    assert exit_code_from_status(json.loads(_status(0))) == 0


async def _echo_first_stdin_frame(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.BINARY and msg.data[:1] == b"\x00":
            await ws.send_bytes(b"\x01" + msg.data[1:])
            await ws.send_bytes(b"\x03" + _status(0))
            break
    await ws.close()
    return ws


def test_stdin_is_sent_on_channel_zero(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import os
    import sys

    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"typed\n")
    os.close(write_fd)
    monkeypatch.setattr(sys, "stdin", os.fdopen(read_fd, "r"))
    code, out, _, _ = _run(_echo_first_stdin_frame, stdin=True)
    assert (code, out) == (0, b"typed\n")
