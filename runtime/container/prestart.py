"""Starting a container's process at CreateContainer, so StartContainer only has to let it exec.

Most of a start is work that does not need the start itself: forking the shim and the
container's first process, joining the cgroup and the pod's namespaces, building the root
filesystem, resolving the user. The kubelet calls StartContainer right after CreateContainer,
so CreateContainer asks the fork server for a shim in prestart mode and returns without
waiting; that work then runs while the reply travels back and the start request comes in.
StartContainer waits for the shim's ``ready``, sends ``go``, and gets the usual start reply
(pid, shim pid, start time) once the process has exec'd. Errors of the prepared work (a mount
that fails, an unknown user) are start errors, exactly as when nothing was done ahead.

This is an optimisation only: the handle lives in the daemon's memory and nowhere else. A
container whose handle is gone (the daemon restarted, the shim died before ``go``) is started
from scratch; removing or stopping a created container closes its handle, and a shim whose
connection closes kills its waiting process and exits.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable

from runtime.forkserver_client import ForkServerClient, ForkServerConnection, ForkServerError, UnreadByChild

log = logging.getLogger(__name__)

# The spec travels in the request (so the work can begin before the record is on disk) when
# the whole request fits well within one fork-server message.
INLINE_SPEC_LIMIT = 48 * 1024
# At most this long an aborted prestart waits for its shim to go: the process it prepares is
# ready in milliseconds unless a mount hangs.
ABORT_WAIT = 5.0


class Prestarts:
    def __init__(self, forkserver: ForkServerClient | None) -> None:
        self.forkserver = forkserver
        self._handles: dict[str, ForkServerConnection] = {}
        self._lock = threading.Lock()

    def begin(self, container_id: str, container_dir: str, pid_mode: str, spec: dict | None = None,
              cgroup_pending: bool = False) -> bool:
        """Ask for the container's shim now; a failure only means the start does it all.

        With ``spec`` the request carries it and may be sent before the record is written;
        False means it was too large to carry and nothing was asked: ask again without it once
        the record is on disk. With ``cgroup_pending`` the container's cgroup is still being
        made: the shim prepares what it can and waits for ``cgroup_ready`` before its process
        joins it (closing the handle instead calls the start off)."""
        request: dict = {"op": "prestart", "container_dir": container_dir, "pid_mode": pid_mode}
        if cgroup_pending:
            request["cgroup_pending"] = True
        if spec is not None:
            request["spec"] = spec
            if len(json.dumps(request)) > INLINE_SPEC_LIMIT:
                return False
        if self.forkserver is None:
            return True
        try:
            handle = self.forkserver.request(request)
        except ForkServerError as e:
            log.debug("no prestart", extra={"container": container_id, "error": str(e)})
            return True
        with self._lock:
            self._handles[container_id] = handle
        return True

    def cgroup_ready(self, container_id: str) -> None:
        """Tell a shim asked with ``cgroup_pending`` that its process may join the cgroup now."""
        with self._lock:
            handle = self._handles.get(container_id)
        if handle is None:
            return
        try:
            handle.send({"cgroup": True})
        except ForkServerError:
            self.abort(container_id)  # the shim is gone: the start does it all

    def abort(self, container_id: str) -> None:
        """Call the prestarted start off, and return once its shim is gone (it kills its process
        first), so the caller may remove what the shim writes in: the container's directory
        (its attach socket) and its cgroup. A shim that takes longer than ``ABORT_WAIT`` is
        left to finish on its own."""
        with self._lock:
            handle = self._handles.pop(container_id, None)
        if handle is not None:
            handle.call_off(ABORT_WAIT)

    def finish(self, container_id: str, timeout: float,
               while_exec: Callable[[dict], None] | None = None) -> dict | None:
        """The start reply from the prestarted shim, or None when it must be started afresh
        (no handle, the shim gone before it read ``go``, or only its pre-forked process was gone).
        ``while_exec(ready)`` runs once ``go`` is sent, while the process execs: the daemon
        records the start then, so its flushed write overlaps the exec; after a None that came
        later, that record is the caller's to overwrite."""
        with self._lock:
            handle = self._handles.pop(container_id, None)
        if handle is None:
            return None
        try:
            try:
                ready = handle.receive(timeout)
            except ForkServerError:
                return None
            if not ready.get("ready"):
                return None if ready.get("retry") else ready
            try:
                handle.send({"go": True})
            except ForkServerError:
                return None  # the shim died before hearing it, so its process never exec'd
            if while_exec is not None:
                while_exec(ready)
            # From here on the process may have exec'd: never start a second one; report instead.
            # Only a shim that died with ``go`` unread (sending worked: it was not yet gone)
            # certainly never let its process exec.
            try:
                return handle.receive(timeout)
            except UnreadByChild:
                return None
            except ForkServerError as e:
                return {"error": f"the container's shim went away while starting it: {e}"}
        finally:
            with contextlib.suppress(OSError):
                handle.close()
