"""The shim's attach hub: whatever an attached client sends, the shim keeps supervising its
container; input waits for the container instead of blocking the shim."""

from __future__ import annotations

import fcntl
import os
import select
import socket
import struct
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.shim.attach import CLOSE, MAX_FRAME, MAX_PENDING_INPUT, RESIZE, STDIN, AttachHub, frame
from runtime.shim.terminal import resize_request, window_size


class Hub:
    """An AttachHub over a pipe (or a terminal) with one connected client."""

    def __init__(self, directory: Path, terminal: bool = False) -> None:
        if terminal:
            self.master, self.slave = os.openpty()
            self.hub = AttachHub(str(directory), -1, False, -1)
            self.hub.use_terminal(self.master)
        else:
            self.read_end, self.write_end = os.pipe()
            self.hub = AttachHub(str(directory), self.write_end, False, -1)
        self.client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.client.connect(self.hub.path)
        self.hub.handle(self.hub.listener.fileno())
        [self.fd] = list(self.hub.clients)

    def send(self, data: bytes) -> None:
        self.client.sendall(data)
        for _ in range(len(data) // 65536 + 2):  # the hub reads at most 64 KiB at a time
            self.hub.handle(self.fd)

    def close(self) -> None:
        self.client.close()
        self.hub.close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(tmp_path)
    yield h
    h.close()
    os.close(h.read_end)


def read_some(fd: int) -> bytes:
    """What the pipe holds now; fails instead of waiting when it stays empty and open."""
    ready, _, _ = select.select([fd], [], [], 5.0)
    assert ready, "nothing to read within 5 s"
    return os.read(fd, 1 << 20)


def window_of(fd: int) -> tuple[int, int]:
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, bytes(8)))
    return cols, rows


def test_malformed_resizes_are_ignored_and_the_client_stays(tmp_path: Path) -> None:
    h = Hub(tmp_path, terminal=True)
    try:
        for payload in (b"not json", b"[80, 24]", b'{"Width": 70000}', b'{"Width": "wide"}', b"\xff", b""):
            h.send(frame(RESIZE, payload))
        assert h.fd in h.hub.clients
        h.send(frame(RESIZE, b'{"Width": 100, "Height": 40}'))
        assert window_of(h.slave) == (100, 40)
    finally:
        h.close()
        os.close(h.slave)


def test_a_frame_claiming_more_than_the_limit_drops_only_that_client(hub: Hub) -> None:
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.connect(hub.hub.path)
    hub.hub.handle(hub.hub.listener.fileno())
    hub.send(struct.pack(">BI", STDIN, MAX_FRAME + 1))
    assert hub.fd not in hub.hub.clients and len(hub.hub.clients) == 1
    other.close()


def test_input_the_container_does_not_read_waits_without_blocking_the_shim(hub: Hub) -> None:
    paste = b"x" * (3 * 65536 + 5)  # more than a pipe holds
    hub.send(frame(STDIN, paste))
    assert hub.hub.pending and hub.hub.wants_write() == [hub.write_end]
    received = read_some(hub.read_end)
    for _ in range(64):
        if not hub.hub.pending:
            break
        hub.hub.flush()
        received += read_some(hub.read_end)
    assert received == paste and hub.hub.wants_write() == []


def test_clients_are_not_read_while_input_is_backed_up(hub: Hub) -> None:
    hub.hub.pending.extend(b"y" * MAX_PENDING_INPUT)
    assert hub.hub.fds() == [hub.hub.listener.fileno()]
    hub.hub.pending.clear()
    assert hub.fd in hub.hub.fds()


def test_close_stdin_takes_effect_after_the_input_sent_before_it(hub: Hub) -> None:
    hub.send(frame(STDIN, b"z" * 100000) + frame(CLOSE, b""))
    received = b""
    for _ in range(64):
        chunk = read_some(hub.read_end)
        if not chunk:
            break
        received += chunk
        hub.hub.flush()
    assert received == b"z" * 100000 and hub.hub.stdin == -1


def test_a_long_message_travels_as_frames_within_the_limit() -> None:
    data = frame(STDIN, b"a" * (2 * MAX_FRAME + 1))
    lengths = []
    while data:
        _, length = struct.unpack_from(">BI", data)
        lengths.append(length)
        data = data[5 + length:]
    assert lengths == [MAX_FRAME, MAX_FRAME, 1]


@pytest.mark.parametrize(("message", "size"), [
    ({"Width": 80, "Height": 24}, (80, 24)),
    ({"Height": 24}, (0, 24)),
    ({"Width": True, "Height": 1}, None),
    ({"Width": -1, "Height": 1}, None),
    ({"Width": 65536, "Height": 1}, None),
    ([80, 24], None),
])
def test_window_sizes_are_unsigned_shorts_from_a_json_object(message: object, size: tuple[int, int] | None) -> None:
    assert window_size(message) == size


def test_a_resize_that_is_not_json_is_none() -> None:
    assert resize_request(b"\xff{") is None
