"""Exec and Attach over Kubernetes' WebSocket remote-command protocol.

The client opens ``/exec/<token>`` (or ``/attach/<token>``) as a WebSocket with one of the
channel subprotocols (``v5.channel.k8s.io``, ``v4.channel.k8s.io``, ``channel.k8s.io``). Every
binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (a JSON
``Status`` when the command ends), 4 terminal resize (``{"Width":..,"Height":..}``). v5 adds
``[255, 0]``: the client closed stdin. As in the upstream server, an empty message on the first
output channel tells the client the stream is open.

Attach relays between the client and the container's shim, which owns the container's stdio
(see ``runtime.shim.attach``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json

from aiohttp import WSMsgType, web

from runtime.container.manager import ContainerManager
from runtime.forkserver_client import ForkServerError
from runtime.shim.attach import HEADER, frame
from runtime.shim.terminal import resize_request, set_window_size
from runtime.streaming import exec_process
from runtime.streaming.attach_socket import open_attach_socket
from runtime.streaming.status import exit_status, failure
from runtime.streaming.tokens import StreamRequest

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
OUTPUT_DRAIN_TIMEOUT = 5.0


async def _send(ws: web.WebSocketResponse, channel: int, data: bytes) -> None:
    if not ws.closed:
        await ws.send_bytes(bytes([channel]) + data)


async def serve_exec(http: web.Request, containers: ContainerManager, request: StreamRequest) -> web.StreamResponse:
    ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
    await ws.prepare(http)
    v5 = ws.ws_protocol == "v5.channel.k8s.io"
    loop = asyncio.get_running_loop()
    try:
        process = await loop.run_in_executor(None, exec_process.spawn, containers, request)
    except Exception as e:
        await _send(ws, ERROR, json.dumps(failure(str(e))).encode())
        await ws.close()
        return ws
    await _send(ws, STDOUT if request.stdout else STDERR, b"")

    pumps = [asyncio.ensure_future(exec_process.pump(fd, functools.partial(_send, ws, channel)))
             for fd, channel in process.outputs]
    reader = asyncio.ensure_future(_read_client(ws, process, v5))
    code: int | None
    try:
        code = await exec_process.wait(process)
        # a child the command left behind may hold its output open: stop copying after a while
        await asyncio.wait(pumps, timeout=OUTPUT_DRAIN_TIMEOUT)
    except (ForkServerError, OSError) as e:
        code = None
        await _send(ws, ERROR, json.dumps(failure(str(e))).encode())
    finally:
        reader.cancel()
        for pump in pumps:
            pump.cancel()
        process.release()
    if code is not None:
        await _send(ws, ERROR, json.dumps(exit_status(code)).encode())
    await ws.close()
    return ws


async def _read_client(ws: web.WebSocketResponse, process: exec_process.ExecProcess, v5: bool) -> None:
    async for message in ws:
        if message.type != WSMsgType.BINARY or not message.data:
            continue
        channel, payload = message.data[0], message.data[1:]
        if channel == STDIN and process.stdin >= 0:
            try:
                await exec_process.write_all(process.stdin, payload)
            except OSError:
                pass
        elif channel == RESIZE and process.tty:
            size = resize_request(payload)
            if size is not None:
                with contextlib.suppress(OSError):
                    set_window_size(process.stdin, *size)
        elif v5 and channel == CLOSE and payload[:1] == bytes([STDIN]):
            process.close_stdin()


async def serve_attach(http: web.Request, containers: ContainerManager, request: StreamRequest) -> web.StreamResponse:
    reader, writer = await open_attach_socket(containers, request.container_id)
    ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
    await ws.prepare(http)
    v5 = ws.ws_protocol == "v5.channel.k8s.io"
    await _send(ws, STDOUT if request.stdout else STDERR, b"")
    wanted = {STDOUT} if request.tty else {c for c, on in ((STDOUT, request.stdout), (STDERR, request.stderr)) if on}

    async def from_client() -> None:
        async for message in ws:
            if message.type != WSMsgType.BINARY or not message.data:
                continue
            channel, payload = message.data[0], message.data[1:]
            if channel == STDIN and request.stdin:
                writer.write(frame(STDIN, payload))
            elif channel == RESIZE and request.tty:
                writer.write(frame(RESIZE, payload))
            elif v5 and channel == CLOSE and request.stdin:
                writer.write(frame(CLOSE, b""))
            await writer.drain()

    client = asyncio.ensure_future(from_client())
    try:
        while True:
            header = await reader.readexactly(HEADER.size)
            channel, length = HEADER.unpack(header)
            payload = await reader.readexactly(length)
            if channel in wanted:
                await _send(ws, channel, payload)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        client.cancel()
        writer.close()
    await _send(ws, ERROR, json.dumps(exit_status(0)).encode())
    await ws.close()
    return ws
