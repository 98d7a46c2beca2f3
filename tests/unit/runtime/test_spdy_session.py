"""The SPDY session (server side) over an in-memory channel: stream acceptance and refusal,
half-close, reset, ping, GOAWAY, framing of large writes, read back-pressure, broken clients."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from runtime.streaming import spdy_session
from runtime.streaming.spdy_frames import (
    DataFrame,
    FrameDecoder,
    FrameEncoder,
    GoAway,
    GoAwayStatus,
    Ping,
    RstStatus,
    RstStream,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
)
from runtime.streaming.spdy_remotecommand import V4, StreamsNotCreated, wait_for_streams
from runtime.streaming.spdy_session import SpdySession, SpdyStream, StreamClosedError
from runtime.streaming.tokens import StreamRequest


class MemoryChannel:
    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.reads = 0
        self.decoder = FrameDecoder()
        self.sent: list[object] = []
        self.finished: float | None = None

    async def read(self) -> bytes:
        self.reads += 1
        return await self.incoming.get()

    async def write(self, data: bytes) -> None:
        self.decoder.feed(data)
        self.sent.extend(self.decoder.frames())

    async def finish(self, timeout: float) -> None:
        self.finished = timeout
        self.incoming.put_nowait(b"")


class Client:
    """The test's side: encodes what a client sends."""

    def __init__(self, channel: MemoryChannel) -> None:
        self.channel = channel
        self.encoder = FrameEncoder()

    def send(self, *frames: Any) -> None:
        self.channel.incoming.put_nowait(b"".join(self.encoder.encode(f) for f in frames))

    def hang_up(self) -> None:
        self.channel.incoming.put_nowait(b"")


def run(scenario: Callable[[SpdySession, Client, MemoryChannel], Awaitable[None]],
        refuse: Callable[[SpdyStream], str | None] | None = None, idle_timeout: float = 60.0) -> MemoryChannel:
    async def main() -> MemoryChannel:
        channel = MemoryChannel()
        session = SpdySession(channel, refuse, idle_timeout=idle_timeout)
        reader = asyncio.ensure_future(session.run())
        try:
            await asyncio.wait_for(scenario(session, Client(channel), channel), 5)
        finally:
            reader.cancel()
        return channel
    return asyncio.run(main())


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_an_accepted_stream_is_replied_to_and_handed_over_with_its_headers() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {"streamtype": ["stdout"]}))
        stream = await session.next_stream()
        assert stream is not None and stream.id == 1 and stream.header("streamType") == "stdout"
        assert channel.sent == [SynReply(1, {})]
    run(scenario)


def test_data_is_read_in_order_and_fin_reads_as_the_end() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {"streamtype": ["stdin"]}), DataFrame(1, b"ab"), DataFrame(1, b"cd", fin=True))
        stream = await session.next_stream()
        assert stream is not None
        assert await stream.read_all() == b"abcd"
        assert await stream.read() == b""
    run(scenario)


def test_writes_become_data_frames_of_bounded_size_and_close_sends_fin_once() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {"streamtype": ["stdout"]}))
        stream = await session.next_stream()
        assert stream is not None
        await stream.write(b"x" * (spdy_session.DATA_CHUNK * 2 + 1))
        await stream.close()
        await stream.close()
        data = [f for f in channel.sent if isinstance(f, DataFrame)]
        assert [len(f.data) for f in data] == [spdy_session.DATA_CHUNK, spdy_session.DATA_CHUNK, 1, 0]
        assert [f.fin for f in data] == [False, False, False, True]
    run(scenario)


def test_a_refused_stream_is_reset_and_never_handed_over() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {}), SynStream(3, {"streamtype": ["error"]}))
        stream = await session.next_stream()
        assert stream is not None and stream.id == 3
        assert channel.sent[0] == RstStream(1, RstStatus.REFUSED_STREAM)
    run(scenario, refuse=lambda s: None if s.header("streamtype") else "no type")


def test_stream_ids_must_be_odd_and_rising() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(5, {}), SynStream(2, {}), SynStream(3, {}))
        await session.next_stream()
        await settle()
        assert channel.sent[1:] == [RstStream(2, RstStatus.PROTOCOL_ERROR), RstStream(3, RstStatus.PROTOCOL_ERROR)]
    run(scenario)


def test_a_client_reset_ends_reading_and_forbids_writing() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {}))
        stream = await session.next_stream()
        assert stream is not None
        client.send(RstStream(1, RstStatus.CANCEL))
        assert await stream.read() == b""
        assert stream.aborted.is_set()
        try:
            await stream.write(b"late")
        except StreamClosedError:
            pass
        else:
            raise AssertionError("a write to a reset stream went through")
    run(scenario)


def test_client_pings_are_echoed_and_server_ids_ignored() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(Ping(3), Ping(4), Settings(((0, 7, 1024),)), WindowUpdate(0, 1000))
        await settle()
        assert channel.sent == [Ping(3)]
    run(scenario)


def test_goaway_means_no_more_streams() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {}), GoAway(0), SynStream(3, {}))
        first = await session.next_stream()
        assert first is not None and first.id == 1
        assert await session.next_stream() is None
        await settle()
        assert RstStream(3, RstStatus.REFUSED_STREAM) in channel.sent
    run(scenario)


def test_a_malformed_frame_gets_goaway_and_the_connection_ends() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {}))
        stream = await session.next_stream()
        assert stream is not None
        channel.incoming.put_nowait(struct.pack(">HHI", 0x8003, 7, 3) + b"bad")  # GOAWAY of 3 bytes
        await asyncio.wait_for(session.done.wait(), 2)
        assert channel.sent[-1] == GoAway(1, GoAwayStatus.PROTOCOL_ERROR)
        assert channel.finished == 0
        assert session.error is not None and "GOAWAY" in session.error
        assert await stream.read() == b""
    run(scenario)


def test_data_received_before_the_connection_ends_can_still_be_read() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {}), DataFrame(1, b"last words"))
        client.hang_up()
        stream = await session.next_stream()
        assert stream is not None
        await session.done.wait()
        assert await stream.read_all() == b"last words"
        assert await session.next_stream() is None
    run(scenario)


def test_reading_pauses_while_a_stream_holds_too_much_unread_data(monkeypatch: Any) -> None:
    monkeypatch.setattr(spdy_session, "STREAM_BUFFER_LIMIT", 10)

    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {}))
        stream = await session.next_stream()
        assert stream is not None
        client.send(DataFrame(1, b"x" * 20))
        client.send(Ping(1))
        await settle()
        assert Ping(1) not in channel.sent  # the session is waiting for the stream to be read
        assert await stream.read() == b"x" * 20
        await settle()
        assert Ping(1) in channel.sent
    run(scenario)


def test_close_says_goaway_and_waits_for_the_client_to_hang_up() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {}))
        await session.next_stream()
        await session.close()
        assert channel.sent[-1] == GoAway(1, GoAwayStatus.OK)
        assert channel.finished == spdy_session.DRAIN_TIMEOUT
        assert session.done.is_set()
    run(scenario)


def test_an_idle_connection_is_dropped_and_activity_keeps_it() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        for _ in range(4):  # pings every 0.1 s keep a 0.3 s idle timeout away
            client.send(Ping(1))
            await asyncio.sleep(0.1)
        assert not session.done.is_set()
        await asyncio.wait_for(session.done.wait(), 2)
        assert channel.finished == 0 and session.error is not None and "idle" in session.error
    run(scenario, idle_timeout=0.3)


def test_a_client_that_never_opens_the_streams_is_given_up_on() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        request = StreamRequest(kind="exec", container_id="c", cmd=["true"], stdin=True, stdout=True, stderr=False)
        client.send(SynStream(1, {"streamtype": ["error"]}), SynStream(3, {"streamtype": ["stdout"]}))
        with pytest.raises(StreamsNotCreated, match="timed out waiting for the client to create 3 streams"):
            await wait_for_streams(session, request, V4, timeout=0.3)
    run(scenario)


def test_a_terminal_session_expects_a_resize_stream_from_v3_and_no_stderr() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        request = StreamRequest(kind="exec", container_id="c", cmd=["sh"], tty=True, stdin=True, stdout=True,
                                stderr=True)
        client.send(*(SynStream(i, {"streamtype": [t]}) for i, t in ((1, "error"), (3, "stdin"), (5, "stdout"),
                                                                      (7, "resize"))))
        streams = await wait_for_streams(session, request, V4, timeout=2)
        assert set(streams.streams) == {"error", "stdin", "stdout", "resize"}
    run(scenario)


def test_open_streams_are_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(spdy_session, "MAX_OPEN_STREAMS", 2)

    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        client.send(SynStream(1, {}), SynStream(3, {}), SynStream(5, {}))
        await session.next_stream()
        await session.next_stream()
        await settle()
        assert channel.sent[-1] == RstStream(5, RstStatus.REFUSED_STREAM)
    run(scenario)


def test_a_remote_command_refuses_streams_beyond_its_set() -> None:
    async def scenario(session: SpdySession, client: Client, channel: MemoryChannel) -> None:
        request = StreamRequest(kind="exec", container_id="c", cmd=["true"], stdout=True, stderr=False)
        client.send(SynStream(1, {"streamtype": ["error"]}), SynStream(3, {"streamtype": ["stdout"]}))
        await wait_for_streams(session, request, V4, timeout=2)
        client.send(SynStream(5, {"streamtype": ["stdin"]}))
        await settle()
        assert channel.sent[-1] == RstStream(5, RstStatus.REFUSED_STREAM)
    run(scenario)
