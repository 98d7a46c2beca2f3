"""Idmapped mounts: the new mount API calls (open_tree, mount_setattr, move_mount) and ID maps.

A pod in its own user namespace sees host IDs shifted (container 0 is host 100000, say). The
image layers on disk are owned by host IDs as unpacked (root is 0), so seen from the pod they
would belong to nobody. An idmapped mount fixes the view without touching the files: a detached
copy of a directory's mount (``open_tree(OPEN_TREE_CLONE)``) is given a user namespace
(``mount_setattr(MOUNT_ATTR_IDMAP)``) whose mapping the kernel applies to every owner it reads
or writes through that mount, so on-disk 0 appears as host 100000, which is the pod's root.
Such a detached tree is reachable as ``/proc/self/fd/N`` (overlayfs takes that as a lower
layer), or attached at a path with ``move_mount``. Idmapping needs CAP_SYS_ADMIN over the
filesystem's user namespace, so it is done by host root, never from inside the pod's namespace.

ID maps are plain data here: lists of ``{"container_id", "host_id", "length"}``, the CRI
``IDMapping`` fields, written to ``/proc/<pid>/uid_map`` as the kernel's ``uid_map`` lines.
``IdmapError`` carries the errno and what was attempted, as ``SyscallError`` does. Syscall
numbers of the new mount API are the same on x86_64 and aarch64 (the generic table).

Run as ``python -m runtime.linux.idmap PATH`` it probes whether PATH's filesystem takes
idmapped mounts (what critest checks before its user namespace specs); exit status 0 if so.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import sys
from collections.abc import Iterator

SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_MOUNT_SETATTR = 442

OPEN_TREE_CLONE = 0x1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_RDONLY = 0x00000001
RECURSIVE_READ_ONLY_KERNEL = (5, 12)  # mount_setattr
MOUNT_ATTR_IDMAP = 0x00100000
CLONE_NEWUSER = 0x10000000

# The largest ID a map may reach: (uid_t)-1 is "no ID" and never mapped.
MAX_ID = 0xFFFFFFFE

Mapping = dict  # {"container_id": int, "host_id": int, "length": int}


class IdmapError(OSError):
    """An idmapping step failed; ``call`` says what was attempted, ``errno`` what the kernel said."""

    def __init__(self, err: int, call: str) -> None:
        super().__init__(err, f"{call}: {os.strerror(err)}")
        self.call = call


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _check(result: int, call: str) -> int:
    if result < 0:
        raise IdmapError(ctypes.get_errno(), call)
    return result


def clone_tree(path: str, recursive: bool = True) -> int:
    """A detached copy of the mount at ``path`` (with its submounts when ``recursive``), as an fd."""
    flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (AT_RECURSIVE if recursive else 0)
    return _check(_libc.syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), flags), f"open_tree({path!r}, OPEN_TREE_CLONE)")


def set_idmap(tree_fd: int, userns_fd: int, recursive: bool = True, what: str = "") -> None:
    """Make the detached tree ``tree_fd`` show owners through the user namespace ``userns_fd``."""
    attr = _MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
    flags = AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0)
    _check(_libc.syscall(SYS_MOUNT_SETATTR, tree_fd, b"", flags, ctypes.byref(attr), ctypes.sizeof(attr)),
           f"mount_setattr({what or tree_fd}, MOUNT_ATTR_IDMAP)")


def recursive_readonly_supported(release: str | None = None) -> bool:
    """Whether the kernel has mount_setattr (Linux 5.12), which recursive read-only mounts need."""
    numbers = (release or os.uname().release).split(".")[:2]
    try:
        return (int(numbers[0]), int("".join(c for c in numbers[1] if c.isdigit()) or 0)) >= RECURSIVE_READ_ONLY_KERNEL
    except (IndexError, ValueError):
        return False


def make_readonly_recursive(path: str) -> None:
    """Make the mount at ``path`` and every mount below it read-only: a recursive read-only
    bind (CRI ``recursive_read_only``, OCI ``rro``). A read-only remount reaches the top mount only."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    _check(_libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE | AT_SYMLINK_NOFOLLOW,
                         ctypes.byref(attr), ctypes.sizeof(attr)),
           f"mount_setattr({path!r}, MOUNT_ATTR_RDONLY, AT_RECURSIVE)")


def attach(tree_fd: int, target: str) -> None:
    """Attach a detached tree at ``target`` in the caller's mount namespace."""
    _check(_libc.syscall(SYS_MOVE_MOUNT, tree_fd, b"", AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH),
           f"move_mount(fd {tree_fd} -> {target!r})")


def idmapped_tree(path: str, userns_fd: int) -> int:
    """A detached, idmapped copy of ``path``'s mount tree; the caller closes the fd."""
    fd = clone_tree(path)
    try:
        set_idmap(fd, userns_fd, what=repr(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def fd_path(fd: int) -> str:
    """How the calling process names a detached tree in a path (an overlay lowerdir, say)."""
    return f"/proc/self/fd/{fd}"


# ---------------------------------------------------------------------------------------- maps
def map_lines(mappings: list[Mapping]) -> str:
    """The ``uid_map``/``gid_map`` text: ``<inside> <outside> <length>`` per line."""
    return "".join(f"{m['container_id']} {m['host_id']} {m['length']}\n" for m in mappings)


def host_id(mappings: list[Mapping], inside: int) -> int | None:
    """The host ID that ``inside`` (an ID in the namespace) maps to, or None if unmapped."""
    for m in mappings:
        if m["container_id"] <= inside < m["container_id"] + m["length"]:
            return m["host_id"] + inside - m["container_id"]
    return None


def write_id_maps(pid: int, uids: list[Mapping], gids: list[Mapping], proc: str = "/proc") -> None:
    """Give the fresh user namespace of ``pid`` its maps, from outside (the parent namespace),
    where host root may map any range. ``setgroups`` stays "allow": the pod's processes set
    their supplementary groups inside it."""
    for name, mappings in (("uid_map", uids), ("gid_map", gids)):
        path = f"{proc}/{pid}/{name}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, map_lines(mappings).encode())  # the kernel takes a map in one write
            finally:
                os.close(fd)
        except OSError as e:
            raise IdmapError(e.errno or 0, f"write {map_lines(mappings).strip()!r} to {path}") from e


def same_user_namespace(path: str, own: str = "/proc/self/ns/user") -> bool:
    """Whether the namespace at ``path`` is the caller's (setns into one's own fails)."""
    a, b = os.stat(path), os.stat(own)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


@contextlib.contextmanager
def temporary_user_namespace(uids: list[Mapping], gids: list[Mapping]) -> Iterator[int]:
    """An fd of a new user namespace with these maps, for idmapping a mount with a mapping no
    running process has. A child unshares it and waits; its namespace outlives it through the fd.
    Forks: call only from a single-threaded process (a gRPC client's forked child still counts
    as threaded and gets EINVAL)."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.close(go_w)
            failed = _libc.unshare(CLONE_NEWUSER) != 0
            os.write(ready_w, str(ctypes.get_errno() if failed else 0).encode())
            os.read(go_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(go_r)
    try:
        answer = os.read(ready_r, 16)
        if answer != b"0":
            raise IdmapError(int(answer or b"0") or errno.ECHILD, "unshare(CLONE_NEWUSER) for an idmapped mount's user namespace")
        write_id_maps(pid, uids, gids)
        fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.close(go_w)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    try:
        yield fd
    finally:
        os.close(fd)


PROBE_MAPPING = [{"container_id": 0, "host_id": 65536, "length": 65536}]


def probe(path: str) -> str | None:
    """None if an idmapped mount of ``path``'s filesystem works here, else why not."""
    try:
        with temporary_user_namespace(PROBE_MAPPING, PROBE_MAPPING) as userns:
            os.close(idmapped_tree(path, userns))
    except OSError as e:
        return str(e)
    return None


if __name__ == "__main__":
    reason = probe(sys.argv[1] if len(sys.argv) > 1 else "/")
    if reason is not None:
        sys.stdout.write(reason + "\n")
    sys.exit(0 if reason is None else 1)
