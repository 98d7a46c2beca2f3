"""The daemon's side of the fork server (``runtime.forkserver``): starting it and sending it requests.

A module of its own so that the server, and every process it forks, never loads what only the
daemon needs (``subprocess``, threads). Requests go to one of the server's two sockets, chosen
by ``runtime.forkserver_protocol.takes_prepared``; each is a connection of its own.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

from runtime.forkserver_protocol import MAX_MESSAGE, prepared_socket, takes_prepared


class ForkServerError(Exception):
    """The fork server is unreachable or answered with a malformed message."""


class UnreadByChild(ForkServerError):
    """The child died with our last message still unread in its queue (the kernel's ECONNRESET):
    it never acted on that message."""


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
        except ConnectionResetError as e:
            raise UnreadByChild(f"the fork server child went away without reading our message: {e}") from e
        except OSError as e:
            raise ForkServerError(f"the fork server child went away: {e}") from e
        if not data:
            for fd in fds:
                os.close(fd)
            raise ForkServerError("the fork server child exited without answering")
        try:
            return json.loads(data), fds
        except ValueError as e:
            for fd in fds:
                os.close(fd)
            raise ForkServerError(f"the fork server child sent a malformed message: {e}") from e

    def call_off(self, timeout: float) -> None:
        """Tell the child we are done (end-of-file on its side) and wait, at most ``timeout``
        seconds, until it and whatever it forked are gone (end-of-file on ours); then close."""
        deadline = time.monotonic() + timeout
        try:
            self.sock.shutdown(socket.SHUT_WR)
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                data, fds, _flags, _addr = socket.recv_fds(self.sock, MAX_MESSAGE, 4)
                for fd in fds:
                    os.close(fd)
                if not data:
                    break
        except OSError:
            pass  # gone already, or not within the time: either way we are done with it
        finally:
            self.sock.close()

    def close(self) -> None:
        self.sock.close()


def server_environment(daemon_environment: Mapping[str, str]) -> dict[str, str]:
    """The fork server's environment: what finds Python and our package, nothing else. Every
    process it forks shares its memory, and a pod's containers can reach some of them (see
    ``runtime.shim.holder``): none may carry the daemon's environment, whatever secrets it has.
    Containers get their environment from their spec, never from here."""
    kept = {key: value for key, value in daemon_environment.items() if key.startswith("PYTHON")}
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", **kept}


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
                env=server_environment(os.environ),
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
            sock.connect(self._connect_path(prepared_socket(self.socket_path) if takes_prepared(message)
                                            else self.socket_path))
            socket.send_fds(sock, [json.dumps(message).encode()], fds or [])
        except OSError as e:
            sock.close()
            raise ForkServerError(f"cannot reach the fork server at {self.socket_path}: {e}") from e
        return ForkServerConnection(sock)

    def _connect_path(self, path: str) -> str:
        """The socket's path, through our open directory fd when the full path is too long."""
        if len(path) < 100:
            return path
        if self._dir_fd is None:
            self._dir_fd = os.open(os.path.dirname(path), os.O_PATH | os.O_CLOEXEC)
        return f"/proc/self/fd/{self._dir_fd}/{os.path.basename(path)}"

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
