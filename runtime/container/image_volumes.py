"""Image volumes (Kubernetes ImageVolume, KEP-4639): a CRI Mount that names an image, not a path.

The kubelet pulls the image first and sends a Mount with ``image`` set (``host_path`` empty,
``readonly`` true) and optionally ``image_sub_path``, a directory inside the image to mount
instead of its root. As containerd does, the image must already be on the node (nothing is
pulled here), the mount must be read-only and the sub path must name a directory that stays
inside the image.

The image's layers are already unpacked, read-only and shared, in the store (whiteouts as
overlay char 0/0 devices, opaque directories marked with ``trusted.overlay.opaque``). The
volume is therefore an overlayfs with lower directories only: no upper directory, so it cannot
be written (EROFS) and needs no per-container storage. The shim mounts it inside the container's
own mount namespace before ``pivot_root``, so the host never sees it and it dies with the
container. Executables on it run: the Kubernetes API text promises ``noexec``, but containerd
mounts none and people run tools from image volumes, so we follow containerd.

A sub path is resolved here, in the daemon, at CreateContainer, so a bad one fails the create
with a clear message (containerd's wording: "no such file or directory", "path escapes from
parent", "only directory subpath is supported") and the shim only mounts. Resolution walks the
union of the layers the way overlayfs merges them: a name comes from the topmost layer that has
it; a whiteout hides it; a directory merges with the same directory of lower layers until one is
opaque or holds a non-directory there. Symlinks are followed inside the image only: an absolute
target or one that climbs above the image root escapes, as with Go's ``os.OpenInRoot``. The
result is, per contributing layer, the directory that layer holds at the resolved path; stacked
as overlay lower directories they show exactly the merged directory.

overlayfs refuses a single lower directory without an upper one, so a volume made of one layer
directory gets an empty directory of the container's as a second, bottom layer.

The overlay reads the store's layer directories directly, so the image must outlive the
container: the ids of the images a container mounts are kept in its record, and RemoveImage
refuses them (FAILED_PRECONDITION) until the container is removed, as for its own image.
ContainerStatus names each volume's image by that id, which the kubelet's image garbage
collection reads to count an image in use.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from runtime.errors import FailedPrecondition, InvalidArgument
from runtime.images.errors import ImageError, ImageNotFound
from runtime.shim.rootfs import overlay_lowerdir

# The reason kubelet and containerd/CRI-O put in front of an image volume failure.
REASON = "ImageVolumeMountFailed"
OPAQUE_XATTR = "trusted.overlay.opaque"
EMPTY_LAYER_DIR = "image-volume-empty"
MAX_SYMLINKS = 40


class VolumeImage(Protocol):
    """What an image volume needs of an image in the store."""

    @property
    def id(self) -> str: ...

    @property
    def layer_dirs(self) -> Sequence[Path]: ...


class SubPathError(InvalidArgument):
    """``image_sub_path`` is malformed, escapes the image, is missing or is not a directory."""


def check_sub_path(sub_path: str) -> None:
    """Refuse what no image can satisfy before anything is looked up: an absolute sub path."""
    if sub_path.startswith("/"):
        raise SubPathError(f"image_sub_path {sub_path!r}: path escapes from parent (it must be relative to the image root)")
    if "\0" in sub_path:
        raise SubPathError(f"image_sub_path {sub_path!r}: contains a NUL byte")


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _lookup(merged: list[str], name: str) -> tuple[str, list[str] | str | None]:
    """One name in a merged directory (its layers' directories, top first).

    Returns ("dir", the layer directories of that name), ("symlink", its target), ("file", None)
    or ("missing", None)."""
    found: list[str] = []
    for directory in merged:
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            continue
        if _is_whiteout(st):
            break
        if stat.S_ISDIR(st.st_mode):
            found.append(path)
            if _is_opaque(path):
                break
            continue
        if found:
            break  # a non-directory below a directory is hidden, and so is everything under it
        if stat.S_ISLNK(st.st_mode):
            return "symlink", os.readlink(path)
        return "file", None
    if found:
        return "dir", found
    return "missing", None


def merged_directory(layer_dirs_top_first: Sequence[str], sub_path: str) -> list[str]:
    """The layer directories (top first) whose union is ``sub_path`` of the merged image."""
    check_sub_path(sub_path)
    pending = sub_path.split("/")
    resolved: list[str] = []
    merged = list(layer_dirs_top_first)
    # Merged directories of every resolved prefix, so ".." in a symlink target can step back.
    stack: list[list[str]] = [merged]
    links = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                raise SubPathError(f"image_sub_path {sub_path!r}: path escapes from parent")
            resolved.pop()
            stack.pop()
            continue
        kind, found = _lookup(stack[-1], part)
        shown = "/".join([*resolved, part])
        if kind == "missing":
            raise SubPathError(f"image_sub_path {sub_path!r}: {shown}: no such file or directory in the image")
        if kind == "symlink":
            links += 1
            if links > MAX_SYMLINKS:
                raise SubPathError(f"image_sub_path {sub_path!r}: too many levels of symbolic links")
            target = str(found)
            if target.startswith("/"):
                raise SubPathError(f"image_sub_path {sub_path!r}: {shown} is a symlink to {target!r}: "
                                   "path escapes from parent")
            pending = target.split("/") + pending
            continue
        if kind == "file":
            if pending:
                raise SubPathError(f"image_sub_path {sub_path!r}: {shown}: not a directory")
            raise SubPathError(f"image_sub_path {sub_path!r}: only directory subpath is supported "
                               f"({shown} is not a directory)")
        assert isinstance(found, list)
        resolved.append(part)
        stack.append(found)
    return stack[-1]


def resolve_mounts(
    mounts: list[dict],
    lookup: Callable[[str], VolumeImage],
    empty_dir: str,
) -> list[str]:
    """Fill in each image volume of ``mounts`` (from ``mounts_of``) with its overlay ``lower``
    directories; returns the ids of the images used, which must not be removed meanwhile."""
    used: list[str] = []
    for mount in mounts:
        ref = mount.get("image")
        if not ref:
            continue
        where = f"{REASON}: image volume at {mount['destination']!r}"
        try:
            image = lookup(ref)
        except ImageNotFound as e:
            raise FailedPrecondition(f"{where}: image {ref!r} is not present on this node; pull it first") from e
        except ImageError as e:
            raise InvalidArgument(f"{where}: image {ref!r}: {e}") from e
        layers = [str(d) for d in reversed(list(image.layer_dirs))]
        if not layers:
            raise FailedPrecondition(f"{where}: image {ref!r} has no layers to mount")
        try:
            lower = merged_directory(layers, mount.get("image_sub_path", ""))
        except SubPathError as e:
            raise SubPathError(f"{where}: {e}") from e
        except OSError as e:
            raise FailedPrecondition(f"{where}: reading image {ref!r} failed: {e}") from e
        if len(lower) == 1:
            os.makedirs(empty_dir, mode=0o555, exist_ok=True)
            lower = [*lower, empty_dir]
        # mount(2) takes one page of options (with its NUL); longer ones would be cut short.
        if len(f"lowerdir={overlay_lowerdir(lower)}".encode()) >= os.sysconf("SC_PAGE_SIZE"):
            raise FailedPrecondition(f"{where}: image {ref!r} has too many layers ({len(lower)}) to mount "
                                     "as one overlay (the mount options exceed a page)")
        mount["lower"] = lower
        mount["image_id"] = image.id
        if image.id not in used:
            used.append(image.id)
    return used
