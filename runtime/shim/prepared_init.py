"""A container's first process forked ahead of its start, waiting in a fresh pid namespace.

Forking a whole Python interpreter costs about 1.5 ms on the start path: the page tables are
copied, then both sides take copy-on-write faults as they run. Most containers get a pid
namespace of their own, so the fork server's start spare pays that while it is idle: it makes
the pipes every start needs (``AheadPipes``), unshares a new pid namespace and forks the child
that will be PID 1 of the next such container, which inherits its ends of those pipes, resets
its signals and starts a session of its own meanwhile. When the start request comes, the spare
(now the shim) passes it on as it came, before reading it itself: the child reads the same
request and goes on exactly as a freshly forked one would. Only a terminal or a stdin pipe,
which few containers ask for, is made once the request is read, and follows on the same
socketpair.

An idle prepared child dies with its spare (PR_SET_PDEATHSIG); once handed a container it clears
that, because a container outlives its shim. A spare that unshared its pid namespace can fork
nothing else once that child is gone (the namespace's init has exited), so a prepared spare only
ever serves one container start whose pid namespace is new; the fork server routes accordingly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Callable
from typing import NoReturn

from runtime.forkserver_protocol import MAX_MESSAGE  # the request, spec included, is passed on whole
from runtime.linux.syscalls import CLONE_NEWPID, PR_SET_PDEATHSIG, Kernel
from runtime.shim.process import report_failure, reset_signals


class AheadPipes:
    """The pipes any start needs, made before the shim and its process exist. The process's
    ends: stdout and stderr (write), the close-on-exec error pipe, the credentials pipe (write),
    the go and cgroup pipes (read); the shim keeps the other ends, and both share /dev/null. A
    start that needs no go or cgroup pipe closes it on both sides (see ``InitEnds``)."""

    def __init__(self) -> None:
        self.devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self.out_r, self.out_w = os.pipe()
        self.err_r, self.err_w = os.pipe()
        self.errpipe_r, self.errpipe_w = os.pipe()
        self.creds_r, self.creds_w = os.pipe()
        self.go_r, self.go_w = os.pipe()
        self.cgroup_r, self.cgroup_w = os.pipe()

    def process_side(self) -> tuple[int, ...]:
        return self.out_w, self.err_w, self.errpipe_w, self.creds_w, self.go_r, self.cgroup_r

    def shim_side(self) -> tuple[int, ...]:
        return self.out_r, self.err_r, self.errpipe_r, self.creds_r, self.go_w, self.cgroup_w


class PreparedInitGone(Exception):
    """The prepared child died before it was handed a container (someone killed it)."""


class PreparedInit:
    """The spare's handle on its prepared child."""

    def __init__(self, pid: int, control: socket.socket, pipes: AheadPipes) -> None:
        self.pid = pid
        self.control = control
        self.pipes = pipes  # the child's ends are closed here; the shim's are the shim's

    def hand_over(self, request: bytes) -> None:
        """Give the child its request (JSON, as the spare received it: neither read nor
        encoded again here)."""
        try:
            self.control.send(request)
        except OSError as e:
            raise PreparedInitGone(f"the prepared container process {self.pid} is gone: {e}") from e

    def send_extra(self, kind: bytes, fd: int) -> None:
        """The one descriptor the request asks for beyond the ``AheadPipes``: the terminal's
        socket or the stdin pipe's read end. A child gone meanwhile reports through its pipes."""
        with contextlib.suppress(OSError):
            socket.send_fds(self.control, [kind], [fd])

    def release(self) -> None:
        """All sent: the child is on its own."""
        self.control.close()

    def discard(self) -> None:
        self.control.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


ChildMain = Callable[[Kernel, bytes, socket.socket, AheadPipes], NoReturn]


def prepare(kernel: Kernel, child_main: ChildMain, parents_only: tuple[socket.socket, ...] = ()) -> PreparedInit:
    """Make the pipes, unshare a pid namespace for our children and fork the one that will be
    its PID 1.

    ``child_main(kernel, request, control, pipes)`` runs in the child once it is handed a
    container (``control`` brings an extra descriptor, if the request asks for one); the child
    exits quietly if its control socket closes first. ``parents_only``: sockets the child
    closes at once (the spare's listener: no container process may hold it)."""
    pipes = AheadPipes()
    try:
        kernel.unshare(CLONE_NEWPID)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
    except BaseException:
        for fd in (pipes.devnull, *pipes.process_side(), *pipes.shim_side()):
            os.close(fd)
        raise
    if pid == 0:
        ours.close()
        for sock in parents_only:
            sock.close()
        for fd in pipes.shim_side():
            os.close(fd)
        _wait_for_container(kernel, theirs, child_main, pipes)
    theirs.close()
    for fd in pipes.process_side():
        os.close(fd)
    return PreparedInit(pid, ours, pipes)


def _wait_for_container(kernel: Kernel, control: socket.socket, child_main: ChildMain,
                        pipes: AheadPipes) -> NoReturn:
    try:
        # getppid() is 0 here (the parent is outside our pid namespace), so a parent that died
        # before the prctl shows as end-of-file on the control socket, which it alone holds.
        kernel.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        reset_signals()  # what a freshly forked container process would do first
        os.setsid()
        message = control.recv(MAX_MESSAGE)
    except BaseException:  # noqa: B036 - an idle child that cannot serve just goes
        os._exit(1)
    if not message:
        os._exit(0)
    try:
        kernel.prctl(PR_SET_PDEATHSIG, 0)
    except BaseException as e:  # noqa: B036 - the shim waits on the error pipe: tell it
        report_failure(pipes.errpipe_w, e)
    child_main(kernel, message, control, pipes)
