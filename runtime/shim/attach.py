"""Attach: the shim shares the container's live output with attached clients and feeds their
input to its stdin.

The shim listens on ``attach.sock`` in the container directory (bound relative to the shim's
cwd, so a long state path never hits the unix socket length limit; the daemon connects through
``/proc/self/fd/<dir fd>/attach.sock`` for the same reason). Messages both ways are frames:
one channel byte (0 stdin, 1 stdout, 2 stderr, 4 terminal resize as JSON, 255 close stdin), a
4-byte big-endian length, the payload. Output produced while nobody is attached only goes to
the log, as with containerd. With ``stdin_once`` the container's stdin closes when the first
attached client leaves.

The shim also copies the container's output, in the same loop, so input is never written with
a blocking write: a container that is not reading its stdin while its output pipe is full would
stall both for good. Input waits in a buffer until the container's stdin can take it
(``wants_write``/``flush``); while the buffer is full the hub stops reading its clients, so they
feel the container's pace. Nothing a client sends (a malformed resize, a frame claiming a huge
length, a burst of input) can stop the shim; at worst that client is dropped.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct

from runtime.shim.terminal import resize_request, set_window_size

SOCKET_NAME = "attach.sock"
STDIN, STDOUT, STDERR, RESIZE, CLOSE = 0, 1, 2, 4, 255
CHANNELS = {"stdout": STDOUT, "stderr": STDERR}
HEADER = struct.Struct(">BI")
MAX_FRAME = 1 << 20  # a longer message travels as several frames
MAX_PENDING_INPUT = 1 << 20  # input waiting for the container; beyond it, clients are not read


def frame(channel: int, payload: bytes) -> bytes:
    """``payload`` on ``channel``, as one frame or, beyond ``MAX_FRAME``, several in a row."""
    if len(payload) <= MAX_FRAME:
        return HEADER.pack(channel, len(payload)) + payload
    return b"".join(HEADER.pack(channel, len(payload[i:i + MAX_FRAME])) + payload[i:i + MAX_FRAME]
                    for i in range(0, len(payload), MAX_FRAME))


class AttachHub:
    def __init__(self, directory: str, stdin: int, stdin_once: bool, terminal: int) -> None:
        self.stdin = -1
        self.stdin_once = stdin_once
        self.terminal = terminal
        self.pending = bytearray()
        self.close_when_flushed = False
        self._set_stdin(stdin)
        self.clients: dict[int, tuple[socket.socket, bytearray]] = {}
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        cwd = os.open(".", os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.chdir(directory)
            # A socket file left by a shim that was killed (one that prepared this container at
            # create and died before its start) would make the bind fail; one container, one shim.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(SOCKET_NAME)
            self.listener.bind(SOCKET_NAME)
        finally:
            os.fchdir(cwd)
            os.close(cwd)
        self.path = os.path.join(directory, SOCKET_NAME)
        self.listener.listen(8)
        self.had_client = False

    def _set_stdin(self, fd: int) -> None:
        if fd >= 0:
            os.set_blocking(fd, False)
        self.stdin = fd

    def use_terminal(self, terminal: int) -> None:
        """The container's terminal, which arrives after the hub is made: input and resizes go there."""
        self.terminal = terminal
        self._set_stdin(terminal)

    def fds(self) -> list[int]:
        """What to read: the listener, and the clients unless input is already backed up."""
        if len(self.pending) >= MAX_PENDING_INPUT:
            return [self.listener.fileno()]
        return [self.listener.fileno(), *self.clients]

    def wants_write(self) -> list[int]:
        """The container's stdin, while input waits for it."""
        return [self.stdin] if self.pending and self.stdin >= 0 else []

    def flush(self) -> None:
        """Write what the container's stdin takes now; never blocks."""
        while self.pending and self.stdin >= 0:
            try:
                written = os.write(self.stdin, self.pending[:65536])
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EPIPE: the container closed its stdin; what waits is lost, as with a pipe
                self.pending.clear()
                break
            del self.pending[:written]
        if self.close_when_flushed and not self.pending:
            self.close_stdin()

    def handle(self, fd: int) -> None:
        if fd == self.listener.fileno():
            try:
                conn, _ = self.listener.accept()
            except OSError:  # out of descriptors, or the client gave up: keep serving the rest
                return
            conn.setblocking(False)
            self.clients[conn.fileno()] = (conn, bytearray())
            self.had_client = True
            return
        if fd not in self.clients:
            return  # dropped earlier in this round
        conn, buffer = self.clients[fd]
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(fd)
            return
        buffer.extend(data)
        while len(buffer) >= HEADER.size:
            channel, length = HEADER.unpack_from(buffer)
            if length > MAX_FRAME:
                self._drop(fd)  # not a client of ours: its frames would only grow our memory
                return
            if len(buffer) < HEADER.size + length:
                break
            payload = bytes(buffer[HEADER.size : HEADER.size + length])
            del buffer[: HEADER.size + length]
            self._input(channel, payload)

    def _input(self, channel: int, payload: bytes) -> None:
        if channel == STDIN and self.stdin >= 0 and not self.close_when_flushed:
            self.pending.extend(payload)
            self.flush()
        elif channel == RESIZE and self.terminal >= 0:
            size = resize_request(payload)
            if size is not None:
                with contextlib.suppress(OSError):
                    set_window_size(self.terminal, *size)
        elif channel == CLOSE and self.terminal < 0:
            self.close_when_flushed = True  # after the input sent before it
            self.flush()

    def close_stdin(self) -> None:
        if self.stdin >= 0 and self.terminal < 0:
            os.close(self.stdin)
        self.stdin = -1
        self.pending.clear()

    def _drop(self, fd: int) -> None:
        conn, _ = self.clients.pop(fd)
        conn.close()
        if self.stdin_once:
            self.close_when_flushed = True
            self.flush()

    def broadcast(self, stream: str, data: bytes) -> None:
        message = frame(CHANNELS[stream], data)
        for fd, (conn, _) in list(self.clients.items()):
            try:
                conn.setblocking(True)
                conn.settimeout(1.0)  # a stuck client must not stall the container's output
                conn.sendall(message)
                conn.setblocking(False)
            except OSError:
                self._drop(fd)

    def close(self) -> None:
        for fd in list(self.clients):
            conn, _ = self.clients.pop(fd)
            conn.close()
        self.listener.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
