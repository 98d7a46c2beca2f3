"""The ends a shim keeps for its container's first process: with a prepared process, the pipes
made ahead trimmed to what the request needs, and the one extra descriptor (a terminal's
socket or a stdin pipe) sent over the control socket, which the process expects from the same
request."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.shim.container import ShimEnds, _prepared_ends
from runtime.shim.container_init import InitEnds, NamespaceGone, enter_namespaces
from runtime.shim.prepared_init import AheadPipes, PreparedInit


class Prepared:
    """A prepared process's handle without the process (the test plays its side of the
    socket); closes, afterwards, exactly the descriptors the code under test left open."""

    def __init__(self) -> None:
        self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pipes = AheadPipes()
        self.handle = PreparedInit(-1, self.ours, self.pipes)
        self.left_open: list[int] = [self.pipes.devnull, *self.pipes.process_side()]

    def shim_ends(self, tty: bool, stdin: bool, prestart: bool, cgroup: bool) -> ShimEnds:
        ends = _prepared_ends(self.handle, tty, stdin, prestart, cgroup)
        readers, stdin_w, _terminal, errpipe_r, creds_r, go_w, cgroup_w = ends
        self.left_open += [fd for fd in (*readers, stdin_w, errpipe_r, creds_r, go_w, cgroup_w) if fd >= 0]
        return ends

    def close(self) -> None:
        self.theirs.close()
        self.ours.close()
        for fd in self.left_open:
            os.close(fd)


@pytest.fixture
def prepared() -> Iterator[Prepared]:
    p = Prepared()
    yield p
    p.close()


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def extra_sent(theirs: socket.socket) -> tuple[bytes, list[int]]:
    kind, fds, _flags, _addr = socket.recv_fds(theirs, 16, 1)
    return kind, fds


def test_a_plain_start_keeps_stdout_and_stderr_and_sends_nothing_more(prepared: Prepared) -> None:
    readers, stdin_w, terminal, errpipe_r, creds_r, go_w, cgroup_w = prepared.shim_ends(False, False, True, True)
    pipes = prepared.pipes
    assert readers == {pipes.out_r: "stdout", pipes.err_r: "stderr"}
    assert (stdin_w, terminal) == (-1, None)
    assert (errpipe_r, creds_r, go_w, cgroup_w) == (pipes.errpipe_r, pipes.creds_r, pipes.go_w, pipes.cgroup_w)
    assert extra_sent(prepared.theirs) == (b"", [])  # released: end of file


def test_a_start_without_go_or_cgroup_wait_closes_those_pipes(prepared: Prepared) -> None:
    *_, go_w, cgroup_w = prepared.shim_ends(False, False, False, False)
    assert (go_w, cgroup_w) == (-1, -1)
    assert not is_open(prepared.pipes.go_w) and not is_open(prepared.pipes.cgroup_w)


def test_a_terminal_start_sends_the_terminal_socket_and_drops_the_output_pipes(prepared: Prepared) -> None:
    out_r, err_r = prepared.pipes.out_r, prepared.pipes.err_r
    readers, stdin_w, terminal, *_ = prepared.shim_ends(True, True, True, True)
    assert readers == {} and stdin_w == -1 and terminal is not None
    assert not is_open(out_r) and not is_open(err_r)
    kind, fds = extra_sent(prepared.theirs)
    try:
        assert kind == b"tty" and len(fds) == 1 and stat.S_ISSOCK(os.fstat(fds[0]).st_mode)
    finally:
        for fd in fds:
            os.close(fd)
        terminal.close()


def test_a_stdin_start_sends_the_read_end_of_a_new_stdin_pipe(prepared: Prepared) -> None:
    _readers, stdin_w, *_ = prepared.shim_ends(False, True, True, True)
    kind, fds = extra_sent(prepared.theirs)
    try:
        assert kind == b"stdin" and len(fds) == 1
        os.write(stdin_w, b"typed")
        assert os.read(fds[0], 16) == b"typed"
    finally:
        for fd in fds:
            os.close(fd)


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


def test_joining_a_namespace_whose_holder_is_gone_names_it_and_leaves_no_descriptor_open(tmp_path: Path) -> None:
    present = tmp_path / "ipc"
    present.write_text("")
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(NamespaceGone, match="cannot join the net namespace at /proc/999999999/ns/net: the process"):
        enter_namespaces(None, {"ipc": str(present), "net": "/proc/999999999/ns/net"}, ("ipc", "net"))  # type: ignore[arg-type]
    assert set(os.listdir("/proc/self/fd")) == before
