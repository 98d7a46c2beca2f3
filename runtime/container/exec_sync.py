"""ExecSync: run a command in a running container and collect its output and exit code.

The daemon makes the pipes, hands their write ends to the fork server (SCM_RIGHTS), and reads
both streams here while the command runs inside the container. On timeout the command is
killed and the caller gets DEADLINE_EXCEEDED, as with containerd. Output is capped at 16 MiB a
stream, the CRI's limit.
"""

from __future__ import annotations

import os
import selectors
import signal
import time
from dataclasses import dataclass

from runtime.config_text import reject_nul_bytes
from runtime.container.manager import ContainerManager
from runtime.errors import InternalError, InvalidArgument, ProcessStartFailed, Timeout
from runtime.forkserver_client import ForkServerError

MAX_OUTPUT = 16 * 1024 * 1024
ANSWER_TIMEOUT = 30.0


@dataclass
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_code: int


def exec_sync(containers: ContainerManager, container_id: str, cmd: list[str], timeout: float) -> ExecResult:
    if not cmd:
        raise InvalidArgument("exec needs a command (cmd is empty)")
    reject_nul_bytes(("exec cmd", arg) for arg in cmd)
    record = containers.require_running(container_id)
    directory = str(containers.ctx.containers.path(record["id"]))
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    devnull = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    try:
        conn = containers.ctx.forkserver.request(
            {"op": "exec", "container_dir": directory, "pid": record["pid"], "args": list(cmd)},
            [devnull, out_w, err_w],
        )
    except ForkServerError as e:
        for fd in (out_r, out_w, err_r, err_w, devnull):
            os.close(fd)
        raise InternalError(str(e)) from e
    for fd in (out_w, err_w, devnull):
        os.close(fd)
    deadline = time.monotonic() + timeout if timeout > 0 else None
    try:
        try:
            first = conn.receive(ANSWER_TIMEOUT)
        except ForkServerError as e:
            # A container stopped meanwhile takes the helper along (it is in the container's
            # cgroup): that is the container's state, not our failure.
            containers.require_running(record["id"])
            raise InternalError(f"exec in container {record['id']}: {e}") from e
        if "error" in first:
            raise ProcessStartFailed(f"failed to exec in container {record['id']}: {first['error']}")
        pid = first["pid"]
        outputs, finished = _collect({out_r: "stdout", err_r: "stderr"}, deadline)
        if not finished:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            raise Timeout(f"command {cmd!r} timed out after {timeout:g}s")
        remaining = ANSWER_TIMEOUT if deadline is None else max(1.0, deadline - time.monotonic())
        try:
            final = conn.receive(remaining)
        except ForkServerError as e:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            raise Timeout(f"command {cmd!r} did not exit in time") from e
        return ExecResult(outputs["stdout"], outputs["stderr"], int(final["exit_code"]))
    finally:
        conn.close()
        for fd in (out_r, err_r):
            try:
                os.close(fd)
            except OSError:
                pass


def _collect(readers: dict[int, str], deadline: float | None) -> tuple[dict[str, bytes], bool]:
    """Read the streams until both close (True) or the deadline passes (False)."""
    chunks: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    sizes = {"stdout": 0, "stderr": 0}
    with selectors.DefaultSelector() as sel:
        for fd, name in readers.items():
            sel.register(fd, selectors.EVENT_READ, name)
        while sel.get_map():
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return {k: b"".join(v) for k, v in chunks.items()}, False
            for key, _ in sel.select(wait):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fd)
                    continue
                name = key.data
                if sizes[name] < MAX_OUTPUT:
                    chunks[name].append(data[: MAX_OUTPUT - sizes[name]])
                    sizes[name] += len(data)
    return {k: b"".join(v) for k, v in chunks.items()}, True
