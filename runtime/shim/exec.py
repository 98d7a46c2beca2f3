"""Running a command inside a running container (ExecSync, Exec), forked by the fork server.

The helper joins the container's cgroup, then its ipc, uts, net, pid and mount namespaces
(mount last: after it, host paths are gone), then the pod's user namespace if it has one
(last: a container's own pid namespace belongs to the host's, which only host root may enter),
and forks the command so it lands inside the pid namespace. The command gets the container's
user, capabilities and environment. The helper answers the daemon with the command's pid (so a
timeout can kill it), then with its exit code.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import termios

from runtime.linux.syscalls import Kernel
from runtime.shim import userns
from runtime.shim.container_init import enter_namespaces, join_cgroup, load_spec
from runtime.shim.process import apply_process, report_failure, reset_signals
from runtime.shim.terminal import container_pty


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.send(json.dumps(message).encode())
    except OSError:
        pass


def run_exec(kernel: Kernel, conn: socket.socket, request: dict, stdio: list[int]) -> None:
    """Exec ``request['args']`` in the container whose init has host pid ``request['pid']``."""
    spec = load_spec(request["container_dir"])
    pid = request["pid"]
    try:
        join_cgroup(spec.get("cgroup_procs", []))
        # cgroup v2 containers have a cgroup namespace of their own (see rootfs.mount_cgroups).
        own_cgroup_namespace = (spec.get("cgroup_view") or {}).get("version") == 2
        kinds = ("ipc", "uts", "net", "pid", "mnt") + (("cgroup",) if own_cgroup_namespace else ())
        namespaces = {kind: f"/proc/{pid}/ns/{kind}" for kind in kinds}
        pod_userns = userns.open_if_foreign(f"/proc/{pid}/ns/user")
        enter_namespaces(kernel, namespaces, kinds)
        userns.join(kernel, pod_userns)  # last: see the module docstring
    except OSError as e:
        _send(conn, {"error": f"cannot enter container: {e}"})
        os._exit(1)
    master = -1
    if request.get("tty"):
        try:
            master, slave = container_pty()
        except OSError as e:
            _send(conn, {"error": f"cannot open a terminal in the container: {e}"})
            os._exit(1)
        stdio = [slave, slave, slave]
    errpipe_r, errpipe_w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(errpipe_r)
            reset_signals()
            os.setsid()
            for target, fd in enumerate(stdio):
                os.dup2(fd, target)
            if request.get("tty"):
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            os.closerange(3, errpipe_w)
            os.closerange(errpipe_w + 1, 1 << 16)
            process = dict(spec["process"], args=request["args"], tty=bool(request.get("tty")))
            apply_process(kernel, process)
        except BaseException as e:  # noqa: B036 - report everything to the parent
            report_failure(errpipe_w, e)
    os.close(errpipe_w)
    for fd in set(stdio):
        os.close(fd)
    chunks = []
    while chunk := os.read(errpipe_r, 65536):
        chunks.append(chunk)
    os.close(errpipe_r)
    if chunks:
        os.waitpid(child, 0)
        try:
            message = json.loads(b"".join(chunks))["error"]
        except (ValueError, KeyError):
            message = b"".join(chunks).decode(errors="replace")
        _send(conn, {"error": message})
        os._exit(1)
    if master >= 0:
        # The terminal lives in the container's devpts, so the command sees a real /dev/pts/N;
        # its master goes to the daemon, which copies it to and from the client.
        try:
            socket.send_fds(conn, [json.dumps({"pid": child}).encode()], [master])
        except OSError:
            pass
        os.close(master)
    else:
        _send(conn, {"pid": child})
    _, status = os.waitpid(child, 0)
    code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    _send(conn, {"exit_code": code})
    os._exit(0)
