"""The per-container shim: parent of the container process, outside the container, like conmon.

The fork server forks it (and reaps it), it detaches into a new session, and it stays for the
container's whole life whether or not the daemon or the fork server runs. It forks the
container's first process (into a new pid namespace, the pod's, or the host's), or hands a
prepared one its request, which becomes the container (``runtime.shim.container_init``). A
close-on-exec error pipe tells the shim whether exec happened; only then does it answer the
daemon. Afterwards it copies stdout/stderr into the CRI log, reopens the log on SIGUSR1, reaps
the container and records exit code, finish time and whether the OOM killer struck,
atomically, in ``exit.json``.

The spec comes with the request or from the container's record (``load_spec``). Files in the
container directory written here: ``shim.json`` (shim and container pids, start time) and
``exit.json``. The daemon reads them; it never needs to be the shim's parent. The log and the
attach socket are opened while the child builds its root filesystem, not after it has exec'd.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import socket
import time
from typing import NamedTuple

from runtime.atomic_json import flush, write_json
from runtime.forkserver_protocol import USER_FILE, USER_INLINE_LIMIT
from runtime.linux.syscalls import CLONE_NEWPID, Kernel, set_process_name
from runtime.shim.attach import AttachHub
from runtime.shim.container_init import InitEnds, NamespaceGone, container_init, enter_namespaces, load_spec
from runtime.shim.crilog import CriLogWriter
from runtime.shim.exit_notice import send_notice
from runtime.shim.prepared_init import PreparedInit
from runtime.small_file import read_flat_keyed

READ_CHUNK = 32 * 1024
MAX_CONTROL = 4096


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.send(json.dumps(message).encode())
    except OSError:
        pass  # the daemon went away; the files on disk still tell the story


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _read_error(errpipe: int) -> str | None:
    chunks = []
    while True:
        chunk = os.read(errpipe, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    if not chunks:
        return None
    try:
        return json.loads(b"".join(chunks))["error"]
    except (ValueError, KeyError):
        return b"".join(chunks).decode(errors="replace")


def run_shim(kernel: Kernel, conn: socket.socket, request: dict, prepared: PreparedInit | None = None) -> None:
    """Start the container and supervise it until it exits. Runs detached; never returns.

    ``request`` is the fork server's start request. With ``prepared``, the container's first
    process already waits in a new pid namespace (forked while this process was an idle spare),
    holding its ends of the ``AheadPipes``, and has been handed the request before this process
    read it; here only a terminal or a stdin pipe may follow. Otherwise it is forked here. An
    ``op`` of ``prestart`` (asked at CreateContainer) does everything up to the exec ahead: once
    the process waits with its root filesystem built, the daemon hears ``{"ready": true}``;
    ``{"go": true}`` from it then execs the process and the start goes on as usual, while
    end-of-file (the container was removed, or the daemon went away) ends it. The spec travels in
    the request when it is small enough, else it is read from the record. With
    ``cgroup_pending`` the daemon is still making the container's cgroup: the process builds its
    root filesystem meanwhile and joins the cgroup only once the daemon's ``{"cgroup": true}``
    has been passed on."""
    set_process_name(kernel, "kyb-shim")
    try:
        container_dir = request["container_dir"]
        prestart = request.get("op") == "prestart"
        cgroup_pending = bool(request.get("cgroup_pending"))
        spec = request.get("spec") or load_spec(container_dir)
        pid_ns = spec["namespaces"].get("pid_mode", "new")
        if prepared is not None and pid_ns != "new":
            prepared.discard()
            _send(conn, {"error": f"a prepared process cannot join pid namespace mode {pid_ns!r}", "retry": True})
            os._exit(1)
        devnull = prepared.pipes.devnull if prepared is not None else os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        # Before the process exists, so that no exit of it goes unnoticed.
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        reopen = []
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGUSR1, lambda *_: reopen.append(True))
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)

        tty = bool(spec["process"].get("tty"))
        wants_stdin = bool(spec["process"].get("stdin"))
        terminal = -1
        if prepared is not None:
            pid = prepared.pid
            shim_ends = _prepared_ends(prepared, tty, wants_stdin, prestart, cgroup_pending)
        else:
            shim_ends, ends = _fresh_ends(devnull, tty, wants_stdin, prestart, cgroup_pending)
            if pid_ns == "new":
                kernel.unshare(CLONE_NEWPID)
            elif pid_ns == "join":
                enter_namespaces(kernel, spec["namespaces"], ("pid",))
            try:
                pid = os.fork()
            except OSError as e:
                if e.errno == errno.ENOMEM and pid_ns == "join":  # what fork says once a namespace's init is gone
                    raise NamespaceGone("the pid namespace to join has no init any more: the pod or the "
                                        "target container stopped") from e
                raise
            if pid == 0:
                for fd in (shim_ends.errpipe_r, shim_ends.creds_r, shim_ends.go_w, shim_ends.cgroup_w, wake_r, wake_w):
                    if fd >= 0:
                        os.close(fd)
                container_init(kernel, spec, ends)
            ends.close(keep=devnull)
        readers, stdin_w, terminal_parent, errpipe_r, creds_r, go_w, cgroup_w = shim_ends
    except BaseException:
        if prepared is not None:
            prepared.discard()  # it has the request: it must not go on without its shim
        raise
    if cgroup_pending:
        if not _cgroup_made(conn):
            os.kill(pid, signal.SIGKILL)  # the create failed or was called off: nothing was started
            os.waitpid(pid, 0)
            os._exit(0)
        os.write(cgroup_w, b"c")
        os.close(cgroup_w)
    # Opened while the child builds its root filesystem (the machine has more than one CPU).
    try:
        log = CriLogWriter(spec.get("log_path", ""))
        hub = AttachHub(container_dir, stdin_w, bool(spec["process"].get("stdin_once")), terminal)
    except OSError as e:  # no log, no attach: the start fails rather than run unsupervised
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        _send(conn, {"error": f"cannot open the container log or attach socket: {e}"})
        os._exit(1)
    if prestart:
        resolved = _read_all(creds_r)  # written once the process waits for its go
        os.close(creds_r)
        if resolved:
            _await_go(conn, pid, go_w, hub, _user_fields(container_dir, resolved))
        error = _read_error(errpipe_r)
        if error is None and not resolved:
            error = "the container's first process exited while its root filesystem was being set up"
    else:
        # The credentials first: the process writes them before it execs, and a write larger
        # than the pipe holds (a user with thousands of groups) waits for this read.
        resolved = _read_all(creds_r)
        os.close(creds_r)
        error = _read_error(errpipe_r)
    os.close(errpipe_r)
    if error is None and terminal_parent is not None:
        _msg, fds, _flags, _addr = socket.recv_fds(terminal_parent, 16, 1)
        terminal_parent.close()
        if fds:
            terminal = stdin_w = fds[0]
            readers = {terminal: "stdout"}
            hub.use_terminal(terminal)
        else:
            error = "the container did not hand over its terminal"
    if error is not None:
        _, status = os.waitpid(pid, 0)
        error = _setup_failure(error, status, spec)
        hub.close()
        _send(conn, {"error": error})
        os._exit(1)
    started_at = time.time_ns()
    # Answer first (the daemon records the pids), then leave the same facts on disk for a
    # daemon that dies before recording them.
    _send(conn, {"pid": pid, "shim_pid": os.getpid(), "started_at": started_at,
                 **_user_fields(container_dir, resolved)})
    conn.close()
    write_json(os.path.join(container_dir, "shim.json"), {"shim_pid": os.getpid(), "pid": pid, "started_at": started_at},
               durable=False)  # the daemon's record holds the same
    status = _supervise(pid, readers, wake_r, reopen, log, hub)
    hub.close()
    exit_file = _record_exit(container_dir, spec, status)
    if spec.get("exit_notices"):
        send_notice(spec["exit_notices"], os.path.basename(container_dir))
    # Flushed after the notice, so the daemon reads it (from the page cache) meanwhile. Only a
    # machine crash in between loses it, and that ends every container anyway: the daemon then
    # reports an exit it cannot know as unknown.
    flush(exit_file)
    os._exit(0)


class ShimEnds(NamedTuple):
    """The shim's ends of what it shares with its container's first process (-1: not made)."""

    readers: dict[int, str]  # the output pipes' read ends: fd -> "stdout" or "stderr"
    stdin_w: int
    terminal: socket.socket | None  # where the process sends the pty's master
    errpipe_r: int
    creds_r: int
    go_w: int
    cgroup_w: int


def _prepared_ends(prepared: PreparedInit, tty: bool, wants_stdin: bool, prestart: bool,
                   cgroup_pending: bool) -> ShimEnds:
    """The shim's ends with a prepared process: the ``AheadPipes`` it has, trimmed to what the
    request needs, plus the terminal or stdin pipe, whose other end is sent to the process."""
    pipes = prepared.pipes
    stdin_w = -1
    terminal_parent = None
    readers = {pipes.out_r: "stdout", pipes.err_r: "stderr"}
    if tty:
        terminal_parent, terminal_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        prepared.send_extra(b"tty", terminal_child.fileno())
        terminal_child.close()
        for fd in readers:
            os.close(fd)
        readers = {}
    elif wants_stdin:
        in_r, stdin_w = os.pipe()
        prepared.send_extra(b"stdin", in_r)
        os.close(in_r)
    prepared.release()
    go_w, cgroup_w = pipes.go_w, pipes.cgroup_w
    if not prestart:
        os.close(go_w)
        go_w = -1
    if not cgroup_pending:
        os.close(cgroup_w)
        cgroup_w = -1
    return ShimEnds(readers, stdin_w, terminal_parent, pipes.errpipe_r, pipes.creds_r, go_w, cgroup_w)


def _fresh_ends(devnull: int, tty: bool, wants_stdin: bool, prestart: bool,
                cgroup_pending: bool) -> tuple[ShimEnds, InitEnds]:
    """The shim's ends and the process's (``InitEnds``), for a process forked here."""
    stdin_w = -1
    terminal_parent = terminal_child = None
    if tty:
        terminal_parent, terminal_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        readers: dict[int, str] = {}
        stdio = (devnull, devnull, devnull)
    else:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        readers = {out_r: "stdout", err_r: "stderr"}
        in_r = devnull
        if wants_stdin:
            in_r, stdin_w = os.pipe()
        stdio = (in_r, out_w, err_w)
    errpipe_r, errpipe_w = os.pipe()
    creds_r, creds_w = os.pipe()
    go_r, go_w = os.pipe() if prestart else (-1, -1)
    cgroup_r, cgroup_w = os.pipe() if cgroup_pending else (-1, -1)
    ends = InitEnds(stdio, errpipe_w, creds_w, go_r, cgroup_r, terminal_child)
    return ShimEnds(readers, stdin_w, terminal_parent, errpipe_r, creds_r, go_w, cgroup_w), ends


def _cgroup_made(conn: socket.socket) -> bool:
    try:
        message = conn.recv(MAX_CONTROL)
    except OSError:
        return False
    return bool(message) and json.loads(message).get("cgroup") is True


def _user_fields(container_dir: str, resolved: bytes) -> dict:
    """How a message carries the user the process runs as (see ``USER_FILE``)."""
    if not resolved:
        return {"user": None}
    if len(resolved) <= USER_INLINE_LIMIT:
        return {"user": json.loads(resolved)}
    write_json(os.path.join(container_dir, USER_FILE), json.loads(resolved), durable=False)
    return {"user_file": USER_FILE}


def _await_go(conn: socket.socket, pid: int, go_w: int, hub: AttachHub, user: dict) -> None:
    """Tell the daemon the container is ready to exec (with the pids and the user it will run
    as, so the daemon can record the start while the exec happens), then wait for its go.
    Returns once the process has been told to exec; exits (after killing the process) if the
    start is called off."""
    try:
        conn.send(json.dumps({"ready": True, "shim_pid": os.getpid(), "pid": pid, **user}).encode())
        go = conn.recv(MAX_CONTROL)
    except OSError:
        go = b""
    if not go:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        hub.close()
        os._exit(0)
    try:
        os.write(go_w, b"g")
    except BrokenPipeError:
        pass  # the process is gone; its exit status tells the story
    os.close(go_w)


def _supervise(pid: int, readers: dict[int, str], wake_r: int, reopen: list, log: CriLogWriter, hub: AttachHub) -> int:
    """Copy output into the log (and to attached clients) until the container exits."""
    open_readers = dict(readers)
    status: int | None = None
    while status is None or open_readers:
        attach_fds = hub.fds() if status is None else []
        input_fds = hub.wants_write() if status is None else []
        ready, writable, _ = select.select([*open_readers, wake_r, *attach_fds], input_fds, [], 1.0 if status is None else 0.2)
        if not ready and not writable and status is not None:
            break  # exited; descendants outside its pid namespace keep the pipe: stop waiting
        if writable:
            hub.flush()
        for fd in ready:
            if fd == wake_r:
                os.read(wake_r, 512)
                continue
            if fd in attach_fds:
                hub.handle(fd)
                continue
            try:
                data = os.read(fd, READ_CHUNK)
            except BlockingIOError:  # a terminal is non-blocking for its input's sake
                continue
            except OSError:  # EIO from a pty whose other side closed
                data = b""
            if data:
                log.write(open_readers[fd], data)
                hub.broadcast(open_readers[fd], data)
            else:
                log.close_stream(open_readers.pop(fd))
                os.close(fd)
        if reopen:
            reopen.clear()
            try:
                log.reopen()
            except OSError:
                pass  # keep the old file; the next reopen request may succeed
        if status is None:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                status = wait_status
    log.close()
    return status


def _setup_failure(error: str, status: int, spec: dict) -> str:
    """Why the start failed. A process killed before its exec reports nothing itself; when the
    OOM killer did it, the container's memory limit cannot even hold its set-up, and runc says
    so too."""
    oom = spec.get("oom")
    if os.WIFSIGNALED(status) and oom and _count(oom["file"], oom["key"]) > 0:
        return ("the container's first process was killed by the OOM killer while it was being set up: "
                "the memory limit is too low to start it")
    return error


def _record_exit(container_dir: str, spec: dict, status: int) -> str:
    """Write ``exit.json`` (complete or not at all, not yet flushed); its path."""
    if os.WIFSIGNALED(status):
        exit_code, sig = 128 + os.WTERMSIG(status), os.WTERMSIG(status)
    else:
        exit_code, sig = os.WEXITSTATUS(status), 0
    oom_killed = False
    oom = spec.get("oom")
    if oom:
        oom_killed = _count(oom["file"], oom["key"]) > 0
    path = os.path.join(container_dir, "exit.json")
    write_json(path, {"exit_code": exit_code, "signal": sig, "finished_at": time.time_ns(), "oom_killed": oom_killed},
               durable=False)
    return path


def _count(path: str, key: str) -> int:
    try:
        return read_flat_keyed(path).get(key, 0)
    except (OSError, UnicodeDecodeError):
        return 0

