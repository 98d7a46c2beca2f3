"""Exec and Attach over SPDY/3.1: the remote-command protocol kubelets, kubectl and critest speak.

After the upgrade (``v4.channel.k8s.io``, ``v3``, ``v2`` or ``channel.k8s.io``, the client's
first choice that we speak), the client opens one stream per role, named by its ``streamType``
header: ``error``, then ``stdin``, ``stdout``, ``stderr`` as the request asked, and with a
terminal from v3 on ``resize``. The server waits (bounded) until all it expects are there; the
command runs once they are. What the client writes on stdin goes to the command, FIN on stdin
closes the command's stdin; the resize stream carries a sequence of JSON ``{"Width","Height"}``
objects. The command's output goes to stdout/stderr, which are half-closed (FIN) when the
command's output ends; then the error stream gets the end ``Status``: as JSON in v4, and in
v1-v3 only a failure's message as text (success is silence). v1 closes its side of stdin at once
and resets the error stream at the end, as the v1 kubelets did.

Attach is the same conversation relayed to the container's shim instead of an exec'd command.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from runtime.container.manager import ContainerManager
from runtime.forkserver_client import ForkServerError
from runtime.shim import attach as shim
from runtime.shim.terminal import set_window_size, window_size
from runtime.streaming import exec_process
from runtime.streaming.spdy_session import SpdySession, SpdyStream
from runtime.streaming.status import exit_status, failure
from runtime.streaming.tokens import StreamRequest

V4, V3, V2, V1 = "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"
PROTOCOLS = (V4, V3, V2, V1)
STREAM_TYPES = ("error", "stdin", "stdout", "stderr", "resize")
STREAM_CREATION_TIMEOUT = 30.0
OUTPUT_DRAIN_TIMEOUT = 5.0
MAX_RESIZE_BACKLOG = 4096  # bytes of an unfinished resize message kept waiting for its end


class StreamsNotCreated(Exception):
    """The client did not open the streams the request needs in time (or hung up first)."""


@dataclass
class CommandStreams:
    protocol: str
    streams: dict[str, SpdyStream] = field(default_factory=dict)

    def get(self, stream_type: str) -> SpdyStream | None:
        return self.streams.get(stream_type)

    async def report(self, status: dict[str, Any]) -> None:
        error = self.streams.get("error")
        if error is None:
            return
        if self.protocol == V4:
            payload = json.dumps(status).encode()
        elif status.get("status") != "Success":
            payload = str(status.get("message", "")).encode()
        else:
            payload = b""
        with contextlib.suppress(ConnectionError):
            if payload:
                await error.write(payload)

    async def finish(self) -> None:
        for stream_type, stream in self.streams.items():
            if stream_type == "error" and self.protocol == V1:
                await stream.reset()
            else:
                await stream.close()


def refuse_unless_typed(stream: SpdyStream) -> str | None:
    return None if stream.header("streamType") else "streamType header is required"


def effective_flags(request: StreamRequest) -> tuple[bool, bool, bool, bool]:
    """(stdin, stdout, stderr, tty) as the kubelet reads them: a terminal has no stderr."""
    return request.stdin, request.stdout, request.stderr and not request.tty, request.tty


async def wait_for_streams(session: SpdySession, request: StreamRequest, protocol: str,
                           timeout: float = STREAM_CREATION_TIMEOUT) -> CommandStreams:
    stdin, stdout, stderr, tty = effective_flags(request)
    expected = 1 + stdin + stdout + stderr + (tty and protocol in (V4, V3))
    found = CommandStreams(protocol)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    received = 0
    while received < expected:
        try:
            stream = await asyncio.wait_for(session.next_stream(), max(deadline - loop.time(), 0))
        except TimeoutError:
            raise StreamsNotCreated(f"timed out waiting for the client to create {expected} streams") from None
        if stream is None:
            raise StreamsNotCreated("the client went away before creating its streams")
        stream_type = stream.header("streamType")
        if stream_type not in STREAM_TYPES:
            await stream.reset()
            continue
        found.streams[stream_type] = stream
        received += 1
    session.refuse = lambda stream: "the remote command's streams are all open"
    if protocol == V1 and (stdin_stream := found.get("stdin")) is not None:
        await stdin_stream.close()
    return found


def _sender(stream: SpdyStream | None) -> Any:
    async def send(data: bytes) -> None:
        if stream is not None:
            with contextlib.suppress(ConnectionError):
                await stream.write(data)
    return send


async def _resize_events(stream: SpdyStream, apply: Any) -> None:
    """Decode the resize stream's back-to-back JSON objects and apply each size."""
    decoder = json.JSONDecoder()
    buffer = ""
    while chunk := await stream.read():
        buffer += chunk.decode("utf-8", "replace")
        while buffer.strip():
            buffer = buffer.lstrip()
            try:
                size, end = decoder.raw_decode(buffer)
            except ValueError:
                break  # an incomplete object: wait for more
            buffer = buffer[end:]
            if (dimensions := window_size(size)) is not None:
                with contextlib.suppress(OSError):
                    await apply(*dimensions)
        if len(buffer) > MAX_RESIZE_BACKLOG:
            buffer = ""  # no resize message is this long: not a resize stream, drop it


async def serve_exec(session: SpdySession, streams: CommandStreams, containers: ContainerManager,
                     request: StreamRequest) -> None:
    loop = asyncio.get_running_loop()
    try:
        process = await loop.run_in_executor(None, exec_process.spawn, containers, request)
    except Exception as e:
        await streams.report(failure(f"error executing command in container: {e}"))
        await streams.finish()
        return
    pumps = [asyncio.ensure_future(exec_process.pump(fd, _sender(streams.get("stdout" if channel == 1 else "stderr"))))
             for fd, channel in process.outputs]
    helpers = []
    stdin = streams.get("stdin")
    if stdin is not None and process.stdin >= 0:
        helpers.append(asyncio.ensure_future(_copy_stdin(stdin, process)))
    resize = streams.get("resize")
    if resize is not None and process.tty:
        async def apply(width: int, height: int) -> None:
            if process.stdin >= 0:
                set_window_size(process.stdin, width, height)
        helpers.append(asyncio.ensure_future(_resize_events(resize, apply)))
    status: dict[str, Any]
    try:
        status = exit_status(await exec_process.wait(process))
        # a child the command left behind may hold its output open: stop copying after a while
        await asyncio.wait(pumps, timeout=OUTPUT_DRAIN_TIMEOUT)
    except (ForkServerError, OSError) as e:
        status = failure(f"error executing command in container: {e}")
    finally:
        for task in (*helpers, *pumps):
            task.cancel()
        process.release()
    for name in ("stdout", "stderr"):
        if (stream := streams.get(name)) is not None:
            await stream.close()
    await streams.report(status)
    await streams.finish()


async def _copy_stdin(stream: SpdyStream, process: exec_process.ExecProcess) -> None:
    try:
        while data := await stream.read():
            if process.stdin < 0:
                continue
            await exec_process.write_all(process.stdin, data)
    except OSError:
        pass
    process.close_stdin()


async def serve_attach(session: SpdySession, streams: CommandStreams, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter, request: StreamRequest) -> None:
    _, stdout, stderr, tty = effective_flags(request)
    targets = {shim.STDOUT: streams.get("stdout") if stdout else None,
               shim.STDERR: None if tty else streams.get("stderr") if stderr else None}

    async def to_shim(channel: int, payload: bytes) -> None:
        writer.write(shim.frame(channel, payload))
        await writer.drain()

    async def from_client_stdin(stream: SpdyStream) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await stream.read():
                await to_shim(shim.STDIN, data)
            await to_shim(shim.CLOSE, b"")

    helpers = []
    stdin = streams.get("stdin")
    if stdin is not None and request.stdin:
        helpers.append(asyncio.ensure_future(from_client_stdin(stdin)))
    resize = streams.get("resize")
    if resize is not None and tty:
        async def apply(width: int, height: int) -> None:
            await to_shim(shim.RESIZE, json.dumps({"Width": width, "Height": height}).encode())
        helpers.append(asyncio.ensure_future(_resize_events(resize, apply)))

    async def relay() -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                channel, length = shim.HEADER.unpack(await reader.readexactly(shim.HEADER.size))
                payload = await reader.readexactly(length)
                await _sender(targets.get(channel))(payload)

    relaying = asyncio.ensure_future(relay())
    gone = asyncio.ensure_future(session.done.wait())
    try:
        await asyncio.wait([relaying, gone], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (relaying, gone, *helpers):
            task.cancel()
        writer.close()
    for stream in targets.values():
        if stream is not None:
            await stream.close()
    await streams.report(exit_status(0))
    await streams.finish()
