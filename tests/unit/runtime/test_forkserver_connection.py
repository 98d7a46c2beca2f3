"""How the daemon's end of a fork-server conversation reports a child that went away: always as
ForkServerError, which callers treat as "no prestart" or "start afresh", never as a raw OSError."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from runtime.forkserver_client import ForkServerConnection, ForkServerError, UnreadByChild


def connected_pair() -> tuple[ForkServerConnection, socket.socket]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    return ForkServerConnection(ours), theirs


def test_a_child_that_died_with_our_message_unread_says_so() -> None:
    connection, child = connected_pair()
    connection.send({"cgroup": True})
    child.close()  # dies without reading it: the kernel answers our next read with ECONNRESET
    with pytest.raises(UnreadByChild):
        connection.receive(1.0)
    connection.close()


def test_a_child_that_exited_without_answering_is_a_fork_server_error() -> None:
    connection, child = connected_pair()
    child.close()
    with pytest.raises(ForkServerError, match="without answering") as raised:
        connection.receive(1.0)
    assert not isinstance(raised.value, UnreadByChild)
    connection.close()


def test_a_malformed_answer_is_a_fork_server_error() -> None:
    connection, child = connected_pair()
    child.send(b"{not json")
    with pytest.raises(ForkServerError, match="malformed"):
        connection.receive(1.0)
    connection.close()
    child.close()


def test_no_answer_in_time_is_a_fork_server_error() -> None:
    connection, child = connected_pair()
    with pytest.raises(ForkServerError, match="in time"):
        connection.receive(0.05)
    connection.close()
    child.close()


def test_the_fork_server_gets_a_bare_environment_not_the_daemons() -> None:
    from runtime.forkserver_client import server_environment

    env = server_environment({"PATH": "/home/me/bin:/usr/bin", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "PYTHONPATH": "/src",
                              "HTTPS_PROXY": "http://user:pw@proxy"})
    assert env == {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": "/src"}


def test_calling_a_child_off_tells_it_and_returns_once_it_has_gone() -> None:
    connection, child = connected_pair()
    child.send(json.dumps({"ready": True}).encode())  # what it said meanwhile is read and dropped

    def child_side() -> None:
        assert child.recv(4096) == b""  # told: end of file
        time.sleep(0.05)  # its clean-up
        child.close()

    worker = threading.Thread(target=child_side)
    worker.start()
    started = time.monotonic()
    connection.call_off(5.0)
    worker.join(5)
    assert 0.04 <= time.monotonic() - started < 4.0
    assert connection.sock.fileno() == -1  # closed


def test_calling_off_a_child_that_never_goes_gives_up_after_the_timeout() -> None:
    connection, child = connected_pair()
    started = time.monotonic()
    connection.call_off(0.2)
    assert 0.2 <= time.monotonic() - started < 2.0
    child.close()
