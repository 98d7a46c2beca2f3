"""JSON files replaced atomically: a reader sees the old document or the new one, never half.

Written to a temp file in the same directory, fsynced, then ``os.replace``d over the target. The
rename is atomic, so no reader and no crash ever sees a torn document, unless the flush was
skipped (``durable=False``): then a machine crash may leave the new name with part of its data.
The directory itself is not fsynced: after a power loss the newest rename may be lost (the
previous whole document is found instead), a trade accepted because every state change would
otherwise pay a second flush. Shared by the daemon's state store and the shims, which record
exit codes this way.
"""

from __future__ import annotations

import json
import os
from typing import Any

from runtime.small_file import read_bytes


def write_json(path: str, data: Any, durable: bool = True) -> None:
    """Replace ``path`` with ``data``; ``durable=False`` skips the flush for hints that a later
    durable write supersedes, or for documents derivable again from flushed ones."""
    os.replace(stage_json(path, data, durable), path)


def stage_json(path: str, data: Any, durable: bool = True) -> str:
    """The first half of ``write_json``: ``data`` written (and flushed) beside ``path``, under
    the temp name this returns, for a writer that does other work during the flush and makes
    the document visible later with ``os.replace(temp, path)`` (or removes the temp)."""
    directory = os.path.dirname(path) or "."
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, json.dumps(data, sort_keys=True).encode())
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def flush(path: str) -> None:
    """Make a document written with ``durable=False`` durable after the fact, for writers that
    let a reader see it first and pay the flush afterwards."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: str) -> Any | None:
    """The document, or None when the file does not exist."""
    try:
        return json.loads(read_bytes(path))
    except FileNotFoundError:
        return None
