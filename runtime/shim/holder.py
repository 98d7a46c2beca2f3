"""The sandbox holder: a tiny process whose only job is to keep the pod's namespaces alive.

It plays the pause container's part. Created by the fork server on RunPodSandbox: the forked
helper unshares the namespaces the pod owns (net, ipc, uts; pid too when the pod shares one pid
namespace between its containers), sets the hostname, brings loopback up, then forks the holder
proper and exits, so the holder is reparented away from the daemon. When the pod has its own
pid namespace the holder is its PID 1 and reaps orphans, as pause does. Containers join the
namespaces through ``/proc/<holder pid>/ns/*``. A pod with ``hostUsers: false`` gets its user
namespace before all the others, so that it owns them (``runtime.shim.userns``).

A pod's containers can reach the holder: with a shared pid namespace it is their PID 1, and a
container given CAP_SYS_PTRACE may open its /proc/1/root and its memory. So, once set up, the
holder gives up what pause never had (``_confine``): it moves into a mount namespace whose only
mount is an empty read-only tmpfs (pause's root is its own small image; ours would be the host's),
keeps only a container's default capabilities (all in a privileged pod), sets no_new_privs,
becomes non-dumpable and runs under the pod's seccomp profile, as containerd runs pause. Its
memory holds nothing of the daemon's: the fork server starts with a bare environment. From then
on it only waits for signals and reaps, calls every profile a pause container runs under allows.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import socket
import struct

from runtime.linux import capabilities, seccomp
from runtime.linux.syscalls import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    MNT_DETACH,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    Kernel,
    last_capability,
    set_process_name,
)
from runtime.shim import userns
from runtime.shim.container_init import join_cgroup
from runtime.shim.process import drop_bounding_set

EMPTY_ROOT_OPTIONS = "size=4k,mode=555"  # the holder's root: room for nothing, read-only once made
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def loopback_up() -> None:
    """Bring ``lo`` up in the current network namespace (a new one starts with it down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def namespace_flags(request: dict) -> int:
    flags = 0
    if request.get("own_network"):
        flags |= CLONE_NEWNET | CLONE_NEWUTS
    if request.get("own_ipc"):
        flags |= CLONE_NEWIPC
    return flags


class SysctlRefused(OSError):
    """The kernel refused a sysctl's value (EINVAL, ERANGE): the pod's config is at fault."""


def apply_sysctls(sysctls: dict[str, str]) -> None:
    """Write namespaced sysctls; /proc/sys/net and the IPC knobs show the writer's namespaces."""
    for key, value in sorted(sysctls.items()):
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(value)
        except OSError as e:
            kind = SysctlRefused if e.errno in (errno.EINVAL, errno.ERANGE) else OSError
            raise kind(e.errno, f"cannot set sysctl {key}={value!r}: {e.strerror}") from e


def spawn_holder(kernel: Kernel, request: dict) -> int:
    """Create the pod's namespaces and the holder in them; return the holder's (host) pid.
    A pod with a user namespace of its own (``request["userns"]``) gets it first, so that it
    owns the pod's other namespaces (see ``runtime.shim.userns``)."""
    join_cgroup(request.get("cgroup_procs", []))  # the holder inherits the pod's cgroup
    if request.get("userns"):
        return userns.spawn_in_user_namespace(kernel, request["userns"], lambda: _spawn(kernel, request))
    return _spawn(kernel, request)


def _spawn(kernel: Kernel, request: dict) -> int:
    flags = namespace_flags(request)
    if flags:
        kernel.unshare(flags)
    if flags & CLONE_NEWUTS and request.get("hostname"):
        kernel.sethostname(request["hostname"])
    if flags & CLONE_NEWNET:
        loopback_up()
    apply_sysctls(request.get("sysctls", {}))
    if request.get("own_pid"):
        kernel.unshare(CLONE_NEWPID)
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        _hold(kernel, request.get("seccomp"), bool(request.get("privileged")), ready_w)
    os.close(ready_w)
    with os.fdopen(ready_r, "rb") as ready:
        failure = ready.read().decode(errors="replace")
    if failure:
        os.waitpid(pid, 0)
        raise OSError(f"the sandbox holder could not start: {failure}")
    return pid


def _hold(kernel: Kernel, seccomp_setting: str | dict | None, privileged: bool, ready: int) -> None:
    """The holder: set up, tell the parent through ``ready`` (end-of-file: fine, else the
    error), then wait for signals until told to stop."""
    try:
        set_process_name(kernel, "kyb-holder")
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, ready)
        os.closerange(ready + 1, 1 << 16)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        signal.signal(signal.SIGINT, lambda *_: os._exit(0))
        signal.signal(signal.SIGCHLD, _reap)
        # Read while the host's files are in view (a Localhost profile is a host file).
        program = seccomp.filter_for(seccomp_setting, capabilities.DEFAULT)
        _confine(kernel, None if privileged else capabilities.mask(capabilities.DEFAULT))
        if program is not None:
            seccomp.install(kernel, *program)  # allowed by no_new_privs, whatever the capabilities
        kernel.prctl(PR_SET_DUMPABLE, 0)
    except BaseException as e:  # noqa: B036 - whatever it is, the parent must hear it
        os.write(ready, f"{type(e).__name__}: {e}".encode())
        os._exit(1)
    os.close(ready)
    try:
        while True:
            signal.pause()
    finally:
        os._exit(0)


def _confine(kernel: Kernel, keep: int | None) -> None:
    """An empty read-only root in a mount namespace of its own, then only the capabilities in
    ``keep`` (None: all it has) and no_new_privs. See the module docstring."""
    last = last_capability()  # read from /proc, which is about to go
    kernel.unshare(CLONE_NEWNS)
    kernel.mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    # /proc exists on every Linux host; the tmpfs only covers it in this namespace.
    kernel.mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, EMPTY_ROOT_OPTIONS)
    os.chdir("/proc")
    kernel.pivot_root(".", ".")
    kernel.umount2(".", MNT_DETACH)  # the old root: nothing of the host is left mounted here
    os.chdir("/")
    kernel.mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, EMPTY_ROOT_OPTIONS)
    if keep is not None:
        wanted = keep & kernel.capget()[1]
        drop_bounding_set(kernel, wanted, last)
        kernel.capset(wanted, wanted, 0)
    kernel.prctl(PR_SET_NO_NEW_PRIVS, 1)


def _reap(*_: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
