"""A shared read-only layer holding the files the runtime mounts over in every container.

Each container gets the pod's ``/etc/hosts``, ``/etc/hostname`` and ``/etc/resolv.conf`` bind
mounted over its own. Most images lack them, so each container used to create them in its
writable layer first: a copy-up of ``/etc`` and three new files per container, made on the
start's path and deleted again with the container. Like Docker's init layer, an overlay layer
above the image's holds them instead, empty and made once per runtime root for each set of
files; the mounts then find their targets in place and the writable layer stays untouched.

The layer is used only where the image's ``/etc`` is a directory (or absent): over a symlinked
``/etc`` its directory would hide the image's, so those containers keep making the files.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat

from runtime.images.unpack import WHITEOUT_PREFIX  # a whiteout as a file, when not unpacked as overlay's

LAYERS = "init-layers"


def init_layer(runtime_root: str, files: list[str]) -> str:
    """The layer holding empty ``files`` (absolute container paths, all in ``/etc``), made
    if missing; safe against a concurrent maker."""
    names = sorted(os.path.basename(path) for path in files)
    for path in files:
        if os.path.dirname(path) != "/etc" or not os.path.basename(path):
            raise ValueError(f"the init layer only holds files in /etc, not {path!r}")
    layer = os.path.join(runtime_root, LAYERS, "etc-" + "-".join(names))
    if os.path.isdir(layer):
        return layer
    os.makedirs(os.path.dirname(layer), exist_ok=True)
    staging = f"{layer}.{secrets.token_hex(4)}.tmp"
    os.mkdir(staging, 0o755)
    try:
        os.mkdir(os.path.join(staging, "etc"), 0o755)
        for name in names:
            os.close(os.open(os.path.join(staging, "etc", name), os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
        try:
            os.rename(staging, layer)  # whole or not at all
        except OSError:
            if not os.path.isdir(layer):  # not someone else's finished layer: a real failure
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
    return layer


def etc_is_directory(layer_dirs: list[str]) -> bool:
    """Whether ``/etc`` in the image (layers bottom first, as unpacked) is a directory or
    absent, as the topmost layer that has an entry for it says."""
    for layer in reversed(layer_dirs):
        if os.path.lexists(os.path.join(layer, WHITEOUT_PREFIX + "etc")):
            return True  # deleted here: absent, as far as the layers below go
        try:
            st = os.lstat(os.path.join(layer, "etc"))
        except FileNotFoundError:
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return True  # overlay's whiteout: deleted here
        return stat.S_ISDIR(st.st_mode)
    return True
