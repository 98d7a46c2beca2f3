"""SPDY/3 frames on the wire: what kubectl, kubelets and critest speak to a streaming server.

A frame starts with 8 bytes. Control frames: the control bit, a 15-bit version (3), a 16-bit
type, 8 bits of flags and a 24-bit payload length. DATA frames: a 31-bit stream id (control bit
clear), flags (FIN) and the length. Stream ids are 31-bit: the client opens odd ones.

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are a 32-bit count of name/value pairs, each a
32-bit length and bytes; one name may carry several values joined by NUL. Each direction of a
connection compresses its header blocks with ONE zlib stream primed with the SPDY/3 dictionary,
flushed (sync flush) at the end of every block, so the decoder must see every block in order -
also those of frames it refuses - or its zlib state falls out of step with the peer's.

The decoder is incremental (``feed`` bytes, take whole frames) and strict where the Go framer
that clients use is strict; anything it cannot accept raises ``SpdyProtocolError``, which the
session answers with GOAWAY and a closed connection, never with a crash. Unknown control frame
types are returned as ``UnknownControlFrame`` for the session to ignore, as the draft says.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum

from runtime.streaming.spdy_dictionary import HEADER_DICTIONARY

VERSION = 3
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
FLAG_CLEAR_SETTINGS = 0x01
MAX_STREAM_ID = 0x7FFFFFFF
MAX_FRAME_LENGTH = 0xFFFFFF
MAX_HEADER_BLOCK = 256 * 1024  # decompressed; real header blocks are a few hundred bytes

_WORD = struct.Struct(">I")
_TWO_WORDS = struct.Struct(">II")
_SYN_STREAM_PREFIX = struct.Struct(">IIBB")

Headers = dict[str, list[str]]


class ControlType(IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(IntEnum):
    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6
    FLOW_CONTROL_ERROR = 7
    STREAM_IN_USE = 8
    STREAM_ALREADY_CLOSED = 9
    INVALID_CREDENTIALS = 10
    FRAME_TOO_LARGE = 11


class GoAwayStatus(IntEnum):
    OK = 0
    PROTOCOL_ERROR = 1
    INTERNAL_ERROR = 2


class SpdyProtocolError(Exception):
    """The peer broke the SPDY/3 framing rules; the connection cannot continue."""


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes = b""
    fin: bool = False


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    associated_to: int = 0
    priority: int = 0
    slot: int = 0
    fin: bool = False
    unidirectional: bool = False


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Settings:
    entries: tuple[tuple[int, int, int], ...] = ()  # (flags, id, value)
    clear: bool = False


@dataclass(frozen=True)
class Ping:
    ping_id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int
    status: int = GoAwayStatus.OK


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True)
class WindowUpdate:
    stream_id: int
    delta: int


@dataclass(frozen=True)
class UnknownControlFrame:
    frame_type: int
    flags: int
    payload: bytes


Frame = (DataFrame | SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame | WindowUpdate
         | UnknownControlFrame)


# ---------------------------------------------------------------------------- header blocks
def pack_header_block(headers: Headers) -> bytes:
    parts = [_WORD.pack(len(headers))]
    for name, values in headers.items():
        raw_name = name.lower().encode("utf-8")
        raw_value = "\x00".join(values).encode("utf-8")
        parts += [_WORD.pack(len(raw_name)), raw_name, _WORD.pack(len(raw_value)), raw_value]
    return b"".join(parts)


def unpack_header_block(block: bytes) -> Headers:
    def take(offset: int, size: int) -> tuple[bytes, int]:
        if offset + size > len(block):
            raise SpdyProtocolError("header block ends inside a name/value pair")
        return block[offset:offset + size], offset + size

    raw, offset = take(0, 4)
    (count,) = _WORD.unpack(raw)
    if count > len(block) // 8:
        raise SpdyProtocolError(f"header block claims {count} pairs but has room for fewer")
    headers: Headers = {}
    for _ in range(count):
        raw, offset = take(offset, 4)
        name_bytes, offset = take(offset, _WORD.unpack(raw)[0])
        raw, offset = take(offset, 4)
        value_bytes, offset = take(offset, _WORD.unpack(raw)[0])
        try:
            name, value = name_bytes.decode("utf-8"), value_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise SpdyProtocolError("header name or value is not UTF-8") from None
        if not name or name != name.lower():
            raise SpdyProtocolError(f"header name {name!r} is empty or not lowercase")
        if name in headers:
            raise SpdyProtocolError(f"header {name!r} appears twice in one block")
        headers[name] = value.split("\x00")
    if offset != len(block):
        raise SpdyProtocolError("header block has bytes after its last pair")
    return headers


class HeaderCompressor:
    def __init__(self) -> None:
        self._zlib = zlib.compressobj(level=6, zdict=HEADER_DICTIONARY)

    def compress(self, headers: Headers) -> bytes:
        return self._zlib.compress(pack_header_block(headers)) + self._zlib.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    def __init__(self, limit: int = MAX_HEADER_BLOCK) -> None:
        self._zlib = zlib.decompressobj(zdict=HEADER_DICTIONARY)
        self.limit = limit

    def decompress(self, compressed: bytes) -> Headers:
        try:
            block = self._zlib.decompress(compressed, self.limit)
        except zlib.error as e:
            raise SpdyProtocolError(f"header block does not decompress: {e}") from None
        if self._zlib.unconsumed_tail:
            raise SpdyProtocolError(f"header block is larger than {self.limit} bytes")
        return unpack_header_block(block)


# ---------------------------------------------------------------------------- encoding
def _control(frame_type: int, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME_LENGTH:
        raise ValueError(f"a control frame payload of {len(payload)} bytes does not fit in 24 bits")
    return _TWO_WORDS.pack(0x80000000 | VERSION << 16 | frame_type, flags << 24 | len(payload)) + payload


def _stream_id(value: int) -> int:
    if not 0 < value <= MAX_STREAM_ID:
        raise ValueError(f"stream id {value} is not in 1..2^31-1")
    return value


class FrameEncoder:
    """Turns frames into bytes; owns this side's header compression stream, so frames must be
    written in the order they are encoded."""

    def __init__(self) -> None:
        self._headers = HeaderCompressor()

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, DataFrame):
            if len(frame.data) > MAX_FRAME_LENGTH:
                raise ValueError(f"a DATA frame of {len(frame.data)} bytes does not fit in 24 bits")
            return _TWO_WORDS.pack(_stream_id(frame.stream_id), (FLAG_FIN if frame.fin else 0) << 24 | len(frame.data)) + frame.data
        if isinstance(frame, SynStream):
            flags = (FLAG_FIN if frame.fin else 0) | (FLAG_UNIDIRECTIONAL if frame.unidirectional else 0)
            prefix = _SYN_STREAM_PREFIX.pack(_stream_id(frame.stream_id), frame.associated_to & MAX_STREAM_ID,
                                             (frame.priority & 7) << 5, frame.slot & 0xFF)
            return _control(ControlType.SYN_STREAM, flags, prefix + self._headers.compress(frame.headers))
        if isinstance(frame, SynReply):
            payload = _WORD.pack(_stream_id(frame.stream_id)) + self._headers.compress(frame.headers)
            return _control(ControlType.SYN_REPLY, FLAG_FIN if frame.fin else 0, payload)
        if isinstance(frame, HeadersFrame):
            payload = _WORD.pack(_stream_id(frame.stream_id)) + self._headers.compress(frame.headers)
            return _control(ControlType.HEADERS, FLAG_FIN if frame.fin else 0, payload)
        if isinstance(frame, RstStream):
            return _control(ControlType.RST_STREAM, 0, _TWO_WORDS.pack(_stream_id(frame.stream_id), frame.status))
        if isinstance(frame, Settings):
            entries = b"".join(_TWO_WORDS.pack((flags & 0xFF) << 24 | (key & 0xFFFFFF), value)
                               for flags, key, value in frame.entries)
            return _control(ControlType.SETTINGS, FLAG_CLEAR_SETTINGS if frame.clear else 0,
                            _WORD.pack(len(frame.entries)) + entries)
        if isinstance(frame, Ping):
            return _control(ControlType.PING, 0, _WORD.pack(frame.ping_id))
        if isinstance(frame, GoAway):
            return _control(ControlType.GOAWAY, 0, _TWO_WORDS.pack(frame.last_good_stream_id & MAX_STREAM_ID, frame.status))
        if isinstance(frame, WindowUpdate):
            return _control(ControlType.WINDOW_UPDATE, 0, _TWO_WORDS.pack(frame.stream_id & MAX_STREAM_ID, frame.delta))
        raise TypeError(f"cannot encode {type(frame).__name__}")


# ---------------------------------------------------------------------------- decoding
class FrameDecoder:
    """Bytes in, whole frames out; keeps the peer's header decompression stream."""

    def __init__(self, max_header_block: int = MAX_HEADER_BLOCK) -> None:
        self._buffer = bytearray()
        self._headers = HeaderDecompressor(max_header_block)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def frames(self) -> Iterator[Frame]:
        while len(self._buffer) >= 8:
            first, second = _TWO_WORDS.unpack_from(self._buffer)
            flags, length = second >> 24, second & MAX_FRAME_LENGTH
            if len(self._buffer) < 8 + length:
                return
            payload = bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            if first & 0x80000000:
                yield self._control(first >> 16 & 0x7FFF, first & 0xFFFF, flags, payload)
            else:
                stream_id = first & MAX_STREAM_ID
                if stream_id == 0:
                    raise SpdyProtocolError("DATA frame on stream 0")
                yield DataFrame(stream_id, payload, bool(flags & FLAG_FIN))

    def _control(self, version: int, frame_type: int, flags: int, payload: bytes) -> Frame:
        if version != VERSION:
            raise SpdyProtocolError(f"control frame of SPDY version {version}; only {VERSION} is spoken")
        if frame_type == ControlType.SYN_STREAM:
            if len(payload) < 10:
                raise SpdyProtocolError("SYN_STREAM shorter than its fixed fields")
            stream_id, associated, priority, slot = _SYN_STREAM_PREFIX.unpack_from(payload)
            headers = self._headers.decompress(payload[10:])
            return SynStream(self._nonzero(stream_id & MAX_STREAM_ID, "SYN_STREAM"), headers, associated & MAX_STREAM_ID,
                             priority >> 5, slot, bool(flags & FLAG_FIN), bool(flags & FLAG_UNIDIRECTIONAL))
        if frame_type in (ControlType.SYN_REPLY, ControlType.HEADERS):
            name = ControlType(frame_type).name
            if len(payload) < 4:
                raise SpdyProtocolError(f"{name} shorter than its stream id")
            stream_id = self._nonzero(_WORD.unpack_from(payload)[0] & MAX_STREAM_ID, name)
            headers = self._headers.decompress(payload[4:])
            kind = SynReply if frame_type == ControlType.SYN_REPLY else HeadersFrame
            return kind(stream_id, headers, bool(flags & FLAG_FIN))
        if frame_type == ControlType.RST_STREAM:
            stream_id, status = self._pair(payload, "RST_STREAM")
            if status == 0:
                raise SpdyProtocolError("RST_STREAM with status 0")
            return RstStream(self._nonzero(stream_id & MAX_STREAM_ID, "RST_STREAM"), status)
        if frame_type == ControlType.SETTINGS:
            if len(payload) < 4 or len(payload) != 4 + 8 * _WORD.unpack_from(payload)[0]:
                raise SpdyProtocolError("SETTINGS length does not match its entry count")
            entries = tuple((key >> 24, key & 0xFFFFFF, value)
                            for key, value in _TWO_WORDS.iter_unpack(payload[4:]))
            return Settings(entries, bool(flags & FLAG_CLEAR_SETTINGS))
        if frame_type == ControlType.PING:
            if len(payload) != 4:
                raise SpdyProtocolError(f"PING payload of {len(payload)} bytes, not 4")
            return Ping(_WORD.unpack(payload)[0])
        if frame_type == ControlType.GOAWAY:
            last, status = self._pair(payload, "GOAWAY")
            return GoAway(last & MAX_STREAM_ID, status)
        if frame_type == ControlType.WINDOW_UPDATE:
            stream_id, delta = self._pair(payload, "WINDOW_UPDATE")
            if not 0 < delta & MAX_STREAM_ID:
                raise SpdyProtocolError("WINDOW_UPDATE with a zero delta")
            return WindowUpdate(stream_id & MAX_STREAM_ID, delta & MAX_STREAM_ID)
        return UnknownControlFrame(frame_type, flags, payload)

    @staticmethod
    def _pair(payload: bytes, name: str) -> tuple[int, int]:
        if len(payload) != 8:
            raise SpdyProtocolError(f"{name} payload of {len(payload)} bytes, not 8")
        first, second = _TWO_WORDS.unpack(payload)
        return first, second

    @staticmethod
    def _nonzero(stream_id: int, name: str) -> int:
        if stream_id == 0:
            raise SpdyProtocolError(f"{name} on stream 0")
        return stream_id
