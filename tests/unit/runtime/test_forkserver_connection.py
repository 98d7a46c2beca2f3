"""How the daemon's end of a fork-server conversation reports a child that went away: always as
ForkServerError, which callers treat as "no prestart" or "start afresh", never as a raw OSError."""

from __future__ import annotations

import socket

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
