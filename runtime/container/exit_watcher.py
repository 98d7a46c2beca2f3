"""Noticing container exits as they happen, not only when someone asks.

The daemon is not the shims' parent, so it watches each running container's shim through a
pidfd (readable once the process has exited): one thread, one select over all of them. When a
shim exits the container's record is refreshed from ``exit.json`` at once and a STOPPED event
is published. A restarted daemon watches every container its records say is running. Status
calls still refresh on their own, so nothing depends on this thread being fast.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable

from runtime.processes import alive

log = logging.getLogger(__name__)


class ExitWatcher:
    def __init__(self, on_exit: Callable[[str], None]) -> None:
        self.on_exit = on_exit
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

    def stop(self) -> None:
        self._stopped = True
        os.write(self._wake_w, b"x")
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stopped:
            with self._lock:
                fds = list(self._fds)
            ready, _, _ = select.select([self._wake_r, *fds], [], [], 5.0)
            for fd in ready:
                if fd == self._wake_r:
                    os.read(self._wake_r, 4096)
                    continue
                with self._lock:
                    container_id = self._fds.pop(fd, None)
                os.close(fd)
                if container_id is not None:
                    try:
                        self.on_exit(container_id)
                    except Exception:
                        log.exception("handling a container exit", extra={"container": container_id})
