"""The last steps before ``execve``: credentials, capabilities, no_new_privs, environment.

Shared by a container's first process and by exec'd processes, which get the same user,
capabilities and environment as the container (as runc exec does). The order matters and
follows runc: drop the bounding set while still root, keep capabilities across the uid change,
switch groups then gid then uid, set the permitted/effective sets, and only then set
no_new_privs, which must be last because it forbids gaining privileges afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import stat

from runtime.linux import apparmor_exec, capabilities, seccomp
from runtime.linux.syscalls import (
    PR_CAP_AMBIENT,
    PR_CAP_AMBIENT_CLEAR_ALL,
    PR_CAPBSET_DROP,
    PR_SET_KEEPCAPS,
    PR_SET_NO_NEW_PRIVS,
    Kernel,
    last_capability,
)
from runtime.shim import user

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Python ignores these at start-up; an ignored disposition survives execve, so undo it.
SIGNALS_TO_RESET = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGUSR1, signal.SIGTERM,
                    signal.SIGINT, signal.SIGHUP)


class ExecFailed(Exception):
    """The process could not be started; carries the message the CRI caller sees."""


def reset_signals() -> None:
    signal.set_wakeup_fd(-1)
    for sig in SIGNALS_TO_RESET:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def apply_process(kernel: Kernel, process: dict, creds: user.Credentials | None = None) -> None:
    """Become the container's user with its capabilities and exec its command. Never returns."""
    prepare_exec(kernel, process, creds).run()


class ReadyToExec:
    """A process that has become the container's user and only has to exec: what is left is
    the seccomp filter that must come last (with no_new_privs) and ``execve`` itself."""

    def __init__(self, kernel: Kernel, path: str, args: list[str], env: dict[str, str],
                 late_filter: tuple[bytes, int] | None) -> None:
        self.kernel = kernel
        self.path = path
        self.args = args
        self.env = env
        self.late_filter = late_filter

    def run(self) -> None:
        """Never returns: execs, or raises ExecFailed/OSError for the caller to report."""
        if self.late_filter is not None:
            # As late as runc loads it: the profile need not allow our own set-up calls.
            seccomp.install(self.kernel, *self.late_filter)
        try:
            os.execve(self.path, self.args, self.env)
        except FileNotFoundError as e:
            raise ExecFailed(f'exec: "{self.args[0]}": executable file not found in $PATH') from e
        except PermissionError as e:
            raise ExecFailed(f'exec: "{self.args[0]}": permission denied') from e


def prepare_exec(kernel: Kernel, process: dict, creds: user.Credentials | None = None) -> ReadyToExec:
    """Everything before the exec that the process itself must do: as runc finalizes its init
    before it waits for the start, a prepared container process does this ahead, so a start
    only pays for the exec."""
    if creds is None:
        creds = user.resolve(process.get("user", {}))
    adj = process.get("oom_score_adj")
    if adj is not None:
        try:
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, str(adj).encode())
            finally:
                os.close(fd)
        except OSError:
            pass  # lowering it needs CAP_SYS_RESOURCE; the limit still applies, the hint does not
    profile = process.get("apparmor_profile")
    if profile:
        # As runc: while still root, for the next execve; the set-up itself runs unconfined.
        try:
            apparmor_exec.confine_at_exec(profile)
        except OSError as e:
            raise ExecFailed(f"cannot apply AppArmor profile {profile!r}: {e.strerror or e}") from e
    cwd = process.get("cwd") or "/"
    os.chdir(cwd)
    last = last_capability()
    names = [n for n in process.get("capabilities", []) if capabilities.NUMBERS[n] <= last]
    # Never ask for more than we hold: a capability withheld from the runtime itself (as
    # CAP_SYS_RESOURCE is on some hosts) cannot be granted to a container either.
    wanted = capabilities.mask(names) & kernel.capget()[1]
    drop_bounding_set(kernel, wanted, last)
    seccomp_filter = seccomp.filter_for(process.get("seccomp"), names)
    no_new_privs = bool(process.get("no_new_privs"))
    if seccomp_filter and not no_new_privs:
        # Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we hold it.
        seccomp.install(kernel, *seccomp_filter)
    kernel.prctl(PR_SET_KEEPCAPS, 1)
    os.setgroups(creds.additional_gids)
    os.setresgid(creds.gid, creds.gid, creds.gid)
    os.setresuid(creds.uid, creds.uid, creds.uid)
    kernel.prctl(PR_SET_KEEPCAPS, 0)
    kernel.capset(wanted, wanted, 0)
    kernel.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    if no_new_privs:
        kernel.prctl(PR_SET_NO_NEW_PRIVS, 1)
    env = environment(process.get("env", []))
    env.setdefault("HOME", creds.home)  # as runc: from the user's passwd entry, else /
    args = process["args"]
    return ReadyToExec(kernel, executable(args[0], env["PATH"]), args, env,
                       seccomp_filter if seccomp_filter and no_new_privs else None)


def drop_bounding_set(kernel: Kernel, wanted: int, last: int) -> None:
    """Drop every capability but ``wanted`` from the bounding set, for good (needs CAP_SETPCAP,
    so before the process gives up its own capabilities)."""
    for number in range(last + 1):
        if not wanted & (1 << number):
            kernel.prctl(PR_CAPBSET_DROP, number)


def executable(name: str, search_path: str) -> str:
    """The file to exec for ``name``, found as runc finds it (Go's LookPath): a name with a slash
    as it is, else the first regular file with an execute bit in a ``search_path`` directory.
    One stat per directory, where an exec-and-retry search pays a failed execve for each."""
    if "/" in name:
        return name
    for directory in search_path.split(":"):
        candidate = os.path.join(directory or ".", name)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return candidate
    raise ExecFailed(f'exec: "{name}": executable file not found in $PATH')


def environment(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        env[key] = value
    env.setdefault("PATH", DEFAULT_PATH)
    return env


def report_failure(errpipe: int, error: BaseException) -> None:
    """Tell the parent why we are about to exit instead of exec'ing, then exit 127."""
    message = str(error) or type(error).__name__
    if isinstance(error, OSError) and not isinstance(error, ExecFailed):
        message = f"{type(error).__name__}: {message}"
    try:
        os.write(errpipe, json.dumps({"error": message}).encode())
    finally:
        os._exit(127)
