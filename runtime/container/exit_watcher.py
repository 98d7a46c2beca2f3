"""Noticing container exits as they happen, not only when someone asks.

The daemon is not the shims' parent, so it watches each running container's shim through a
pidfd (readable once the process has exited): one thread, one select over all of them. When a
shim exits the container's record is refreshed from ``exit.json`` at once and a STOPPED event
is published. A restarted daemon watches every container its records say is running. Status
calls still refresh on their own, so nothing depends on this thread being fast.

The same select also reads notices: a shim that has recorded an exit sends the container id
as a datagram to an abstract unix socket of the daemon's network namespace, so the exit is
known before the shim's own exit has been torn down. A notice is only a hint: the record is
refreshed from the shim's files, so a forged notice changes nothing; the pidfd stays the
guarantee, and a container is reported once however it is noticed.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
from collections.abc import Callable

from runtime.processes import alive
from runtime.shim.exit_notice import MAX_NOTICE

log = logging.getLogger(__name__)


class ExitWatcher:
    def __init__(self, on_exit: Callable[[str], None], notices: str | None = None) -> None:
        self.on_exit = on_exit
        self._notices: socket.socket | None = None
        if notices is not None:
            self._notices = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            try:
                self._notices.bind(notices)
            except OSError:  # another daemon for this root hears them; the pidfds still work
                self._notices.close()
                self._notices = None
        self._fds: dict[int, str] = {}
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="kyb-exit-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def watch(self, container_id: str, shim_pid: int | None, shim_start: int | None) -> None:
        if not shim_pid or not alive(shim_pid, shim_start):
            self.on_exit(container_id)
            return
        try:
            fd = os.pidfd_open(shim_pid)
        except ProcessLookupError:
            self.on_exit(container_id)
            return
        with self._lock:
            self._fds[fd] = container_id
        os.write(self._wake_w, b"x")

    def _notice(self) -> None:
        assert self._notices is not None
        try:
            data = self._notices.recv(MAX_NOTICE)
        except OSError:
            return
        container_id = data.decode(errors="replace")
        if not container_id.isalnum():
            return
        try:
            self.on_exit(container_id)
        except Exception:
            log.exception("handling a container exit notice", extra={"container": container_id})

    def stop(self) -> None:
        self._stopped = True
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        if self._notices is not None:
            self._notices.close()

    def _run(self) -> None:
        while not self._stopped:
            with self._lock:
                fds = list(self._fds)
            notices = [self._notices.fileno()] if self._notices is not None else []
            ready, _, _ = select.select([self._wake_r, *notices, *fds], [], [], 5.0)
            for fd in ready:
                if fd == self._wake_r:
                    os.read(self._wake_r, 4096)
                    continue
                if fd in notices:
                    self._notice()
                    continue
                with self._lock:
                    container_id = self._fds.pop(fd, None)
                os.close(fd)
                if container_id is not None:
                    try:
                        self.on_exit(container_id)
                    except Exception:
                        log.exception("handling a container exit", extra={"container": container_id})
