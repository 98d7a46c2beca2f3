"""A container's first process, from fork (or a prepared process's hand-over) to ``execve``.

It runs as host root outside the container and ends up inside it: it enters the sandbox's ipc,
uts and net namespaces, unshares its mount namespace, builds the root filesystem, joins the
container's cgroup once the daemon has made it (just before ``pivot_root``, while the host's
cgroup files are still in view, so the filesystem work overlaps the daemon's cgroup work),
resolves the user, and becomes that user with the container's capabilities. Only the exec is
left then; at CreateContainer it waits for the shim's go to do it, as runc's init waits on its
exec FIFO after finalizing itself.

What travels between it and the shim is a fixed set of descriptors (``InitEnds``), made by
the shim before the process exists; for a prepared process, by the idle spare before its
request came (``AheadPipes``), so a prepared process is handed its request the moment the
spare has it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import termios
from typing import NoReturn

from runtime.atomic_json import read_json
from runtime.forkserver_protocol import takes_prepared
from runtime.linux.syscalls import CLONE_NEWNS, NAMESPACE_FLAGS, Kernel
from runtime.shim import user, userns
from runtime.shim.prepared_init import AheadPipes
from runtime.shim.process import prepare_exec, report_failure, reset_signals
from runtime.shim.terminal import container_pty
from runtime.state import RECORD


def load_spec(container_dir: str) -> dict:
    """The spec the daemon decided at create, kept in the container's record (a directory made
    by an older daemon has it in ``spec.json``)."""
    record = read_json(os.path.join(container_dir, RECORD))
    if record is None:
        raise FileNotFoundError(f"no container record in {container_dir}")
    return record.get("spec") or read_json(os.path.join(container_dir, "spec.json"))


def join_cgroup(join_files: list[str]) -> None:
    """Move this process into a cgroup through the driver's ``join_files``.

    It writes ``0`` (the writer itself), never its pid: only that lets the kernel skip the
    global lock for v1's ``tasks`` (see ``V1Driver.join_files``). The caller must be
    single-threaded: through ``tasks`` only the calling thread moves."""
    for path in join_files:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)


class NamespaceGone(Exception):
    """A namespace to join is gone with the process that held it (the pod was stopped meanwhile)."""


def enter_namespaces(kernel: Kernel, namespaces: dict, kinds: tuple[str, ...]) -> None:
    """setns into each listed namespace path; a missing/None entry means 'stay in the host's'."""
    fds = []
    for kind in kinds:
        path = namespaces.get(kind)
        if path:
            try:
                fds.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), NAMESPACE_FLAGS[kind]))
            except FileNotFoundError as e:
                for fd, _flag in fds:
                    os.close(fd)
                raise NamespaceGone(f"cannot join the {kind} namespace at {path}: the process holding it is gone "
                                    "(the pod or the target container stopped)") from e
    for fd, flag in fds:
        try:
            kernel.setns(fd, flag)
        finally:
            os.close(fd)


class InitEnds:
    """The process's ends of what it shares with its shim.

    ``stdio``: its stdin, stdout and stderr. ``errpipe``: close-on-exec; an error report, or
    end-of-file once the exec happened. ``creds``: the resolved user, written when only the exec
    is left. ``go`` (a start prepared at create): a byte to exec, end-of-file to give up.
    ``cgroup`` (the daemon was still making the cgroup): a byte once it exists, end-of-file if
    it never will. ``terminal`` (tty): the socket the pty's master is sent back on."""

    def __init__(self, stdio: tuple[int, int, int], errpipe: int, creds: int, go: int = -1, cgroup: int = -1,
                 terminal: socket.socket | None = None) -> None:
        self.stdio = stdio
        self.errpipe = errpipe
        self.creds = creds
        self.go = go
        self.cgroup = cgroup
        self.terminal = terminal

    def close(self, keep: int = -1) -> None:
        """Close them (in the shim, once the process has its own); ``keep``: one shared with
        the caller's other uses (its /dev/null)."""
        for fd in {*self.stdio, self.errpipe, self.creds, self.go, self.cgroup} - {keep, -1}:
            os.close(fd)
        if self.terminal is not None:
            self.terminal.close()


def container_init(kernel: Kernel, spec: dict, ends: InitEnds, fresh: bool = True) -> NoReturn:
    """Runs between fork and execve; never returns. ``fresh``: signals and session are still
    the parent's (a prepared process reset them while it waited)."""
    try:
        if fresh:
            reset_signals()
            os.setsid()
        for target, fd in enumerate(ends.stdio):
            os.dup2(fd, target)
        enter_namespaces(kernel, spec["namespaces"], ("ipc", "uts", "net"))
        kernel.unshare(CLONE_NEWNS)
        # Then, with hostUsers: false, into the pod's user namespace.
        userns.setup_rootfs(kernel, spec, before_pivot=lambda: _join_once_made(spec.get("cgroup_procs", []), ends.cgroup))
        if ends.terminal is not None:
            master, slave = container_pty()
            socket.send_fds(ends.terminal, [b"pty"], [master])
            os.close(master)
            for target in (0, 1, 2):
                os.dup2(slave, target)
            os.close(slave)
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        creds = user.resolve(spec["process"].get("user", {}))
        ready = prepare_exec(kernel, spec["process"], creds)
        os.write(ends.creds, json.dumps(creds.__dict__).encode())
        os.close(ends.creds)
        lowest = 3
        for keep in sorted(fd for fd in (ends.errpipe, ends.go) if fd >= 0):
            os.closerange(lowest, keep)
            lowest = keep + 1
        os.closerange(lowest, 1 << 16)
        if ends.go >= 0:
            if not os.read(ends.go, 1):
                os._exit(0)
            os.close(ends.go)
        ready.run()
    except BaseException as e:  # noqa: B036 - anything, even SystemExit, must reach the parent
        report_failure(ends.errpipe, e)
    os._exit(127)  # not reached: run() execs or raises


def _join_once_made(join_files: list[str], made: int) -> None:
    if made >= 0:
        if not os.read(made, 1):
            os._exit(0)  # the create failed or was called off: the shim is going too
        os.close(made)
    join_cgroup(join_files)


def prepared_container_main(kernel: Kernel, message: bytes, control: socket.socket, pipes: AheadPipes) -> NoReturn:
    """What a prepared process (``runtime.shim.prepared_init``) runs once handed the start
    request its spare (now the shim) received: it reads the request itself and takes its ends
    from the pipes it inherited, plus the terminal or stdin pipe the shim sends if the container
    asks for one."""
    ends = InitEnds((pipes.devnull, pipes.out_w, pipes.err_w), pipes.errpipe_w, pipes.creds_w)
    try:
        request = json.loads(message)
        if not takes_prepared(request):
            raise ValueError(f"a prepared process was handed a {request.get('op')!r} request")
        spec = request.get("spec") or load_spec(request["container_dir"])
        process = spec["process"]
        extra = -1
        if process.get("tty") or process.get("stdin"):
            _kind, fds, _flags, _addr = socket.recv_fds(control, 16, 1)
            if not fds:
                os._exit(0)  # the shim went away before sending it
            extra = fds[0]
            os.set_inheritable(extra, False)
        control.close()
        go = pipes.go_r if request.get("op") == "prestart" else -1
        cgroup = pipes.cgroup_r if request.get("cgroup_pending") else -1
        for unused in {pipes.go_r, pipes.cgroup_r} - {go, cgroup}:
            os.close(unused)
        if process.get("tty"):
            ends = InitEnds((pipes.devnull,) * 3, pipes.errpipe_w, pipes.creds_w, go, cgroup,
                            socket.socket(fileno=extra))
        else:
            stdin = extra if extra >= 0 else pipes.devnull
            ends = InitEnds((stdin, pipes.out_w, pipes.err_w), pipes.errpipe_w, pipes.creds_w, go, cgroup)
    except BaseException as e:  # noqa: B036 - the shim waits on the error pipe: tell it
        report_failure(ends.errpipe, e)
    container_init(kernel, spec, ends, fresh=False)
