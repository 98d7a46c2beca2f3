"""The single-threaded process that forks holders, shims and exec helpers for the daemon.

The gRPC daemon is multi-threaded, and forking a multi-threaded process leaves locks held by
threads that do not exist in the child; ``setns`` into a mount namespace even refuses a
multi-threaded caller. So the daemon starts this server once (a fresh interpreter via
``python -m runtime.forkserver``, importing only what the forked children need) and sends it
requests over a SOCK_SEQPACKET unix socket: one connection per request, a JSON message plus
file descriptors (exec stdio) passed with SCM_RIGHTS. Each request is served by a child forked
for it, which owns the connection and answers on it, so a slow container start never blocks the
next one. The children are forked ahead (spares): a spare waits in accept() on one of the
server's two listening sockets, takes the next connection itself, tells the server so over its
socketpair and serves the request, while the server forks the next spare; so neither the fork
(copying a whole interpreter's page tables) nor a relay through the server is paid inside a
start. The spare of the second socket (``runtime.forkserver_protocol``) also prepares the first
process of the next container that gets a pid namespace of its own
(``runtime.shim.prepared_init``), and that socket takes only such starts. While a socket has
no spare (a fork failed) the server accepts on it and forks for each request. An idle spare
dies with the server; once it has a request it lives on as a shim or holder would.

Requests: ``{"op": "sandbox", ...}`` -> holder pid; ``{"op": "start", "container_dir": ...,
"pid_mode": ...}`` -> container pid, or an error (with ``"retry": true`` when only the prepared
process failed: asked again with ``"prepared": false`` it is forked afresh); ``{"op":
"prestart", ...}`` the same, prepared at CreateContainer up to the exec (see
``runtime.container.prestart``); ``{"op": "exec", ...}`` -> pid, then exit code. The server dies with
the daemon (PR_SET_PDEATHSIG); the shims and holders it forked do not. While it lives it is
their subreaper, so their exits are reaped even where PID 1 does not reap orphans.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys
import time

from runtime.forkserver_protocol import MAX_MESSAGE, prepared_socket, takes_prepared
from runtime.linux.syscalls import (
    PR_SET_CHILD_SUBREAPER,
    PR_SET_PDEATHSIG,
    LibcKernel,
    last_capability,
    set_process_name,
)
from runtime.shim.container import run_shim
from runtime.shim.container_init import prepared_container_main
from runtime.shim.exec import run_exec
from runtime.shim.holder import spawn_holder
from runtime.shim.prepared_init import PreparedInit, PreparedInitGone, prepare
from runtime.shim.rootfs import has_kcore

MAX_FDS = 8
SPARE_RETRY_MAX = 5.0  # seconds between attempts to fork a spare that keeps failing


class RequestRefused(Exception):
    """A request this process cannot serve; the client hears it as an error."""


def _reap_children() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _handle(kernel: LibcKernel, conn: socket.socket, request: dict, fds: list[int],
            prepared: PreparedInit | None = None) -> None:
    """Runs in the forked child. Never returns."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server's reaper must not steal our children
    op = request.get("op")
    try:
        if prepared is not None and not takes_prepared(request):
            prepared.discard()
            raise RequestRefused(f"a prepared spare was handed a {op!r} request")
        if op == "exec":
            os.setsid()
            run_exec(kernel, conn, request, fds)
        os.setsid()
        if op in ("start", "prestart"):
            # No double fork: we are the shim's parent and, as subreaper, stay its reaper; if
            # the server dies the shim is simply reparented and keeps running.
            run_shim(kernel, conn, request, prepared)
        if op == "sandbox":
            pid = spawn_holder(kernel, request)
            conn.send(json.dumps({"pid": pid}).encode())
            os._exit(0)
        conn.send(json.dumps({"error": f"unknown fork server request {op!r}"}).encode())
    except BaseException as e:  # noqa: B036 - the daemon must hear about every failure
        try:
            # The kind lets the daemon tell a config the kernel refused from its own failure.
            conn.send(json.dumps({"error": f"{type(e).__name__}: {e}", "kind": type(e).__name__}).encode())
        except OSError:
            pass
    os._exit(1)


Spare = tuple[int, socket.socket]  # pid, the server's end of its socketpair


def _fork_spare(kernel: LibcKernel, listener: socket.socket, with_init: bool,
                parents_only: list[socket.socket]) -> Spare | None:
    """Fork the child that will take the next connection on ``listener``; None if fork fails.
    ``with_init``: it also prepares the first process of the next container that gets a pid
    namespace of its own. ``parents_only``: the server's other sockets, closed in the child."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return None
    if pid == 0:
        ours.close()
        for sock in parents_only:
            sock.close()
        _wait_as_spare(kernel, listener, theirs, server, with_init)
    theirs.close()
    return pid, ours


def _receive_message(conn: socket.socket) -> tuple[bytes, list[int]]:
    """The request as received, and the descriptors passed with it."""
    message, fds, _flags, _addr = socket.recv_fds(conn, MAX_MESSAGE, MAX_FDS)
    if not message:
        raise ValueError("the client closed the connection without a request")
    return message, fds


def _wait_as_spare(kernel: LibcKernel, listener: socket.socket, control: socket.socket, server: int,
                   with_init: bool) -> None:
    """Runs in the spare child: take the next connection, tell the server, serve it. Never returns."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    prepared = None
    try:
        kernel.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # idle, it dies with the server
        if os.getppid() != server:
            os._exit(0)
        if with_init:
            prepared = prepare(kernel, prepared_container_main, parents_only=(listener, control))
        conn, _ = listener.accept()
        listener.close()
        control.send(b"taken")  # the server forks the next spare now
        control.close()
        kernel.prctl(PR_SET_PDEATHSIG, 0)  # what it starts must outlive the server
        message, fds = _receive_message(conn)
    except BaseException:  # noqa: B036 - a spare that cannot serve just goes; the server forks another
        os._exit(1)
    if prepared is not None:
        # Before reading it ourselves: the prepared process reads it too, on the other CPU.
        try:
            prepared.hand_over(message)
        except PreparedInitGone as e:
            prepared.discard()
            with contextlib.suppress(OSError):
                conn.send(json.dumps({"error": str(e), "retry": True}).encode())
            os._exit(1)
    try:
        request = json.loads(message)
    except ValueError as e:
        with contextlib.suppress(OSError):
            conn.send(json.dumps({"error": f"the fork server request is not JSON: {e}"}).encode())
        if prepared is not None:
            prepared.discard()
        os._exit(1)
    _handle(kernel, conn, request, fds, prepared)


def _serve_directly(kernel: LibcKernel, listener: socket.socket, parents_only: list[socket.socket]) -> None:
    """Take one connection and fork a child for it: the path when a socket has no spare."""
    conn, _ = listener.accept()
    try:
        message, fds = _receive_message(conn)
    except (OSError, ValueError):
        conn.close()
        return
    try:
        request = json.loads(message)
    except ValueError:
        conn.close()
        for fd in fds:
            os.close(fd)
        return
    try:
        pid = os.fork()
    except OSError as e:
        with contextlib.suppress(OSError):
            conn.send(json.dumps({"error": f"the fork server cannot fork: {e}"}).encode())
        pid = -1
    if pid == 0:
        for sock in parents_only:
            sock.close()
        _handle(kernel, conn, request, fds)
    conn.close()
    for fd in fds:
        os.close(fd)


def _listen(socket_path: str) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # Bound relative to its directory: a long runtime root must not hit the 108-byte limit.
    os.chdir(os.path.dirname(socket_path) or ".")
    listener.bind(os.path.basename(socket_path))
    os.chdir("/")
    os.chmod(socket_path, 0o600)
    listener.listen(128)
    # Blocking, and never switched: O_NONBLOCK belongs to the descriptor all spares share. The
    # server accepts only once select says a connection waits; a spare blocks in accept().
    return listener


def serve(socket_path: str) -> None:
    kernel = LibcKernel()
    kernel.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        return
    # Holders and shims are double-forked; as subreaper we become their parent and reap them,
    # whatever the machine's init does with orphans.
    kernel.prctl(PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGCHLD, lambda *_: _reap_children())
    set_process_name(kernel, "kyb-forkserver")
    # False: any request; True: starts that a prepared spare serves.
    listeners = {False: _listen(socket_path), True: _listen(prepared_socket(socket_path))}
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    # Facts of the host every container start needs, read once here for every child.
    last_capability()
    has_kcore()
    # Everything imported so far is shared with every forked shim and holder. Frozen, the
    # collector in those children never walks (and so never copies) these pages.
    gc.freeze()
    spares: dict[bool, Spare | None] = {False: None, True: None}

    def servers_own(kind: bool | None = None) -> list[socket.socket]:
        """The sockets a child must not keep: the listeners (but ``kind``'s) and spares' ends."""
        own = [sock for k, sock in listeners.items() if k != kind]
        return own + [spare[1] for spare in spares.values() if spare is not None]

    # A spare that dies before taking a connection (it could not prepare, say) is replaced only
    # after a pause that doubles each time, so a failing set-up cannot turn into a fork loop;
    # meanwhile the server serves that socket itself.
    failures = {False: 0, True: 0}
    next_fork = {False: 0.0, True: 0.0}
    while True:
        _reap_children()
        now = time.monotonic()
        for kind in (True, False):
            if spares[kind] is None and now >= next_fork[kind]:
                spares[kind] = _fork_spare(kernel, listeners[kind], kind, servers_own(kind))
        by_control = {spare[1]: kind for kind, spare in spares.items() if spare is not None}
        unattended = {listeners[kind]: kind for kind, spare in spares.items() if spare is None}
        waits = [next_fork[kind] - now for kind in unattended.values() if next_fork[kind] > now]
        try:
            ready, _, _ = select.select([*by_control, *unattended], [], [], min([1.0, *waits]))
        except InterruptedError:
            continue
        for sock in ready:
            if sock in by_control:  # the spare took a connection, or died: fork its successor
                kind = by_control[sock]
                try:
                    taken = sock.recv(16) == b"taken"
                except OSError:
                    taken = False
                sock.close()
                spares[kind] = None
                failures[kind] = 0 if taken else failures[kind] + 1
                next_fork[kind] = time.monotonic() + (0 if taken else min(SPARE_RETRY_MAX, 0.01 * 2 ** failures[kind]))
            else:
                _serve_directly(kernel, sock, servers_own())


if __name__ == "__main__":
    serve(sys.argv[1])
