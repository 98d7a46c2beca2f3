"""The SPDY/3 frame codec: every frame type round-trips, header blocks are compressed with the
SPDY/3 dictionary as one stream per direction, and malformed input is refused with a clear error."""

from __future__ import annotations

import struct
import zlib

import pytest

from runtime.streaming.spdy_dictionary import HEADER_DICTIONARY
from runtime.streaming.spdy_frames import (
    DataFrame,
    FrameDecoder,
    FrameEncoder,
    GoAway,
    GoAwayStatus,
    HeaderCompressor,
    HeaderDecompressor,
    HeadersFrame,
    Ping,
    RstStatus,
    RstStream,
    Settings,
    SpdyProtocolError,
    SynReply,
    SynStream,
    UnknownControlFrame,
    WindowUpdate,
    pack_header_block,
    unpack_header_block,
)


def decode_all(data: bytes, decoder: FrameDecoder | None = None) -> list[object]:
    decoder = decoder or FrameDecoder()
    decoder.feed(data)
    return list(decoder.frames())


def test_the_dictionary_is_the_one_spdy3_peers_check_by_adler32() -> None:
    assert len(HEADER_DICTIONARY) == 1423
    assert zlib.adler32(HEADER_DICTIONARY) == 0xE3C6A7C2
    assert HEADER_DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert HEADER_DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")


@pytest.mark.parametrize("frame", [
    DataFrame(1, b"hello", fin=False),
    DataFrame(3, b"", fin=True),
    SynStream(5, {"streamtype": ["stdout"], "port": ["80"]}, associated_to=0, priority=3, fin=False),
    SynStream(7, {}, fin=True, unidirectional=True),
    SynReply(5, {}),
    SynReply(9, {":status": ["200"]}, fin=True),
    HeadersFrame(11, {"x": ["a", "b"]}, fin=True),
    RstStream(13, RstStatus.CANCEL),
    Settings(((0, 7, 65536), (1, 4, 100)), clear=True),
    Ping(1),
    GoAway(15, GoAwayStatus.PROTOCOL_ERROR),
    WindowUpdate(17, 4096),
])
def test_every_frame_type_round_trips(frame: object) -> None:
    assert decode_all(FrameEncoder().encode(frame)) == [frame]  # type: ignore[arg-type]


def test_header_blocks_share_one_compression_stream_per_direction() -> None:
    encoder, decoder = FrameEncoder(), FrameDecoder()
    first = encoder.encode(SynStream(1, {"streamtype": ["error"]}))
    second = encoder.encode(SynStream(3, {"streamtype": ["stdout"]}))
    assert decode_all(first + second, decoder) == [SynStream(1, {"streamtype": ["error"]}),
                                                    SynStream(3, {"streamtype": ["stdout"]})]
    # the second block refers back into the first: a fresh decompressor cannot read it alone
    with pytest.raises(SpdyProtocolError):
        decode_all(second)


def test_the_first_header_block_is_a_zlib_stream_primed_with_the_dictionary() -> None:
    compressed = HeaderCompressor().compress({"streamtype": ["data"]})
    assert compressed[0] == 0x78 and compressed[1] & 0x20  # FDICT set
    assert struct.unpack(">I", compressed[2:6])[0] == zlib.adler32(HEADER_DICTIONARY)
    plain = zlib.decompressobj(zdict=HEADER_DICTIONARY).decompress(compressed)
    assert plain == pack_header_block({"streamtype": ["data"]})


def test_multiple_values_travel_joined_by_nul() -> None:
    block = pack_header_block({"x-stream-protocol-version": ["v4.channel.k8s.io", "v3.channel.k8s.io"]})
    assert b"v4.channel.k8s.io\x00v3.channel.k8s.io" in block
    assert unpack_header_block(block) == {"x-stream-protocol-version": ["v4.channel.k8s.io", "v3.channel.k8s.io"]}


def test_header_names_are_sent_lowercase() -> None:
    assert unpack_header_block(pack_header_block({"streamType": ["error"]})) == {"streamtype": ["error"]}


def test_frames_arrive_whole_however_the_bytes_are_split() -> None:
    encoder = FrameEncoder()
    wire = encoder.encode(SynStream(1, {"streamtype": ["stdin"]})) + encoder.encode(DataFrame(1, b"x" * 1000, fin=True))
    decoder = FrameDecoder()
    frames: list[object] = []
    for i in range(len(wire)):
        decoder.feed(wire[i:i + 1])
        frames.extend(decoder.frames())
    assert frames == [SynStream(1, {"streamtype": ["stdin"]}), DataFrame(1, b"x" * 1000, fin=True)]
    assert decoder.buffered == 0


def test_unknown_control_frame_types_are_passed_up_to_be_ignored() -> None:
    wire = struct.pack(">HHI", 0x8003, 10, 2) + b"ab"
    assert decode_all(wire) == [UnknownControlFrame(10, 0, b"ab")]


def control(frame_type: int, payload: bytes, flags: int = 0, version: int = 3) -> bytes:
    return struct.pack(">HHI", 0x8000 | version, frame_type, flags << 24 | len(payload)) + payload


@pytest.mark.parametrize(("wire", "message"), [
    (control(1, b"\x00\x00\x00\x01", version=2), "version 2"),
    (struct.pack(">II", 0, 3) + b"abc", "DATA frame on stream 0"),
    (control(1, b"\x00\x00"), "SYN_STREAM shorter"),
    (control(3, struct.pack(">II", 1, 0)), "status 0"),
    (control(3, struct.pack(">II", 0, 5)), "RST_STREAM on stream 0"),
    (control(3, b"\x00\x00\x00\x01"), "not 8"),
    (control(6, b"\x00\x00"), "PING payload of 2 bytes"),
    (control(4, struct.pack(">I", 2) + b"\x00" * 8), "entry count"),
    (control(9, struct.pack(">II", 1, 0)), "zero delta"),
    (control(2, struct.pack(">I", 1) + b"not zlib at all"), "does not decompress"),
])
def test_malformed_frames_are_refused_with_a_clear_error(wire: bytes, message: str) -> None:
    with pytest.raises(SpdyProtocolError, match=message):
        decode_all(wire)


def compressed_block(block: bytes) -> bytes:
    z = zlib.compressobj(zdict=HEADER_DICTIONARY)
    return z.compress(block) + z.flush(zlib.Z_SYNC_FLUSH)


@pytest.mark.parametrize(("block", "message"), [
    (struct.pack(">I", 1) + struct.pack(">I", 4) + b"Port" + struct.pack(">I", 2) + b"80", "not lowercase"),
    (struct.pack(">I", 2) + (struct.pack(">I", 1) + b"a" + struct.pack(">I", 1) + b"b") * 2, "appears twice"),
    (struct.pack(">I", 1) + struct.pack(">I", 40) + b"short", "ends inside"),
    (struct.pack(">I", 1000), "room for fewer"),
    (struct.pack(">I", 0) + b"junk", "after its last pair"),
])
def test_malformed_header_blocks_are_refused(block: bytes, message: str) -> None:
    with pytest.raises(SpdyProtocolError, match=message):
        decode_all(control(2, struct.pack(">I", 1) + compressed_block(block)))


def test_a_header_block_that_inflates_past_the_limit_is_refused() -> None:
    huge = pack_header_block({"x": ["a" * 100_000]})
    with pytest.raises(SpdyProtocolError, match="larger than"):
        HeaderDecompressor(limit=1024).decompress(compressed_block(huge))


def test_encoding_refuses_stream_ids_outside_31_bits() -> None:
    with pytest.raises(ValueError, match="stream id"):
        FrameEncoder().encode(DataFrame(0, b"x"))
    with pytest.raises(ValueError, match="stream id"):
        FrameEncoder().encode(SynReply(2**31, {}))
