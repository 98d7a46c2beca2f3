"""A command exec'd into a running container for a streaming session, whatever the transport.

The fork server forks the command into the container (as ExecSync does) with our pipe ends as
its stdio; with a terminal, the terminal is made inside the container and its master comes back
to us. ``spawn`` blocks (it talks to the fork server), so sessions run it in an executor; ``wait``
and the fd helpers are asyncio-friendly: output is read when the loop says it is readable,
and input is written without ever blocking the loop on a full pipe or terminal.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from runtime.container.manager import ContainerManager
from runtime.forkserver_client import ForkServerConnection
from runtime.streaming.tokens import StreamRequest

STDOUT, STDERR = 1, 2
READ_SIZE = 65536
SPAWN_TIMEOUT = 30.0


@dataclass
class ExecProcess:
    conn: ForkServerConnection  # reports the exit code when the command ends
    pid: int
    outputs: list[tuple[int, int]]  # (fd, STDOUT or STDERR)
    stdin: int  # -1 when the session takes no input
    tty: bool
    owned: list[int] = field(default_factory=list)  # our fds to close at the end

    def close_stdin(self) -> None:
        if self.stdin >= 0 and not self.tty:
            close_fd(self.stdin)
            self.owned = [fd for fd in self.owned if fd != self.stdin]
            self.stdin = -1

    def release(self) -> None:
        for fd in self.owned:
            close_fd(fd)
        self.owned = []


def spawn(containers: ContainerManager, request: StreamRequest) -> ExecProcess:
    record = containers.require_running(request.container_id)
    directory = str(containers.ctx.containers.path(record["id"]))
    stdio: list[int] = []
    outputs: list[tuple[int, int]] = []
    stdin_w, local, remote = -1, [], []
    if not request.tty:  # with a terminal, the pty is made inside the container
        in_r, in_w = os.pipe() if request.stdin else (os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC), -1)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        stdio = [in_r, out_w, err_w]
        outputs = [(out_r, STDOUT), (err_r, STDERR)]
        stdin_w = in_w
        local, remote = [fd for fd in (in_w, out_r, err_r) if fd >= 0], [in_r, out_w, err_w]
    try:
        conn = containers.ctx.forkserver.request(
            {"op": "exec", "container_dir": directory, "pid": record["pid"], "args": request.cmd, "tty": request.tty},
            stdio,
        )
    except BaseException:
        for fd in local:
            close_fd(fd)
        raise
    finally:
        for fd in remote:
            close_fd(fd)
    answer, fds = conn.receive_with_fds(SPAWN_TIMEOUT)
    if "error" in answer:
        conn.close()
        for fd in local + fds:
            close_fd(fd)
        raise RuntimeError(answer["error"])
    if request.tty:
        if not fds:
            conn.close()
            raise RuntimeError("the exec helper sent no terminal")
        master = fds[0]
        outputs, stdin_w, local = [(master, STDOUT)], master, [master]
    for fd, _ in outputs:
        os.set_blocking(fd, False)
    if stdin_w >= 0:
        os.set_blocking(stdin_w, False)
    return ExecProcess(conn=conn, pid=answer["pid"], outputs=outputs, stdin=stdin_w, tty=request.tty, owned=local)


async def wait(process: ExecProcess) -> int:
    """The command's exit code, once it exits. The fork server's child sends it on the request's
    connection; the loop watches that socket, so a long session holds no thread."""
    loop = asyncio.get_running_loop()
    fd = process.conn.sock.fileno()
    readable = asyncio.Event()
    loop.add_reader(fd, readable.set)
    try:
        await readable.wait()
    finally:
        loop.remove_reader(fd)
    try:
        return int(process.conn.receive(SPAWN_TIMEOUT)["exit_code"])  # the message is there: no wait
    finally:
        process.conn.close()


async def pump(fd: int, send: Callable[[bytes], Awaitable[None]]) -> None:
    """Copy what the command writes on fd to ``send`` until it closes its end."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(fd, readable.set)
    try:
        while True:
            await readable.wait()
            readable.clear()
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the terminal's other side is gone
                return
            if not data:
                return
            await send(data)
    finally:
        loop.remove_reader(fd)


async def write_all(fd: int, data: bytes) -> None:
    """Write to a non-blocking pipe or terminal, waiting (not blocking) while it is full."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            writable = asyncio.Event()
            loop.add_writer(fd, writable.set)
            try:
                await writable.wait()
            finally:
                loop.remove_writer(fd)
            continue
        view = view[written:]




def close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
