"""Port-forward over SPDY/3.1 (``portforward.k8s.io``), as the kubelet's streaming server does it.

One connection carries any number of forwarded connections. For each, the client opens two
streams with the same ``requestID`` header: ``streamType: error`` then ``streamType: data``,
both naming the pod's ``port``. Streams without a valid port or type are refused. Clients too
old to send a request id are paired by stream id (the error stream's id, and the data stream's
id minus two, as they open them back to back). A pair that stays incomplete is given up after
a timeout, with a message on whichever stream came.

A complete pair becomes a TCP connection to that port on the pod's localhost, made inside the
pod's network namespace (``portforward.connect_in_netns``). Bytes flow both ways; the client's
FIN half-closes the TCP connection, the pod's end of the data FINs the data stream. Failures are
written as text on the error stream, which is closed when the forwarding ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from runtime.streaming.portforward import connect_in_netns
from runtime.streaming.spdy_session import SpdySession, SpdyStream

log = logging.getLogger(__name__)

PROTOCOLS = ("portforward.k8s.io",)
PAIR_TIMEOUT = 30.0
READ_SIZE = 65536


def refuse_invalid(stream: SpdyStream) -> str | None:
    """Why a port-forward stream is refused, or None when its headers are usable."""
    port = stream.header("port")
    if not port:
        return '"port" header is required'
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"unable to parse {port!r} as a port (1-65535)"
    stream_type = stream.header("streamType")
    if not stream_type:
        return '"streamType" header is required'
    if stream_type not in ("data", "error"):
        return f"invalid stream type {stream_type!r}"
    return None


def request_id(stream: SpdyStream) -> str:
    given = stream.header("requestID")
    if given:
        return given
    return str(stream.id if stream.header("streamType") == "error" else stream.id - 2)


@dataclass
class StreamPair:
    request_id: str
    data: SpdyStream | None = None
    error: SpdyStream | None = None

    def add(self, stream: SpdyStream) -> str | None:
        """Take a stream; why it cannot be taken, if so."""
        kind = stream.header("streamType")
        if getattr(self, kind) is not None:
            return f"{kind} stream already assigned"
        setattr(self, kind, stream)
        return None

    @property
    def complete(self) -> bool:
        return self.data is not None and self.error is not None

    async def report(self, message: str) -> None:
        if self.error is not None:
            with contextlib.suppress(ConnectionError):
                await self.error.write(message.encode())


async def serve(session: SpdySession, netns: str | None) -> None:
    """Pair streams and forward each pair until the connection ends."""
    pairs: dict[str, StreamPair] = {}
    tasks: set[asyncio.Task[None]] = set()

    def spawn(coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def give_up_if_incomplete(pair: StreamPair) -> None:
        await asyncio.sleep(PAIR_TIMEOUT)
        if pairs.get(pair.request_id) is pair and not pair.complete:
            del pairs[pair.request_id]
            await pair.report(f"timed out waiting for streams of request {pair.request_id}")
            for stream in (pair.data, pair.error):
                if stream is not None:
                    await stream.reset()

    try:
        while (stream := await session.next_stream()) is not None:
            rid = request_id(stream)
            pair = pairs.get(rid)
            if pair is None:
                pair = pairs[rid] = StreamPair(rid)
                spawn(give_up_if_incomplete(pair))
            problem = pair.add(stream)
            if problem is not None:
                await pair.report(f"error processing stream for request {rid}: {problem}")
                await stream.reset()
            elif pair.complete:
                del pairs[rid]
                spawn(forward(pair, netns))
        await session.done.wait()  # forwarded connections live until the connection ends
    finally:
        pending = list(tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)


async def forward(pair: StreamPair, netns: str | None) -> None:
    assert pair.data is not None and pair.error is not None
    data, error = pair.data, pair.error
    port = int(data.header("port"))
    loop = asyncio.get_running_loop()
    try:
        sock = await loop.run_in_executor(None, connect_in_netns, netns, port)
        reader, writer = await asyncio.open_connection(sock=sock)
    except OSError as e:
        await pair.report(f"error forwarding port {port} to the pod: {e}")
        await error.close()
        await data.close()
        return

    async def client_to_pod() -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await data.read():
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

    async def pod_to_client() -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(READ_SIZE):
                await data.write(chunk)

    upstream = asyncio.ensure_future(client_to_pod())
    downstream = asyncio.ensure_future(pod_to_client())
    aborted = asyncio.ensure_future(data.aborted.wait())
    try:
        await asyncio.wait([downstream, aborted], return_when=asyncio.FIRST_COMPLETED)
        if downstream.done():  # the pod is done sending; the client may still finish its half
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(upstream), 1.0)
    finally:
        for task in (upstream, downstream, aborted):
            task.cancel()
        writer.close()
        await data.close()
        await error.close()
