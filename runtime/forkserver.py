"""The single-threaded process that forks holders, shims and exec helpers for the daemon.

The gRPC daemon is multi-threaded, and forking a multi-threaded process leaves locks held by
threads that do not exist in the child; ``setns`` into a mount namespace even refuses a
multi-threaded caller. So the daemon starts this server once (a fresh interpreter via
``python -m runtime.forkserver``, importing only what the forked children need) and sends it
requests over a SOCK_SEQPACKET unix socket: one connection per request, a JSON message plus
file descriptors (exec stdio) passed with SCM_RIGHTS. Each request goes to a child forked for
it; the child owns the connection and answers on it, so a slow container start never blocks the
next one. The server keeps children forked ahead (spares), each waiting on a socketpair: a
request and its connection are handed to one, and the next spare is forked after, so the
fork's cost (copying a whole interpreter's page tables) is not paid inside a start. One spare
also prepares the first process of the next container that gets a pid namespace of its own
(``runtime.shim.prepared_init``) and takes only such starts; the other takes everything else.
An idle spare dies with the server; once it has a request it lives on as a shim or holder would.

Requests: ``{"op": "sandbox", ...}`` -> holder pid; ``{"op": "start", "container_dir": ...,
"pid_mode": ...}`` -> container pid, or an error (with ``"retry": true`` when only the prepared
process failed: asked again with ``"prepared": false`` it is forked afresh); ``{"op":
"prestart", ...}`` the same, prepared at CreateContainer up to the exec (see
``runtime.container.prestart``); ``{"op": "exec", ...}`` -> pid, then exit code. The server dies with
the daemon (PR_SET_PDEATHSIG); the shims and holders it forked do not. While it lives it is
their subreaper, so their exits are reaped even where PID 1 does not reap orphans.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from runtime.linux.syscalls import PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG, LibcKernel, set_process_name
from runtime.shim.container import prepared_container_main, run_shim
from runtime.shim.exec import run_exec
from runtime.shim.holder import spawn_holder
from runtime.shim.prepared_init import PreparedInit, prepare

MAX_MESSAGE = 1 << 16


class ForkServerError(Exception):
    """The fork server is unreachable or answered with a malformed message."""


def _reap_children() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def takes_prepared(request: dict) -> bool:
    """Whether a prepared spare (see ``runtime.shim.prepared_init``) can serve ``request``."""
    return request.get("op") in ("start", "prestart") and request.get("pid_mode") == "new" and request.get("prepared", True)


def _handle(kernel: LibcKernel, conn: socket.socket, request: dict, fds: list[int],
            prepared: PreparedInit | None = None) -> None:
    """Runs in the forked child. Never returns."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server's reaper must not steal our children
    op = request.get("op")
    try:
        if prepared is not None and not takes_prepared(request):
            prepared.discard()
            raise ForkServerError(f"a prepared spare was handed a {op!r} request")
        if op == "exec":
            os.setsid()
            run_exec(kernel, conn, request, fds)
        os.setsid()
        if op in ("start", "prestart"):
            # No double fork: we are the shim's parent and, as subreaper, stay its reaper; if
            # the server dies the shim is simply reparented and keeps running.
            run_shim(kernel, conn, request["container_dir"], prepared, prestart=op == "prestart",
                     spec=request.get("spec"))
        if op == "sandbox":
            pid = spawn_holder(kernel, request)
            conn.send(json.dumps({"pid": pid}).encode())
            os._exit(0)
        conn.send(json.dumps({"error": f"unknown fork server request {op!r}"}).encode())
    except BaseException as e:  # noqa: B036 - the daemon must hear about every failure
        try:
            conn.send(json.dumps({"error": f"{type(e).__name__}: {e}"}).encode())
        except OSError:
            pass
    os._exit(1)


def _fork_spare(kernel: LibcKernel, listener: socket.socket, with_init: bool = False,
                others: tuple[tuple[int, socket.socket] | None, ...] = ()) -> tuple[int, socket.socket] | None:
    """Fork the child that will take the next request; its pid and our end of its socketpair.
    ``with_init``: the child also prepares the first process of the next container that gets a
    pid namespace of its own, and takes only such a request."""
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
        listener.close()
        for other in others:  # the other spares' ends: only the server may hold them
            if other is not None:
                other[1].close()
        _wait_as_spare(kernel, theirs, server, with_init)
    theirs.close()
    return pid, ours


def _wait_as_spare(kernel: LibcKernel, hand: socket.socket, server: int, with_init: bool) -> None:
    """Runs in the spare child: wait for a request (and its connection), then serve it. Never returns."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    prepared = None
    try:
        kernel.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # idle, it dies with the server
        if os.getppid() != server:
            os._exit(0)
        if with_init:
            prepared = prepare(kernel, prepared_container_main)
        message, fds, _flags, _addr = socket.recv_fds(hand, MAX_MESSAGE, 9)
        hand.close()
        if not message or not fds:
            os._exit(0)
        kernel.prctl(PR_SET_PDEATHSIG, 0)  # what it starts must outlive the server
        conn = socket.socket(fileno=fds[0])
        request = json.loads(message)
    except BaseException:  # noqa: B036 - a spare that cannot serve just goes; the server forks directly
        os._exit(1)
    _handle(kernel, conn, request, fds[1:], prepared)


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
    try:
        os.unlink(socket_path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # Bound relative to its directory: a long runtime root must not hit the 108-byte limit.
    os.chdir(os.path.dirname(socket_path) or ".")
    listener.bind(os.path.basename(socket_path))
    os.chdir("/")
    os.chmod(socket_path, 0o600)
    listener.listen(128)
    listener.settimeout(1.0)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    # Everything imported so far is shared with every forked shim and holder. Frozen, the
    # collector in those children never walks (and so never copies) these pages.
    gc.freeze()
    spares: dict[bool, tuple[int, socket.socket] | None] = {False: _fork_spare(kernel, listener)}
    spares[True] = _fork_spare(kernel, listener, with_init=True, others=(spares[False],))
    while True:
        _reap_children()
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        try:
            message, fds, _flags, _addr = socket.recv_fds(conn, MAX_MESSAGE, 8)
            request = json.loads(message)
        except (OSError, ValueError):
            conn.close()
            continue
        kind = takes_prepared(request)
        spare = spares[kind]
        handed = False
        if spare is not None:
            try:
                socket.send_fds(spare[1], [message], [conn.fileno(), *fds])
                handed = True
            except OSError:
                pass  # the spare is gone; fork for this request instead
            spare[1].close()
        if not handed:
            pid = os.fork()
            if pid == 0:
                listener.close()
                for other in spares.values():
                    if other is not None:
                        other[1].close()
                _handle(kernel, conn, request, fds)
        conn.close()
        for fd in fds:
            os.close(fd)
        # Only now: the next spare must not inherit this request's connection or descriptors.
        spares[kind] = _fork_spare(kernel, listener, with_init=kind, others=(spares[not kind],))


class ForkServerConnection:
    """One request's conversation with the fork server's child."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, message: dict) -> None:
        try:
            self.sock.send(json.dumps(message).encode())
        except OSError as e:
            raise ForkServerError(f"the fork server child went away: {e}") from e

    def receive(self, timeout: float | None) -> dict:
        return self.receive_with_fds(timeout)[0]

    def receive_with_fds(self, timeout: float | None) -> tuple[dict, list[int]]:
        """The next message and any file descriptors passed with it (a terminal's master)."""
        self.sock.settimeout(timeout)
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.sock, MAX_MESSAGE, 4)
        except TimeoutError as e:
            raise ForkServerError("no answer from the fork server child in time") from e
        if not data:
            for fd in fds:
                os.close(fd)
            raise ForkServerError("the fork server child exited without answering")
        return json.loads(data), fds

    def close(self) -> None:
        self.sock.close()


class ForkServerClient:
    """The daemon's handle: starts the server process and sends it requests from any thread."""

    def __init__(self, socket_path: str, log_path: str | None = None) -> None:
        self.socket_path = socket_path
        self.log_path = log_path
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._dir_fd: int | None = None

    def start(self, timeout: float = 15.0) -> None:
        with self._lock:
            self._start_locked(timeout)

    def _start_locked(self, timeout: float) -> None:
        stderr = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "runtime.forkserver", self.socket_path],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, close_fds=True,
            )
        finally:
            if stderr is not subprocess.DEVNULL:
                stderr.close()
        assert self._process.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        os.set_blocking(self._process.stdout.fileno(), False)
        while time.monotonic() < deadline:
            chunk = self._process.stdout.read() or b""
            line += chunk
            if b"ready" in line:
                self._process.stdout.close()
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.01)
        self._process.kill()
        raise ForkServerError("the fork server did not become ready")

    def request(self, message: dict, fds: list[int] | None = None) -> ForkServerConnection:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start_locked(15.0)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            sock.connect(self._connect_path())
            socket.send_fds(sock, [json.dumps(message).encode()], fds or [])
        except OSError as e:
            sock.close()
            raise ForkServerError(f"cannot reach the fork server at {self.socket_path}: {e}") from e
        return ForkServerConnection(sock)

    def _connect_path(self) -> str:
        """The socket's path, through our open directory fd when the full path is too long."""
        if len(self.socket_path) < 100:
            return self.socket_path
        if self._dir_fd is None:
            self._dir_fd = os.open(os.path.dirname(self.socket_path), os.O_PATH | os.O_CLOEXEC)
        return f"/proc/self/fd/{self._dir_fd}/{os.path.basename(self.socket_path)}"

    def call(self, message: dict, timeout: float = 60.0) -> dict:
        conn = self.request(message)
        try:
            return conn.receive(timeout)
        finally:
            conn.close()

    def stop(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.kill()
                self._process.wait(5)
            self._process = None


if __name__ == "__main__":
    serve(sys.argv[1])
