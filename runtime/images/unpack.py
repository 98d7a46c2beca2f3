"""Unpacking a layer tar into a directory without ever writing outside it.

Every path is resolved one component at a time from an open file descriptor of the target
(``openat`` with ``O_NOFOLLOW | O_DIRECTORY``): a symlink is never followed while writing, so
neither a symlink planted by the layer itself nor one that was already there can redirect a
write. Entry names are checked before anything is written:

- absolute names and names with a ``..`` component are *rejected* (no image builder produces
  them; neutralising them would silently produce a different tree than the author meant);
- a parent component that is a symlink is rejected (following it could leave the layer);
- hard links must point at an entry already unpacked inside the same directory, resolved the
  same way;
- block and character devices are rejected; the only device nodes we create are overlay
  whiteouts (char 0/0), from ``.wh.`` entries. FIFOs are harmless and allowed.

The failure is an ``UnsafeLayerEntry`` naming the entry. The caller unpacks into a fresh
temporary directory and renames it into place only on success, so a rejected layer leaves
nothing behind.

Whiteouts come in two modes. ``OVERLAY`` (the store's layers, used as overlayfs lowerdirs):
``.wh.NAME`` becomes a char device 0/0 named NAME and ``.wh..wh..opq`` sets
``trusted.overlay.opaque=y`` on its directory, the representation overlayfs (and containerd's
overlay snapshotter) expect. ``APPLY`` (extracting several layers onto one tree): ``.wh.NAME``
deletes NAME, and an opaque marker deletes what lower layers put in that directory.

Owners are kept when running as root; modes (with setuid/setgid/sticky), mtimes and extended
attributes are kept where the kernel allows (``trusted.overlay.*`` from a layer is ignored: only
we may mark whiteouts). Directory modes and times are applied last, deepest first, so a
read-only directory can still be filled.
"""

from __future__ import annotations

import enum
import errno
import logging
import os
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runtime.images.errors import InvalidImage, UnsafeLayerEntry

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
COPY_CHUNK = 1 << 20


class WhiteoutMode(enum.Enum):
    OVERLAY = "overlay"
    APPLY = "apply"


@dataclass
class UnpackStats:
    entries: int = 0
    bytes_written: int = 0


def split_entry_name(name: str) -> tuple[str, ...]:
    """The components of an entry name, or UnsafeLayerEntry if it could leave the target."""
    if name.startswith("/"):
        raise UnsafeLayerEntry(name, "absolute path")
    parts = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise UnsafeLayerEntry(name, "path contains '..'")
        parts.append(part)
    return tuple(parts)


class _Unpacker:
    def __init__(self, root_fd: int, mode: WhiteoutMode, same_owner: bool) -> None:
        self.root_fd = root_fd
        self.mode = mode
        self.same_owner = same_owner
        self.dir_fds: dict[tuple[str, ...], int] = {(): root_fd}
        self.dirs: dict[tuple[str, ...], tarfile.TarInfo] = {}
        self.created: set[tuple[str, ...]] = set()
        self.stats = UnpackStats()

    # -- path resolution -------------------------------------------------------------------
    def parent_fd(self, entry: str, parts: tuple[str, ...], create: bool) -> int:
        """An fd of the directory ``parts`` (no symlinks followed), creating it if asked."""
        if parts in self.dir_fds:
            return self.dir_fds[parts]
        fd = self.parent_fd(entry, parts[:-1], create)
        name = parts[-1]
        try:
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                raise UnsafeLayerEntry(entry, f"{'/'.join(parts)} does not exist in this layer") from None
            os.mkdir(name, 0o755, dir_fd=fd)
            self.created.add(parts)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                what = "a symlink" if self._is_symlink(fd, name) else "not a directory"
                raise UnsafeLayerEntry(
                    entry, f"parent {'/'.join(parts)} is {what}; following it could leave the layer"
                ) from None
            raise
        self.dir_fds[parts] = child
        return child

    @staticmethod
    def _is_symlink(dir_fd: int, name: str) -> bool:
        try:
            return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
        except OSError:
            return False

    def forget(self, parts: tuple[str, ...]) -> None:
        """Drop cached fds of ``parts`` and everything under it (it is being removed)."""
        for key in [k for k in self.dir_fds if k[: len(parts)] == parts and k]:
            os.close(self.dir_fds.pop(key))
        for key in [k for k in self.dirs if k[: len(parts)] == parts]:
            del self.dirs[key]

    def remove(self, dir_fd: int, parts: tuple[str, ...]) -> None:
        """Remove whatever is at ``parts`` (file, link or whole tree), if anything."""
        name = parts[-1]
        try:
            st = os.lstat(name, dir_fd=dir_fd)
        except FileNotFoundError:
            return
        self.forget(parts)
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)

    # -- entries ---------------------------------------------------------------------------
    def apply(self, info: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        entry = info.name
        parts = split_entry_name(entry)
        if not parts:
            return  # the layer's root itself: the target directory already exists
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX):
            self.whiteout(entry, parts)
            return
        if info.ischr() or info.isblk():
            raise UnsafeLayerEntry(entry, "device nodes are not allowed in image layers")
        if not (info.isreg() or info.isdir() or info.issym() or info.islnk() or info.isfifo()):
            raise UnsafeLayerEntry(entry, f"unsupported tar entry type {info.type!r}")
        parent = self.parent_fd(entry, parts[:-1], create=True)
        self.stats.entries += 1
        if info.isdir():
            try:
                st = os.lstat(base, dir_fd=parent)
                if not stat.S_ISDIR(st.st_mode):
                    self.remove(parent, parts)
                    os.mkdir(base, 0o700, dir_fd=parent)
            except FileNotFoundError:
                os.mkdir(base, 0o700, dir_fd=parent)
            self.created.add(parts)
            self.dirs[parts] = info
            self.chown(parent, base, info, entry)
            self.set_xattrs(None, parent, base, info, entry)
            return
        self.remove(parent, parts)
        self.created.add(parts)
        if info.isreg():
            self.write_file(parent, base, info, tar, entry)
        elif info.issym():
            os.symlink(info.linkname, base, dir_fd=parent)
            self.chown(parent, base, info, entry)
            os.utime(base, ns=(int(info.mtime * 10**9),) * 2, dir_fd=parent, follow_symlinks=False)
        elif info.islnk():
            self.hardlink(parent, base, info, entry)
        else:  # fifo
            os.mkfifo(base, 0o600, dir_fd=parent)
            self.chown(parent, base, info, entry)
            os.chmod(base, info.mode & 0o7777, dir_fd=parent)

    def write_file(self, parent: int, base: str, info: tarfile.TarInfo, tar: tarfile.TarFile, entry: str) -> None:
        fd = os.open(
            base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=parent
        )
        try:
            src = tar.extractfile(info)
            if src is not None:
                remaining = info.size
                while remaining > 0:
                    chunk = src.read(min(COPY_CHUNK, remaining))
                    if not chunk:
                        raise InvalidImage(f"layer entry {entry!r} is truncated")
                    _write_all(fd, chunk)
                    remaining -= len(chunk)
                self.stats.bytes_written += info.size
            if self.same_owner:
                _chown_fd(fd, info.uid, info.gid, entry)
            os.fchmod(fd, info.mode & 0o7777)
            self.set_xattrs(fd, parent, base, info, entry)
            os.utime(fd, ns=(int(info.mtime * 10**9),) * 2)
        finally:
            os.close(fd)

    def hardlink(self, parent: int, base: str, info: tarfile.TarInfo, entry: str) -> None:
        try:
            target = split_entry_name(info.linkname)
        except UnsafeLayerEntry as e:
            raise UnsafeLayerEntry(entry, f"hard link target {info.linkname!r}: {e.reason}") from None
        if not target:
            raise UnsafeLayerEntry(entry, "hard link to the layer root")
        src_parent = self.parent_fd(entry, target[:-1], create=False)
        try:
            st = os.lstat(target[-1], dir_fd=src_parent)
        except FileNotFoundError:
            raise UnsafeLayerEntry(entry, f"hard link target {info.linkname!r} is not in this layer") from None
        if stat.S_ISDIR(st.st_mode):
            raise UnsafeLayerEntry(entry, f"hard link target {info.linkname!r} is a directory")
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            raise UnsafeLayerEntry(entry, f"hard link target {info.linkname!r} is a device node")
        os.link(target[-1], base, src_dir_fd=src_parent, dst_dir_fd=parent, follow_symlinks=False)

    def whiteout(self, entry: str, parts: tuple[str, ...]) -> None:
        base = parts[-1]
        parent = self.parent_fd(entry, parts[:-1], create=True)
        self.stats.entries += 1
        if base == OPAQUE_MARKER:
            if self.mode is WhiteoutMode.OVERLAY:
                _set_opaque(parent, entry)
            else:
                for child in os.listdir(parent):
                    if parts[:-1] + (child,) not in self.created:
                        self.remove(parent, parts[:-1] + (child,))
            return
        if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            return  # other aufs metadata (.wh..wh.plnk, ...): meaningless outside aufs
        victim = base[len(WHITEOUT_PREFIX) :]
        if not victim or victim in (".", ".."):
            raise UnsafeLayerEntry(entry, "whiteout of an invalid name")
        vparts = parts[:-1] + (victim,)
        self.remove(parent, vparts)
        if self.mode is WhiteoutMode.OVERLAY:
            try:
                os.mknod(victim, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=parent)
            except PermissionError as e:
                raise InvalidImage(
                    f"layer entry {entry!r}: creating an overlay whiteout needs CAP_MKNOD (run as root)"
                ) from e
            self.created.add(vparts)

    # -- metadata --------------------------------------------------------------------------
    def chown(self, parent: int, base: str, info: tarfile.TarInfo, entry: str) -> None:
        if not self.same_owner:
            return
        try:
            os.chown(base, info.uid, info.gid, dir_fd=parent, follow_symlinks=False)
        except OSError as e:
            raise InvalidImage(f"layer entry {entry!r}: chown to {info.uid}:{info.gid} failed: {e.strerror}") from e

    def set_xattrs(self, fd: int | None, parent: int, base: str, info: tarfile.TarInfo, entry: str) -> None:
        for key, value in info.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr.") :]
            if name.startswith("trusted.overlay."):
                continue
            raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
            try:
                if fd is not None:
                    os.setxattr(fd, name, raw)
                else:
                    dfd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
                    try:
                        os.setxattr(dfd, name, raw)
                    finally:
                        os.close(dfd)
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES):
                    raise
                log.debug("xattr not kept", extra={"entry": entry, "xattr": name, "error": e.strerror})

    def finish_dirs(self) -> None:
        for parts in sorted(self.dirs, key=len, reverse=True):
            info = self.dirs[parts]
            parent = self.dir_fds.get(parts[:-1])
            if parent is None:
                continue
            fd = os.open(parts[-1], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
            try:
                os.fchmod(fd, info.mode & 0o7777)
                os.utime(fd, ns=(int(info.mtime * 10**9),) * 2)
            finally:
                os.close(fd)

    def close(self) -> None:
        for key, fd in self.dir_fds.items():
            if key:
                os.close(fd)
        self.dir_fds = {(): self.root_fd}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _chown_fd(fd: int, uid: int, gid: int, entry: str) -> None:
    try:
        os.fchown(fd, uid, gid)
    except OSError as e:
        raise InvalidImage(f"layer entry {entry!r}: chown to {uid}:{gid} failed: {e.strerror}") from e


def _set_opaque(dir_fd: int, entry: str) -> None:
    try:
        os.setxattr(dir_fd, OVERLAY_OPAQUE_XATTR, b"y")
    except OSError as e:
        raise InvalidImage(
            f"layer entry {entry!r}: marking the directory opaque ({OVERLAY_OPAQUE_XATTR}) failed: "
            f"{e.strerror} (needs root and a filesystem with trusted xattrs)"
        ) from e


def unpack_tar(
    stream: BinaryIO,
    target: Path,
    mode: WhiteoutMode = WhiteoutMode.OVERLAY,
    same_owner: bool | None = None,
) -> UnpackStats:
    """Unpack the uncompressed tar ``stream`` into the existing directory ``target``."""
    if same_owner is None:
        same_owner = os.geteuid() == 0
    root_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    unpacker = _Unpacker(root_fd, mode, same_owner)
    try:
        try:
            tar = tarfile.open(fileobj=stream, mode="r|")
        except tarfile.TarError as e:
            raise InvalidImage(f"layer is not a tar archive: {e}") from e
        with tar:
            try:
                for info in tar:
                    unpacker.apply(info, tar)
            except tarfile.TarError as e:
                raise InvalidImage(f"layer tar is corrupt: {e}") from e
        unpacker.finish_dirs()
        return unpacker.stats
    finally:
        unpacker.close()
        os.close(root_fd)
