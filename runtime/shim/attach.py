"""Attach: the shim shares the container's live output with attached clients and feeds their
input to its stdin.

The shim listens on ``attach.sock`` in the container directory (bound relative to the shim's
cwd, so a long state path never hits the unix socket length limit; the daemon connects through
``/proc/self/fd/<dir fd>/attach.sock`` for the same reason). Messages both ways are frames:
one channel byte (0 stdin, 1 stdout, 2 stderr, 4 terminal resize as JSON, 255 close stdin), a
4-byte big-endian length, the payload. Output produced while nobody is attached only goes to
the log, as with containerd. With ``stdin_once`` the container's stdin closes when the first
attached client leaves.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import struct
import termios

SOCKET_NAME = "attach.sock"
STDIN, STDOUT, STDERR, RESIZE, CLOSE = 0, 1, 2, 4, 255
CHANNELS = {"stdout": STDOUT, "stderr": STDERR}
HEADER = struct.Struct(">BI")


def frame(channel: int, payload: bytes) -> bytes:
    return HEADER.pack(channel, len(payload)) + payload


class AttachHub:
    def __init__(self, directory: str, stdin: int, stdin_once: bool, terminal: int) -> None:
        self.stdin = stdin
        self.stdin_once = stdin_once
        self.terminal = terminal
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

    def use_terminal(self, terminal: int) -> None:
        """The container's terminal, which arrives after the hub is made: input and resizes go there."""
        self.stdin = self.terminal = terminal

    def fds(self) -> list[int]:
        return [self.listener.fileno(), *self.clients]

    def handle(self, fd: int) -> None:
        if fd == self.listener.fileno():
            conn, _ = self.listener.accept()
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
            if len(buffer) < HEADER.size + length:
                break
            payload = bytes(buffer[HEADER.size : HEADER.size + length])
            del buffer[: HEADER.size + length]
            self._input(channel, payload)

    def _input(self, channel: int, payload: bytes) -> None:
        if channel == STDIN and self.stdin >= 0:
            try:
                os.write(self.stdin, payload)
            except OSError:
                pass
        elif channel == RESIZE and self.terminal >= 0:
            size = json.loads(payload or b"{}")
            fcntl.ioctl(self.terminal, termios.TIOCSWINSZ,
                        struct.pack("HHHH", size.get("Height", 24), size.get("Width", 80), 0, 0))
        elif channel == CLOSE and self.terminal < 0:
            self.close_stdin()

    def close_stdin(self) -> None:
        if self.stdin >= 0 and self.terminal < 0:
            os.close(self.stdin)
        self.stdin = -1

    def _drop(self, fd: int) -> None:
        conn, _ = self.clients.pop(fd)
        conn.close()
        if self.stdin_once:
            self.close_stdin()

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
