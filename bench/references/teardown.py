"""Forced cleanup shared by the runtime harnesses: processes, mounts, cgroups, pods.

Each harness first asks its runtime to remove its pods through CRI (the runtime undoes its own
work best), then uses these to remove whatever is left even if the runtime crashed: processes
in the harness's cgroups, mounts under its directory (deepest first, lazily), and the cgroup
directories themselves (children before parents).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable

CGROUP_ROOT = "/sys/fs/cgroup"


def remove_pods_via_cri(endpoint: str, timeout: float = 30.0) -> None:
    """Stop and remove every pod sandbox at `endpoint`; errors are left to the forced cleanup."""
    try:
        import grpc

        from cri import api_pb2, api_pb2_grpc
    except ImportError:
        return
    try:
        with grpc.insecure_channel(endpoint) as channel:
            rt = api_pb2_grpc.RuntimeServiceStub(channel)
            for pod in rt.ListPodSandbox(api_pb2.ListPodSandboxRequest(), timeout=10).items:
                try:
                    rt.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod.id), timeout=timeout)
                    rt.RemovePodSandbox(
                        api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=timeout
                    )
                except grpc.RpcError:
                    continue
    except grpc.RpcError:
        pass


def pids_mentioning(path: str) -> set[int]:
    """Processes whose command line names `path` (a daemon's --config/--root under it).

    This finds a harness's daemon even when the harness object that started it is gone (its
    owner was killed), so a later teardown still stops it.
    """
    needle = path.encode()
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle in f.read():
                    found.add(int(entry))
        except OSError:
            continue
    return found


def cgroup_dirs(name: str) -> list[str]:
    """`/sys/fs/cgroup/<controller>/<name>` for every controller that has it."""
    found: list[str] = []
    if not os.path.isdir(CGROUP_ROOT):
        return found
    for controller in sorted(os.listdir(CGROUP_ROOT)):
        path = os.path.join(CGROUP_ROOT, controller, name.strip("/"))
        if os.path.isdir(path):
            found.append(path)
    return found


def cgroup_pids(name: str) -> set[int]:
    pids: set[int] = set()
    for top in cgroup_dirs(name):
        for dirpath, _dirs, files in os.walk(top):
            if "cgroup.procs" in files:
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        pids.update(int(p) for p in f.read().split())
                except OSError:
                    pass
    return pids


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Adopt our daemons' orphans (killed shims' children) so teardown can reap them.

    Without this they are re-parented to PID 1, which on some machines never reaps them, and
    they stay as zombies after the harness is gone.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def _alive(pid: int) -> bool:
    """True unless the process is gone or a zombie; reaps it if it is our (adopted) child."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def kill_all(pids_fn: Callable[[], Iterable[int]], rounds: int = 30) -> None:
    """SIGKILL what `pids_fn()` returns until none of it is alive (bounded), reaping adoptees."""
    killed: set[int] = set()
    for _ in range(rounds):
        pids = [p for p in pids_fn() if _alive(p)]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    reap(killed)


def reap(pids: set[int], timeout: float = 3.0) -> None:
    """Wait (bounded) until each of `pids` is gone or no longer ours to reap."""
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = {p for p in pids if os.path.exists(f"/proc/{p}") and (_alive(p) or _zombie_of_ours(p))}
        if pids:
            time.sleep(0.05)


def _zombie_of_ours(pid: int) -> bool:
    """A zombie we could still reap (our child); zombies of others are not ours to wait for."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return False
    return ppid == os.getpid()


def remove_cgroups(name: str) -> None:
    for top in cgroup_dirs(name):
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            for _ in range(20):
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def unmount_under(path: str) -> None:
    """Lazily unmount every mount at or below `path`, deepest first."""
    base = os.path.realpath(path)
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == base or point.startswith(base + "/"):
                mounts.append(point)
    for point in sorted(set(mounts), key=lambda p: -p.count("/")):
        subprocess.run(["umount", "-l", point], capture_output=True)


def process_rss_kib(pid: int) -> int:
    """Resident set size of one process in KiB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_pss_kib(pid: int) -> int:
    """Proportional set size in KiB: shared pages (forked shims share the fork server's) split."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reap_zombie_children(comms: set[str]) -> None:
    """Reap our zombie children named in `comms` (helpers that exited while we were subreaper)."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat.rsplit(")", 1)[1].split()
        if comm in comms and fields[0] == "Z" and int(fields[1]) == me:
            try:
                os.waitpid(int(entry), os.WNOHANG)
            except ChildProcessError:
                pass
