"""The descriptors a container's first process shares with its shim travel as a list over a
socket; both sides must agree which optional ones are in it from the request alone."""

from __future__ import annotations

import itertools
import os
import socket

import pytest

from runtime.shim.container_init import InitEnds


@pytest.mark.parametrize(("go", "cgroup", "terminal"), list(itertools.product([False, True], repeat=3)))
def test_the_ends_read_back_are_the_ends_sent(go: bool, cgroup: bool, terminal: bool) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) if terminal else None
    try:
        sent = InitEnds((10, 11, 12), 13, 14, go=20 if go else -1, cgroup=21 if cgroup else -1, terminal=sock)
        received = InitEnds.received(sent.fds(), go, cgroup, terminal)
        assert (received.stdio, received.errpipe, received.creds, received.go, received.cgroup) == (
            (10, 11, 12), 13, 14, sent.go, sent.cgroup)
        assert (received.terminal.fileno() if received.terminal else None) == (sock.fileno() if sock else None)
        if received.terminal is not None:
            received.terminal.detach()  # the same descriptor as sock: closed once, below
    finally:
        if sock is not None:
            sock.close()


def test_closing_in_the_shim_keeps_the_shared_dev_null() -> None:
    null = os.open("/dev/null", os.O_RDWR)
    out_r, out_w = os.pipe()
    errpipe_r, errpipe_w = os.pipe()
    creds_r, creds_w = os.pipe()
    InitEnds((null, out_w, null), errpipe_w, creds_w).close(keep=null)
    try:
        os.fstat(null)  # still open
        for closed in (out_w, errpipe_w, creds_w):
            with pytest.raises(OSError):
                os.fstat(closed)
    finally:
        for fd in (null, out_r, errpipe_r, creds_r):
            os.close(fd)
