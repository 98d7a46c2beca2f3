"""Answering an HTTP request's upgrade to SPDY/3.1, and the byte channels a SPDY session runs on.

The handshake is Kubernetes' (apimachinery httpstream): the request carries ``Connection:
Upgrade``, ``Upgrade: SPDY/3.1`` and one or more ``X-Stream-Protocol-Version`` values (repeated
headers or comma lists, in the client's order of preference). The first of the client's
versions the server speaks is chosen; none offered is a 400, none in common a 403 listing what
the server accepts in ``X-Accepted-Stream-Protocol-Versions``. Success is ``101 Switching
Protocols`` with the chosen version, after which the connection carries SPDY frames.

aiohttp serves our HTTP. It hands an upgraded connection's bytes to a "payload parser" set on
the request's protocol object (which is how its own WebSocket support takes a connection over);
``RawUpgradedChannel`` is such a parser that queues the bytes, pausing the socket when the
queue is long, and writes through the prepared 101 response. kubectl's WebSocket port-forward
tunnels the same SPDY bytes in binary WebSocket messages (subprotocol
``SPDY/3.1+portforward.k8s.io``): ``WebSocketChannel`` carries those.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib

from aiohttp import WSMsgType, web
from multidict import CIMultiDict

SPDY_31 = "SPDY/3.1"
PROTOCOL_HEADER = "X-Stream-Protocol-Version"
ACCEPTED_HEADER = "X-Accepted-Stream-Protocol-Versions"
TUNNEL_PREFIX = "SPDY/3.1+"
READ_HIGH_WATER = 256 * 1024


def _tokens(http: web.BaseRequest, name: str) -> list[str]:
    return [part.strip() for value in http.headers.getall(name, []) for part in value.split(",") if part.strip()]


def wants_spdy(http: web.BaseRequest) -> bool:
    connection = [t.lower() for t in _tokens(http, "Connection")]
    return "upgrade" in connection and SPDY_31.lower() in http.headers.get("Upgrade", "").lower()


def wants_websocket(http: web.BaseRequest) -> bool:
    return "websocket" in http.headers.get("Upgrade", "").lower()


def negotiate(http: web.BaseRequest, supported: tuple[str, ...]) -> str:
    """The protocol version to speak, or an HTTP error the client can act on."""
    offered = _tokens(http, PROTOCOL_HEADER)
    if not offered:
        raise web.HTTPBadRequest(text=f"unable to upgrade: {PROTOCOL_HEADER} is required")
    for protocol in offered:
        if protocol in supported:
            return protocol
    raise web.HTTPForbidden(
        headers=CIMultiDict((ACCEPTED_HEADER, p) for p in supported),
        text=f"unable to upgrade: unable to negotiate protocol: client supports {offered}, server accepts {list(supported)}",
    )


class _UpgradeResponse(web.StreamResponse):
    """The 101 answer. The connection after it is the SPDY session's to close, not aiohttp's."""

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class RawUpgradedChannel:
    """The TCP connection of an upgraded request, as a ``ByteChannel``."""

    def __init__(self, http: web.BaseRequest, response: web.StreamResponse) -> None:
        self._http = http
        self._response = response
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._eof = False
        self._readable = asyncio.Event()
        self._paused = False
        self._peer_gone = asyncio.Event()

    # aiohttp's payload-parser interface: called from the protocol's data_received/connection_lost
    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if data:
            self._chunks.append(bytes(data))
            self._size += len(data)
            self._readable.set()
            transport = self._http.transport
            if self._size > READ_HIGH_WATER and transport is not None and not self._paused:
                transport.pause_reading()
                self._paused = True
        return False, b""

    def feed_eof(self) -> None:
        self._eof = True
        self._readable.set()
        self._peer_gone.set()

    async def read(self) -> bytes:
        while not self._chunks:
            if self._eof:
                return b""
            self._readable.clear()
            await self._readable.wait()
        chunk = self._chunks.popleft()
        self._size -= len(chunk)
        transport = self._http.transport
        if self._paused and self._size < READ_HIGH_WATER // 2 and transport is not None:
            transport.resume_reading()
            self._paused = False
        return chunk

    async def write(self, data: bytes) -> None:
        transport = self._http.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client connection is closed")
        await self._response.write(data)

    async def finish(self, timeout: float) -> None:
        transport = self._http.transport
        if transport is None:
            return
        if timeout > 0 and transport.can_write_eof() and not transport.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                transport.write_eof()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._peer_gone.wait(), timeout)
        transport.close()


async def accept_spdy(http: web.BaseRequest, protocol: str) -> tuple[RawUpgradedChannel, web.StreamResponse]:
    """Answer 101 and take the connection over; the caller runs a SPDY session on the channel."""
    response = _UpgradeResponse(status=101, reason="Switching Protocols")
    response.headers["Connection"] = "Upgrade"
    response.headers["Upgrade"] = SPDY_31
    response.headers[PROTOCOL_HEADER] = protocol
    response.force_close()
    channel = RawUpgradedChannel(http, response)
    http.protocol.set_parser(channel)  # type: ignore[arg-type]  # aiohttp's hook for upgraded connections
    await response.prepare(http)
    return channel, response


class WebSocketChannel:
    """SPDY frames tunnelled in binary WebSocket messages, as a ``ByteChannel``."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def read(self) -> bytes:
        while True:
            message = await self.ws.receive()
            if message.type == WSMsgType.BINARY:
                if message.data:
                    return bytes(message.data)
                continue
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return b""

    async def write(self, data: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("the WebSocket is closed")
        await self.ws.send_bytes(data)

    async def finish(self, timeout: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.ws.close(), max(timeout, 0.1))


def tunnel_protocols(supported: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(TUNNEL_PREFIX + p for p in supported)
