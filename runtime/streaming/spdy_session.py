"""The server side of a SPDY/3.1 connection as Kubernetes' clients use it (spdystream).

The client opens every stream (odd ids, rising) with SYN_STREAM carrying its headers; the
server accepts with an empty SYN_REPLY or refuses with RST_STREAM, then both sides send DATA and
half-close with FIN. RST_STREAM tears a stream down both ways; PING from the client is echoed;
GOAWAY says no more streams will be opened. A connection with no frame either way for the idle
timeout (4 hours by default, as the kubelet's) is dropped. Like spdystream, this side does no SPDY flow
control: WINDOW_UPDATE and SETTINGS are read and ignored and no window is enforced, because
spdystream never sends window updates and a sender that waited for them would stall. Memory
stays bounded the way spdystream bounds it: when a stream's unread data passes a limit, the
session stops reading frames (TCP pushes back on the client) until that stream is read.

Frames are written under one lock, because this side's header compression stream must see
header blocks in the order they go out on the wire. The byte transport is a ``ByteChannel`` so
the same session runs over a raw upgraded HTTP connection or tunnelled inside WebSocket messages.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from runtime.streaming.spdy_frames import (
    DataFrame,
    FrameDecoder,
    FrameEncoder,
    GoAway,
    GoAwayStatus,
    Headers,
    HeadersFrame,
    Ping,
    RstStatus,
    RstStream,
    SpdyProtocolError,
    SynReply,
    SynStream,
)

log = logging.getLogger(__name__)

DATA_CHUNK = 32 * 1024
STREAM_BUFFER_LIMIT = 1024 * 1024
DRAIN_TIMEOUT = 5.0
MAX_OPEN_STREAMS = 1000  # per connection; a port-forward uses two per forwarded connection
IDLE_TIMEOUT = 4 * 3600.0  # the kubelet's and containerd's default stream idle timeout


class ByteChannel(Protocol):
    """A reliable byte pipe: raw TCP after an HTTP upgrade, or WebSocket messages."""

    async def read(self) -> bytes:
        """The next bytes; b"" once the peer is gone."""
        ...

    async def write(self, data: bytes) -> None: ...

    async def finish(self, timeout: float) -> None:
        """Stop sending, give the peer up to ``timeout`` to hang up, then close."""
        ...


class StreamClosedError(ConnectionError):
    """Writing to a stream this side already finished, or one the peer reset."""


class SpdyStream:
    """One client-opened stream: read what the client sends, write back, half-close with FIN."""

    def __init__(self, session: SpdySession, stream_id: int, headers: Headers) -> None:
        self.session = session
        self.id = stream_id
        self.headers = headers
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._changed = asyncio.Event()
        self.remote_closed = False
        self.local_closed = False
        self.was_reset = False
        self.aborted = asyncio.Event()  # reset by either side, or the connection is gone

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    async def read(self) -> bytes:
        """The next data the client sent; b"" after its FIN, a reset, or the connection's end."""
        while not self._chunks:
            if self.remote_closed:
                return b""
            self._changed.clear()
            await self._changed.wait()
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        self._changed.set()
        return chunk

    async def read_all(self, limit: int = STREAM_BUFFER_LIMIT) -> bytes:
        parts = []
        size = 0
        while chunk := await self.read():
            size += len(chunk)
            if size > limit:
                raise ValueError(f"stream {self.id} sent more than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def write(self, data: bytes) -> None:
        for start in range(0, len(data), DATA_CHUNK):
            if self.local_closed or self.was_reset:
                raise StreamClosedError(f"stream {self.id} is closed for writing")
            await self.session.send(DataFrame(self.id, data[start:start + DATA_CHUNK]))

    async def close(self) -> None:
        """Half-close: FIN, once. Quietly does nothing on a reset stream or a dead connection."""
        if self.local_closed or self.was_reset:
            return
        self.local_closed = True
        with contextlib.suppress(ConnectionError):
            await self.session.send(DataFrame(self.id, b"", fin=True))
        self.session.forget_if_done(self)

    async def reset(self, status: int = RstStatus.CANCEL) -> None:
        if self.was_reset:
            return
        self._on_reset()
        with contextlib.suppress(ConnectionError):
            await self.session.send(RstStream(self.id, status))

    # -- called by the session's reader ------------------------------------------------------
    async def _deliver(self, data: bytes) -> None:
        if data and not self.remote_closed:
            self._chunks.append(data)
            self._buffered += len(data)
            self._changed.set()
        while self._buffered > STREAM_BUFFER_LIMIT and not self.was_reset:
            self._changed.clear()
            await self._changed.wait()

    def _remote_finish(self) -> None:
        self.remote_closed = True
        self._changed.set()

    def _on_reset(self) -> None:
        self._chunks.clear()
        self._buffered = 0
        self._connection_lost()
        self.session.forget_if_done(self)

    def _connection_lost(self) -> None:
        """Nothing more can be written; what was received can still be read."""
        self.was_reset = self.remote_closed = self.local_closed = True
        self._changed.set()
        self.aborted.set()


StreamFilter = Callable[[SpdyStream], str | None]


class SpdySession:
    """Reads frames, answers the connection-level ones, and hands accepted streams to a consumer.

    ``refuse`` sees each new stream before it is accepted and returns why it is refused (the
    stream is reset with REFUSED_STREAM) or None to accept it.
    """

    def __init__(self, channel: ByteChannel, refuse: StreamFilter | None = None,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.channel = channel
        self.refuse = refuse
        self.idle_timeout = idle_timeout
        self._last_activity = 0.0
        self._encoder = FrameEncoder()
        self._decoder = FrameDecoder()
        self._write_lock = asyncio.Lock()
        self._streams: dict[int, SpdyStream] = {}
        self._incoming: asyncio.Queue[SpdyStream | None] = asyncio.Queue()
        self._last_stream_id = 0
        self._broken = False
        self.peer_gone_away = False
        self.done = asyncio.Event()
        self.error: str | None = None

    # -- the consumer's side -----------------------------------------------------------------
    async def next_stream(self) -> SpdyStream | None:
        """The next accepted stream; None once the client can open no more."""
        if self.done.is_set() and self._incoming.empty():
            return None
        stream = await self._incoming.get()
        if stream is None:
            self._incoming.put_nowait(None)  # every later caller sees the end too
        return stream

    async def send(self, frame: DataFrame | SynReply | RstStream | GoAway | Ping) -> None:
        if self._broken:
            raise ConnectionError("the SPDY connection is closed")
        async with self._write_lock:
            self._last_activity = asyncio.get_running_loop().time()
            data = self._encoder.encode(frame)
            try:
                await self.channel.write(data)
            except (ConnectionError, RuntimeError) as e:
                self._broken = True
                raise ConnectionError(f"the SPDY connection is closed: {e}") from e

    async def close(self, status: int = GoAwayStatus.OK) -> None:
        """GOAWAY, then let the client hang up first (so nothing it still sends is answered with
        a TCP reset that could destroy what it has not read yet), then close."""
        with contextlib.suppress(ConnectionError):
            await self.send(GoAway(self._last_stream_id, status))
        self._broken = True
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await self.channel.finish(DRAIN_TIMEOUT)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.done.wait(), DRAIN_TIMEOUT)

    def forget_if_done(self, stream: SpdyStream) -> None:
        if stream.was_reset or (stream.local_closed and stream.remote_closed):
            self._streams.pop(stream.id, None)

    # -- the reader ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Read frames until the connection ends; then every stream reads EOF."""
        loop = asyncio.get_running_loop()
        self._last_activity = loop.time()
        watchdog = asyncio.ensure_future(self._close_when_idle())
        try:
            while data := await self.channel.read():
                self._last_activity = loop.time()
                self._decoder.feed(data)
                for frame in self._decoder.frames():
                    await self._handle(frame)
        except SpdyProtocolError as e:
            self.error = str(e)
            log.info("SPDY protocol error from the client", extra={"error": str(e)})
            with contextlib.suppress(ConnectionError):
                await self.send(GoAway(self._last_stream_id, GoAwayStatus.PROTOCOL_ERROR))
            self._broken = True
            with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
                await self.channel.finish(0)
        except ConnectionError as e:
            self.error = str(e)
        finally:
            watchdog.cancel()
            for stream in list(self._streams.values()):
                stream._connection_lost()
            self._streams.clear()
            self.done.set()
            self._incoming.put_nowait(None)

    async def _close_when_idle(self) -> None:
        """No frame either way for ``idle_timeout``: the connection is dropped, as spdystream does."""
        loop = asyncio.get_running_loop()
        while (left := self._last_activity + self.idle_timeout - loop.time()) > 0:
            await asyncio.sleep(left)
        log.info("SPDY connection idle; closing", extra={"idle_timeout": self.idle_timeout})
        self.error = f"idle for {self.idle_timeout} seconds"
        self._broken = True
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await self.channel.finish(0)

    async def _handle(self, frame: object) -> None:
        if isinstance(frame, DataFrame):
            stream = self._streams.get(frame.stream_id)
            if stream is not None:
                await stream._deliver(frame.data)
                if frame.fin:
                    stream._remote_finish()
                    self.forget_if_done(stream)
        elif isinstance(frame, SynStream):
            await self._open(frame)
        elif isinstance(frame, RstStream):
            stream = self._streams.get(frame.stream_id)
            if stream is not None:
                stream._on_reset()
        elif isinstance(frame, Ping):
            if frame.ping_id % 2 == 1:  # the client's ping (a server's are even): echo it
                await self.send(frame)
        elif isinstance(frame, GoAway):
            self.peer_gone_away = True
            self._incoming.put_nowait(None)
        elif isinstance(frame, HeadersFrame) and frame.fin:
            stream = self._streams.get(frame.stream_id)
            if stream is not None:
                stream._remote_finish()
                self.forget_if_done(stream)
        # SYN_REPLY (this side opens no streams), SETTINGS, WINDOW_UPDATE, unknown types: ignored

    async def _open(self, frame: SynStream) -> None:
        if frame.stream_id % 2 == 0 or frame.stream_id <= self._last_stream_id:
            await self.send(RstStream(frame.stream_id, RstStatus.PROTOCOL_ERROR))
            return
        self._last_stream_id = frame.stream_id
        if self.peer_gone_away:
            await self.send(RstStream(frame.stream_id, RstStatus.REFUSED_STREAM))
            return
        stream = SpdyStream(self, frame.stream_id, frame.headers)
        reason = self.refuse(stream) if self.refuse is not None else None
        if reason is None and len(self._streams) >= MAX_OPEN_STREAMS:
            reason = f"more than {MAX_OPEN_STREAMS} open streams"
        if reason is not None:
            log.info("SPDY stream refused", extra={"stream": frame.stream_id, "reason": reason})
            await self.send(RstStream(frame.stream_id, RstStatus.REFUSED_STREAM))
            return
        if frame.unidirectional:
            stream.local_closed = True
        self._streams[frame.stream_id] = stream
        await self.send(SynReply(frame.stream_id, {}))
        if frame.fin:
            stream._remote_finish()
        self._incoming.put_nowait(stream)
