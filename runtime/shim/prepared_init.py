"""A container's first process forked ahead of its start, waiting in a fresh pid namespace.

Forking a whole Python interpreter costs about 1.5 ms on the start path: the page tables are
copied, then both sides take copy-on-write faults as they run. Most containers get a pid
namespace of their own, so the fork server's start spare pays that while it is idle: it unshares
a new pid namespace and forks the child that will be PID 1 of the next such container, which
resets its signals and starts a session of its own meanwhile. When the start request comes,
the spare (now the shim) passes the child the request as it came and its ends of the pipes
they share (``runtime.shim.container_init.InitEnds``) over a socketpair, and the child carries
on exactly as a freshly forked one would.

An idle prepared child dies with its spare (PR_SET_PDEATHSIG); once handed a container it clears
that, because a container outlives its shim. A spare that unshared its pid namespace can fork
nothing else once that child is gone (the namespace's init has exited), so a prepared spare only
ever serves one container start whose pid namespace is new; the fork server routes accordingly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
from collections.abc import Callable
from typing import NoReturn

from runtime.forkserver_protocol import MAX_MESSAGE  # the request, spec included, is passed on whole
from runtime.linux.syscalls import CLONE_NEWPID, PR_SET_PDEATHSIG, Kernel
from runtime.shim.process import report_failure, reset_signals

MAX_FDS = 8


class PreparedInitGone(Exception):
    """The prepared child died before it was handed a container (someone killed it)."""


class PreparedInit:
    """The spare's handle on its prepared child."""

    def __init__(self, pid: int, control: socket.socket) -> None:
        self.pid = pid
        self.control = control

    def hand_over(self, request: bytes, fds: list[int]) -> None:
        """Give the child its request (JSON, as the spare received it: not encoded again) and
        its descriptors: stdin, stdout, stderr, the exec-error pipe, the credentials pipe, then
        the ones the request implies (see ``InitEnds``)."""
        try:
            socket.send_fds(self.control, [request], fds)
        except OSError as e:
            raise PreparedInitGone(f"the prepared container process {self.pid} is gone: {e}") from e
        finally:
            self.control.close()

    def discard(self) -> None:
        self.control.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


ChildMain = Callable[[Kernel, dict, list[int]], NoReturn]


def prepare(kernel: Kernel, child_main: ChildMain, parents_only: tuple[socket.socket, ...] = ()) -> PreparedInit:
    """Unshare a pid namespace for our children and fork the one that will be its PID 1.

    ``child_main(kernel, request, fds)`` runs in the child once it is handed a container;
    the child exits quietly if its control socket closes first. ``parents_only``: sockets the
    child closes at once (the spare's listener: no container process may hold it)."""
    kernel.unshare(CLONE_NEWPID)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        ours.close()
        for sock in parents_only:
            sock.close()
        _wait_for_container(kernel, theirs, child_main)
    theirs.close()
    return PreparedInit(pid, ours)


def _wait_for_container(kernel: Kernel, control: socket.socket, child_main: ChildMain) -> NoReturn:
    try:
        # getppid() is 0 here (the parent is outside our pid namespace), so a parent that died
        # before the prctl shows as end-of-file on the control socket, which it alone holds.
        kernel.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        reset_signals()  # what a freshly forked container process would do first
        os.setsid()
        message, fds, _flags, _addr = socket.recv_fds(control, MAX_MESSAGE, MAX_FDS)
        control.close()
    except BaseException:  # noqa: B036 - an idle child that cannot serve just goes
        os._exit(1)
    if not message or len(fds) < 5:
        os._exit(0)
    for fd in fds:  # received descriptors are inheritable; the error pipe must close on exec
        os.set_inheritable(fd, False)
    try:
        kernel.prctl(PR_SET_PDEATHSIG, 0)
        request = json.loads(message)
    except BaseException as e:  # noqa: B036 - the shim waits on the error pipe: tell it
        report_failure(fds[3], e)
    child_main(kernel, request, fds)
