"""Building a container's filesystem view inside its new mount namespace.

Runs in the container's first process after ``unshare(CLONE_NEWNS)`` and before ``execve``.
The order follows runc: make the copied mount tree non-shared so nothing leaks back to the host,
mount the overlay root (image layers read-only below, the container's own upper dir on top),
then /proc, a minimal /dev, a read-only /sys, the sandbox's /etc files and /dev/shm, the
config's volume mounts (host paths bound, image volumes as read-only overlays of the image's
layers), and, once the process is in its cgroup, that cgroup at /sys/fs/cgroup, before
``pivot_root``; then, in the new root, the read-only and masked paths. Every mount
is made through the ``Kernel`` interface. All mounts die with the mount namespace, so the host
never sees them and removal has nothing to unmount.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Callable

from runtime.linux.idmap import attach, host_id, idmapped_tree, make_readonly_recursive
from runtime.linux.syscalls import (
    CLONE_NEWCGROUP,
    MNT_DETACH,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
    MS_SHARED,
    MS_SLAVE,
    MS_STRICTATIME,
    Kernel,
    SyscallError,
)
from runtime.shim.paths import resolve_in_root
from runtime.shim.proc_mounts import ProcMountRefused, check_destination
from runtime.shim.process import ExecFailed

# (name, major, minor) of the device nodes every container gets, as the OCI runtime spec lists.
DEVICES = [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]
DEV_SYMLINKS = [
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
    ("pts/ptmx", "ptmx"),
]
PROPAGATION_FLAGS = {"private": MS_PRIVATE, "rslave": MS_SLAVE, "rshared": MS_SHARED}


def root_propagation(mounts: list[dict]) -> int:
    """rprivate unless a volume asks to receive (rslave) or share (rshared) host mounts."""
    kinds = {m.get("propagation", "private") for m in mounts}
    if "rshared" in kinds:
        return MS_SHARED
    if "rslave" in kinds:
        return MS_SLAVE
    return MS_PRIVATE


def parent_mount_point(path: str, mountinfo: str = "/proc/self/mountinfo") -> str:
    """The mount point under which `path` lives (the longest mount point that contains it)."""
    path = os.path.realpath(path)
    best = "/"
    with open(mountinfo) as f:
        for line in f:
            point = line.split(" ")[4].encode().decode("unicode_escape")
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) > len(best):
                best = point
    return best


def _ensure_dir(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _ensure_file(path: str) -> None:
    if os.path.lexists(path):  # as the pod's /etc files usually are: one system call
        return
    _ensure_dir(os.path.dirname(path))
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


def _ensure_target(root: str, destination: str, source_is_dir: bool) -> str:
    target = resolve_in_root(root, destination)
    if source_is_dir:
        _ensure_dir(target)
    else:
        _ensure_file(target)
    return target


def setup_rootfs(kernel: Kernel, spec: dict, before_pivot: Callable[[], None] | None = None) -> None:
    """Mount everything the container sees under the rootfs mount point, then pivot into it.
    ``before_pivot`` runs once everything is mounted, while the host's paths are still in view."""
    rootfs = spec["rootfs"]
    root = rootfs["target"]
    mounts = spec.get("mounts", [])
    privileged = spec.get("privileged", False)
    propagation = root_propagation(mounts)
    kernel.mount(None, "/", None, MS_REC | propagation, None)
    if propagation == MS_SHARED:
        # pivot_root refuses a new root whose parent mount is shared (EINVAL); as runc does, make
        # only that parent private, so rshared volumes keep their peers and the root leaks nothing.
        kernel.mount(None, parent_mount_point(root), None, MS_PRIVATE, None)
    lower = ":".join(rootfs["lower"])
    kernel.mount("overlay", root, "overlay", 0, f"lowerdir={lower},upperdir={rootfs['upper']},workdir={rootfs['work']}")

    _ensure_dir(f"{root}/proc")
    kernel.mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    _setup_dev(kernel, root, spec)
    _ensure_dir(f"{root}/sys")
    sys_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (0 if privileged else MS_RDONLY)
    kernel.mount("sysfs", f"{root}/sys", "sysfs", sys_flags, None)

    for destination, source in sorted(spec.get("etc_files", {}).items()):
        target = _ensure_target(root, destination, False)
        kernel.mount(source, target, None, MS_BIND, None)
    for mount in mounts:
        if mount.get("image"):
            _mount_image_volume(kernel, root, mount)
        else:
            _bind_volume(kernel, root, mount)

    cwd = spec["process"].get("cwd") or "/"
    _make_working_directory(root, cwd)
    if before_pivot is not None:
        before_pivot()
    if spec.get("cgroup_view"):  # after before_pivot: the cgroup exists and we are in it
        mount_cgroups(kernel, root, spec["cgroup_view"], privileged)
    # After pivot_root(".", ".") the old root sits on top of the new one. Step into the old root
    # (as runc does) before making it rslave and detaching it: applied from the new root's cwd,
    # the rslave would turn the new tree's rshared volumes into slaves.
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.chdir(root)
        kernel.pivot_root(".", ".")
        os.fchdir(old_root)
        kernel.mount(None, ".", None, MS_REC | MS_SLAVE, None)
        kernel.umount2(".", MNT_DETACH)
    finally:
        os.close(old_root)
    os.chdir("/")
    if not privileged:
        # In the new root, as runc: the kernel resolves each path there, symlinks included, so
        # none can lead out of it and nothing has to be resolved by hand.
        for path in spec.get("readonly_paths", []):
            _make_readonly(kernel, path)
        for path in spec.get("masked_paths", []):
            _mask(kernel, path)
    if rootfs.get("readonly"):
        kernel.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)


def mount_cgroups(kernel: Kernel, root: str, view: dict, writable: bool) -> None:
    """The container's own cgroup at /sys/fs/cgroup, read-only unless privileged, as runc mounts
    it (programs size themselves from it: a JVM's heap, Go's GOMAXPROCS). cgroup v2: a cgroup
    namespace rooted at the container's cgroup (the caller has joined it), cgroup2 mounted in
    it. cgroup v1: a tmpfs holding a bind of the container's directory in each hierarchy."""
    target = f"{root}/sys/fs/cgroup"
    if not os.path.isdir(target):
        return  # a kernel without cgroup support has no mount point in sysfs
    readonly = 0 if writable else MS_RDONLY
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME
    if view["version"] == 2:
        kernel.unshare(CLONE_NEWCGROUP)
        kernel.mount("cgroup2", target, "cgroup2", flags | readonly, None)
        return
    kernel.mount("tmpfs", target, "tmpfs", flags, "mode=755")
    for source, name in view["binds"]:
        os.mkdir(f"{target}/{name}", 0o755)
        kernel.mount(source, f"{target}/{name}", None, MS_BIND | MS_REC, None)
        if readonly:
            kernel.mount(None, f"{target}/{name}", None, MS_BIND | MS_REMOUNT | flags | readonly, None)
    for name, link_target in view["links"]:
        os.symlink(link_target, f"{target}/{name}")
    if readonly:
        kernel.mount(None, target, None, MS_REMOUNT | flags | readonly, "mode=755")


def _make_working_directory(root: str, cwd: str) -> None:
    """Create the working directory, as runc does; the error names the container's path only."""
    target = resolve_in_root(root, cwd)
    try:
        _ensure_dir(target)
    except OSError as e:
        if os.path.exists(target) and not os.path.isdir(target):
            raise ExecFailed(f"working directory {cwd}: not a directory") from e
        raise ExecFailed(f"cannot create the working directory {cwd}: {e.strerror or e}") from e


def dev_owner_options(spec: dict) -> tuple[str, str]:
    """Extra tmpfs and devpts options so that /dev belongs to the pod's root and new terminals to
    its tty group when the pod has its own user namespace (we mount as host root, whose IDs
    would show as nobody there)."""
    userns = spec.get("userns")
    if not userns:
        return "", ",gid=5"
    uid, gid, tty = host_id(userns["uids"], 0), host_id(userns["gids"], 0), host_id(userns["gids"], 5)
    return (f",uid={uid},gid={gid}" if uid is not None and gid is not None else "",
            f",gid={tty}" if tty is not None else "")


@functools.cache
def has_kcore() -> bool:
    """Whether the kernel has /proc/kcore; read once per process (the fork server's, see
    ``runtime.forkserver``), the answer cannot change while it runs."""
    return os.path.exists("/proc/kcore")


def _setup_dev(kernel: Kernel, root: str, spec: dict) -> None:
    dev = f"{root}/dev"
    _ensure_dir(dev)
    owner, tty_group = dev_owner_options(spec)
    kernel.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k" + owner)
    umask = os.umask(0)  # the nodes get their mode as made, with no chmod after each
    try:
        for name, major, minor in DEVICES:
            os.mknod(f"{dev}/{name}", stat.S_IFCHR | 0o666, os.makedev(major, minor))
    finally:
        os.umask(umask)
    for target, name in DEV_SYMLINKS:
        os.symlink(target, f"{dev}/{name}")
    if has_kcore():  # built with CONFIG_PROC_KCORE: as runc, then /dev/core too
        os.symlink("/proc/kcore", f"{dev}/core")
    os.mkdir(f"{dev}/pts", 0o755)
    kernel.mount("devpts", f"{dev}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620" + tty_group)
    os.mkdir(f"{dev}/shm", 0o1777)
    shm = spec.get("shm")
    if shm:
        kernel.mount(shm, f"{dev}/shm", None, MS_BIND | MS_REC, None)
    else:
        kernel.mount("shm", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k")
    for device in spec.get("devices", []):
        target = resolve_in_root(root, device["path"])
        _ensure_dir(os.path.dirname(target))
        kind = stat.S_IFCHR if device["type"] == "c" else stat.S_IFBLK
        os.mknod(target, kind | device["mode"], os.makedev(device["major"], device["minor"]))
        os.chmod(target, device["mode"])
    os.mkdir(f"{dev}/mqueue", 0o755)
    kernel.mount("mqueue", f"{dev}/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)


def _volume_target(root: str, mount: dict, source: str | None) -> str:
    """Where a volume lands on the host, once the image's symlinks are resolved; refused (as the
    daemon refused the destination as written) if that is in the container's /proc."""
    target = resolve_in_root(root, mount["destination"])
    relative = os.path.relpath(target, root)
    seen = "/" if relative == "." else "/" + relative
    try:
        check_destination(seen, source)
    except ProcMountRefused as e:
        raise ExecFailed(f"volume {mount['destination']!r} resolves to {seen!r} in the container: {e}") from e
    return target


def _bind_volume(kernel: Kernel, root: str, mount: dict) -> None:
    source = mount["source"]
    target = _volume_target(root, mount, source)
    if os.path.isdir(source):
        _ensure_dir(target)
    else:
        _ensure_file(target)
    if mount.get("idmap_userns_fd") is not None:  # see runtime.shim.userns.idmapped_spec
        tree = idmapped_tree(source, mount["idmap_userns_fd"])
        try:
            attach(tree, target)
        finally:
            os.close(tree)
    else:
        kernel.mount(source, target, None, MS_BIND | MS_REC, None)
    if mount.get("readonly"):
        kernel.mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
    kernel.mount(None, target, None, MS_REC | PROPAGATION_FLAGS[mount.get("propagation", "private")], None)
    if mount.get("recursive_readonly"):  # private by then, so no read-only flag leaks to peers
        make_readonly_recursive(target)


def overlay_lowerdir(directories: list[str]) -> str:
    """The ``lowerdir=`` value: overlayfs splits on ``:`` and options on ``,``; a backslash
    escapes either (and itself), so a sub path may hold any of them."""
    escaped = [d.replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,") for d in directories]
    return ":".join(escaped)


def _mount_image_volume(kernel: Kernel, root: str, mount: dict) -> None:
    """An image volume: the image's layers (or, for a sub path, their directories there) as a
    read-only overlay with no upper directory, so nothing can be written through it."""
    target = _volume_target(root, mount, None)
    _ensure_dir(target)
    kernel.mount("overlay", target, "overlay", MS_RDONLY, f"lowerdir={overlay_lowerdir(mount['lower'])}")
    kernel.mount(None, target, None, MS_REC | PROPAGATION_FLAGS[mount.get("propagation", "private")], None)


def _mask(kernel: Kernel, path: str) -> None:
    """Hide ``path`` (in the container's root): a file behind /dev/null, a directory behind an
    empty read-only tmpfs; a path that does not exist needs no hiding."""
    try:
        kernel.mount("/dev/null", path, None, MS_BIND, None)
    except SyscallError as e:
        if e.errno == errno.ENOENT:
            return
        if e.errno != errno.ENOTDIR:  # the kernel's answer for a file bound on a directory
            raise
        kernel.mount("tmpfs", path, "tmpfs", MS_RDONLY, None)


def _make_readonly(kernel: Kernel, path: str) -> None:
    """Make ``path`` (in the container's root) a read-only bind of itself; absent, nothing."""
    try:
        kernel.mount(path, path, None, MS_BIND | MS_REC, None)
    except SyscallError as e:
        if e.errno == errno.ENOENT:
            return
        raise
    kernel.mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
