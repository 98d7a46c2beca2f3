"""Resolving a container path inside a root directory without ever leaving it.

A destination like ``/etc/hosts`` may be a symlink in the image (to ``/run/hosts``, or to
``../../../../etc/shadow``). Symlinks are followed as the container would see them: relative to
the rootfs, with ``..`` clamped at the root, so a mount or a created file always lands inside
the container's root. This is the job filepath-securejoin does for runc.
"""

from __future__ import annotations

import os

MAX_SYMLINKS = 255


class PathEscapes(ValueError):
    """The path cannot be resolved inside the root (symlink loop)."""


def resolve_in_root(root: str, path: str) -> str:
    """The host path for container path ``path`` under ``root``, symlinks resolved inside root."""
    pending = [p for p in path.split("/") if p]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            target = os.readlink(candidate)
        except OSError:
            resolved.append(part)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise PathEscapes(f"too many symlinks resolving {path!r}")
        if target.startswith("/"):
            resolved = []
        pending = [p for p in target.split("/") if p] + pending
    return os.path.join(root, *resolved)
