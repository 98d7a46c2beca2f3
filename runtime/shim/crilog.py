"""The CRI container log format, as the kubelet reads it.

Each line is ``<RFC3339Nano UTC timestamp> <stdout|stderr> <F|P> <content>\\n``. A line longer
than the buffer limit (16 KiB, containerd's default) is cut into ``P`` (partial) records followed
by a final ``F`` record; text still unterminated when the stream closes is flushed as ``F``.
Timestamps always carry nine fractional digits. The file can be reopened in place (after the
kubelet rotated it) with ``reopen``.
"""

from __future__ import annotations

import os
import time

MAX_LINE = 16 * 1024


def timestamp(ns: int | None = None) -> str:
    ns = time.time_ns() if ns is None else ns
    seconds, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


class CriLogWriter:
    """Turns raw stdout/stderr bytes into CRI log records in one file (or nowhere)."""

    def __init__(self, path: str, max_line: int = MAX_LINE) -> None:
        self.path = path
        self.max_line = max_line
        self._buffers: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._fd = -1
        self.dropped = 0
        self.reopen()

    def reopen(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self.path:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)

    def _emit(self, stream: str, tag: str, content: bytes) -> None:
        if self._fd < 0:
            return
        record = f"{timestamp()} {stream} {tag} ".encode() + content + b"\n"
        try:
            os.write(self._fd, record)
        except OSError:
            self.dropped += 1  # a full disk must not kill the shim and orphan the container

    def write(self, stream: str, data: bytes) -> None:
        buffer = self._buffers[stream] + data
        while True:
            newline = buffer.find(b"\n")
            end = len(buffer) if newline == -1 else newline - (newline > 0 and buffer[newline - 1] == 0x0D)
            if end > self.max_line:
                self._emit(stream, "P", buffer[: self.max_line])
                buffer = buffer[self.max_line :]
                continue
            if newline == -1:
                break
            self._emit(stream, "F", buffer[:end])
            buffer = buffer[newline + 1 :]
        self._buffers[stream] = buffer

    def close_stream(self, stream: str) -> None:
        """The stream hit EOF: whatever is left is a line the container never ended (P)."""
        if self._buffers[stream]:
            self._emit(stream, "P", self._buffers[stream])
            self._buffers[stream] = b""

    def close(self) -> None:
        for stream in self._buffers:
            self.close_stream(stream)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
