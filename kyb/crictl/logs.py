"""Reading container logs written in the CRI log format, the way `crictl logs` does.

A CRI runtime writes every chunk a container prints as one line of the file named by
``ContainerStatus.log_path``::

    2016-10-06T00:17:09.669794202Z stdout P first half of a long line
    2016-10-06T00:17:09.669794203Z stdout F second half and its end

``F`` (full) records end a line of the container's output; ``P`` (partial) records carry a piece
of a line that the runtime split (a long line, or output without a newline yet), so the reader
joins them and prints no newline after a ``P`` piece. The tag field may carry more tags after a
``:``; only the first one means anything today.

The reader is written against a byte stream and two sinks, so the command and the unit tests share
it: ``--tail N`` counts whole (logical) lines, ``--timestamps`` prefixes each logical line with the
time of its first piece in RFC3339 with nine fractional digits (the kubelet's fixed format), and
``--follow`` keeps reading until the container is no longer running, asking a callback (which calls
``ContainerStatus``) at most every ``state_check_interval`` seconds.
"""

from __future__ import annotations

import collections
import datetime
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

STREAMS = ("stdout", "stderr")

_TIMESTAMP = re.compile(
    rb"^(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?(?P<zone>Z|[+-]\d{2}:\d{2})$"
)


class LogFormatError(ValueError):
    """A line of a log file is not in the CRI log format; the message says which field is wrong."""


@dataclass(frozen=True)
class LogRecord:
    """One line of a CRI log file: when, which stream, whether it ends a line, and the bytes."""

    timestamp: bytes  # as written, e.g. b"2016-10-06T00:17:09.669794202Z"
    stream: str
    partial: bool
    content: bytes  # without the record's trailing newline

    @property
    def fixed_timestamp(self) -> str:
        """The timestamp with exactly nine fractional digits, as kubelet and crictl print it."""
        m = _TIMESTAMP.match(self.timestamp)
        assert m is not None  # parse_record validated it
        frac = (m.group("frac") or b"").ljust(9, b"0")
        return (m.group("base") + b"." + frac + m.group("zone")).decode()

    @property
    def epoch_ns(self) -> int:
        """Nanoseconds since the epoch, for --since comparisons."""
        m = _TIMESTAMP.match(self.timestamp)
        assert m is not None
        zone = m.group("zone").decode()
        base = datetime.datetime.fromisoformat(m.group("base").decode() + ("+00:00" if zone == "Z" else zone))
        frac = int((m.group("frac") or b"0").ljust(9, b"0"))
        return int(base.timestamp()) * 1_000_000_000 + frac


def parse_record(line: bytes) -> LogRecord:
    """Parse one line (with or without its trailing newline) of a CRI log file."""
    if line.endswith(b"\n"):
        line = line[:-1]
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        raise LogFormatError(f"not a CRI log line (want 'TIMESTAMP STREAM TAG CONTENT'): {line[:80]!r}")
    timestamp, stream, tags = parts[0], parts[1], parts[2]
    if not _TIMESTAMP.match(timestamp):
        raise LogFormatError(
            f"bad timestamp {timestamp[:40]!r}: want RFC3339 like 2024-01-02T03:04:05.123456789Z"
        )
    stream_name = stream.decode(errors="replace")
    if stream_name not in STREAMS:
        raise LogFormatError(f"bad stream {stream_name!r}: want stdout or stderr")
    tag = tags.split(b":", 1)[0]
    if tag not in (b"P", b"F"):
        raise LogFormatError(f"bad tag {tag.decode(errors='replace')!r}: want P (partial) or F (full)")
    content = parts[3] if len(parts) == 4 else b""
    return LogRecord(timestamp=timestamp, stream=stream_name, partial=tag == b"P", content=content)


@dataclass
class LogOptions:
    """What to print: crictl's --tail, --timestamps, --since, --limit-bytes, --stream and --follow."""

    tail: int = -1  # logical lines from the end; negative means all
    timestamps: bool = False
    since_ns: int = 0  # skip records older than this
    limit_bytes: int = -1  # stop after this many bytes; negative means no limit
    stream: str | None = None  # only this stream
    follow: bool = False
    poll_interval: float = 0.1
    state_check_interval: float = 0.5


class _LimitReached(Exception):
    pass


class LogWriter:
    """Turns records into the container's own output on two sinks, joining partial pieces."""

    def __init__(self, sinks: dict[str, BinaryIO | None], options: LogOptions) -> None:
        self._sinks = sinks
        self._options = options
        self._at_line_start = {name: True for name in STREAMS}
        self._remaining = options.limit_bytes if options.limit_bytes >= 0 else None

    def write(self, record: LogRecord) -> None:
        opts = self._options
        starts_line = self._at_line_start[record.stream]
        self._at_line_start[record.stream] = not record.partial
        if opts.since_ns and record.epoch_ns < opts.since_ns:
            return
        if opts.stream and record.stream != opts.stream:
            return
        sink = self._sinks.get(record.stream)
        if sink is None:
            return
        data = record.content if record.partial else record.content + b"\n"
        if opts.timestamps and starts_line:
            data = record.fixed_timestamp.encode() + b" " + data
        if self._remaining is not None:
            data = data[: self._remaining]
            self._remaining -= len(data)
        sink.write(data)
        sink.flush()
        if self._remaining is not None and self._remaining <= 0:
            raise _LimitReached()


def tail_offset(f: BinaryIO, lines: int, stream: str | None = None) -> int:
    """The offset where the last `lines` logical lines start (a P..P F run counts as one line, and
    so does a run of P records the stream ended on, as a runtime writes a line left unended).

    With `stream`, only that stream's lines count (crictl refuses --tail with --stream; counting
    the chosen stream is what a person asking for both means). Reads the file once from its
    start; a line that does not parse counts as one line, so a damaged file still tails.
    """
    f.seek(0)
    if lines < 0:
        return 0
    starts: collections.deque[int] = collections.deque(maxlen=max(lines, 1))
    offset = 0
    in_line = {name: False for name in STREAMS}
    current_start = {name: 0 for name in STREAMS}
    for raw in f:
        try:
            record = parse_record(raw)
            name, partial = record.stream, record.partial
        except LogFormatError:
            name, partial = "stdout", False
        if not in_line[name]:
            current_start[name] = offset
        in_line[name] = partial
        if not partial and raw.endswith(b"\n") and (stream is None or name == stream):
            starts.append(current_start[name])
        offset += len(raw)
    if lines == 0:
        return offset
    # A stream that closed mid-line ends in P records with no F: that last line counts too.
    unended = [current_start[name] for name, open_line in in_line.items() if open_line and stream in (None, name)]
    last = sorted([*starts, *unended])[-lines:]
    if len(last) < lines:
        return 0
    return last[0]


def read_logs(
    f: BinaryIO,
    sinks: dict[str, BinaryIO | None],
    options: LogOptions,
    is_running: Callable[[], bool] | None = None,
    on_bad_line: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    reopened: Callable[[BinaryIO], BinaryIO | None] | None = None,
) -> None:
    """Copy the log in `f` to `sinks`; with options.follow, keep going until is_running() is False.

    A half-written last line is left for the next read while following (the runtime is still
    writing it); without follow it is printed if it parses. While following, `reopened(f)` is
    asked at each state check whether the log was rotated (a new file at the path, as after
    ReopenContainerLog); if it returns a file, reading goes on from that file's start.
    """
    f.seek(tail_offset(f, options.tail, options.stream))
    writer = LogWriter(sinks, options)
    pending = b""
    last_check = clock()
    running = True
    try:
        while True:
            chunk = f.readline()
            if chunk:
                pending += chunk
                if not pending.endswith(b"\n"):
                    if not options.follow:
                        _emit(writer, pending, on_bad_line)
                        pending = b""
                    continue
                _emit(writer, pending, on_bad_line)
                pending = b""
                continue
            # At the end of what is written so far.
            if not options.follow or not running:
                if pending:
                    _emit(writer, pending, on_bad_line)
                return
            now = clock()
            if is_running is not None and now - last_check >= options.state_check_interval:
                last_check = now
                # One more pass after the container stopped picks up its last writes.
                running = is_running()
                fresh = reopened(f) if reopened is not None else None
                if fresh is not None:
                    f.close()
                    f = fresh
                    pending = b""
                continue
            sleep(options.poll_interval)
    except _LimitReached:
        return


def _emit(writer: LogWriter, line: bytes, on_bad_line: Callable[[str], None] | None) -> None:
    try:
        record = parse_record(line)
    except LogFormatError as e:
        if on_bad_line is not None:
            on_bad_line(str(e))
        return
    writer.write(record)


def open_log(path: str) -> BinaryIO:
    """Open a log file for reading, resolving symlinks (runtimes sometimes link rotated files)."""
    return open(os.path.realpath(path), "rb")


def reopen_if_rotated(path: str) -> Callable[[BinaryIO], BinaryIO | None]:
    """A `reopened` callback: a new file at `path` (another inode) means the log was rotated."""

    def check(current: BinaryIO) -> BinaryIO | None:
        try:
            if os.stat(os.path.realpath(path)).st_ino == os.fstat(current.fileno()).st_ino:
                return None
            return open_log(path)
        except OSError:
            return None  # mid-rotation: the new file is not there yet

    return check
