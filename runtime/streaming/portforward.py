"""Port-forward over WebSocket, as the kubelet's streaming server speaks it.

``/portforward/<token>`` upgrades with the ``portforward.k8s.io`` (or ``v4.channel.k8s.io``)
subprotocol. For the i-th forwarded port, channel 2i carries data and channel 2i+1 errors; the
server opens each channel with a message holding the port number (uint16, little-endian). Bytes
arriving on a data channel go to a TCP connection made inside the pod's network namespace: a
short-lived thread enters the namespace (setns affects only that thread), connects, and leaves;
the socket stays in the pod's namespace for its whole life.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import threading

from aiohttp import WSMsgType, web

from runtime.linux.syscalls import CLONE_NEWNET, LibcKernel

PROTOCOLS = ("portforward.k8s.io", "v4.channel.k8s.io")
CONNECT_TIMEOUT = 10.0


def connect_in_netns(netns: str | None, port: int) -> socket.socket:
    """A TCP connection to localhost:port as seen from the given network namespace."""
    result: list[socket.socket] = []
    errors: list[BaseException] = []

    def connect() -> None:
        try:
            if netns:
                fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    LibcKernel().setns(fd, CLONE_NEWNET)
                finally:
                    os.close(fd)
            sock = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT)
            sock.setblocking(False)
            result.append(sock)
        except BaseException as e:  # noqa: B036 - handed to the caller
            errors.append(e)

    # A fresh thread, never a pooled one: it ends in the pod's namespace and must not be reused.
    thread = threading.Thread(target=connect, name="kyb-portforward-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT + 1)
    if errors:
        raise errors[0]
    if not result:
        raise TimeoutError(f"connecting to port {port} timed out")
    return result[0]


async def serve(http: web.Request, netns: str | None, ports: list[int]) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
    await ws.prepare(http)
    loop = asyncio.get_running_loop()
    writers: dict[int, asyncio.StreamWriter] = {}
    pumps = []
    for index, port in enumerate(ports):
        header = struct.pack("<H", port)
        await ws.send_bytes(bytes([2 * index]) + header)
        await ws.send_bytes(bytes([2 * index + 1]) + header)
        try:
            sock = await loop.run_in_executor(None, connect_in_netns, netns, port)
            reader, writer = await asyncio.open_connection(sock=sock)
        except OSError as e:
            await ws.send_bytes(bytes([2 * index + 1]) + f"failed to connect to localhost:{port} in the pod: {e}".encode())
            continue
        writers[2 * index] = writer
        pumps.append(asyncio.ensure_future(_to_client(ws, reader, 2 * index)))

    async def from_client() -> None:
        async for message in ws:
            if message.type != WSMsgType.BINARY or not message.data:
                continue
            writer = writers.get(message.data[0])
            if writer is not None:
                writer.write(message.data[1:])
                await writer.drain()

    client = asyncio.ensure_future(from_client())
    try:
        if pumps:
            await asyncio.wait([client, *pumps], return_when=asyncio.FIRST_COMPLETED)
        else:
            await client
    finally:
        client.cancel()
        for task in pumps:
            task.cancel()
        for writer in writers.values():
            writer.close()
    await ws.close()
    return ws


async def _to_client(ws: web.WebSocketResponse, reader: asyncio.StreamReader, channel: int) -> None:
    while data := await reader.read(65536):
        if ws.closed:
            return
        await ws.send_bytes(bytes([channel]) + data)
