"""Whole small files (records, cgroup and /proc files) read with bare system calls.

The daemon reads a dozen such files for every container it runs. Python's ``open()`` wraps each
in a buffered (and, for text, a decoding) layer and asks the kernel whether the file is a
terminal and where it stands: three extra system calls and a few objects per read, which
together cost more than the read itself. Errors are the ``OSError`` subclasses ``open()`` would
raise (``FileNotFoundError`` and so on).
"""

from __future__ import annotations

import os

CHUNK = 65536


def read_bytes(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        # A short read is not the end of every file (/proc and cgroup files are produced in
        # pieces): only an empty one is.
        data = os.read(fd, CHUNK)
        if data and (chunk := os.read(fd, CHUNK)):
            chunks = [data, chunk]
            while chunk := os.read(fd, CHUNK):
                chunks.append(chunk)
            data = b"".join(chunks)
        return data
    finally:
        os.close(fd)


def read_text(path: str) -> str:
    return read_bytes(path).decode()


def read_flat_keyed(path: str) -> dict[str, int]:
    """Parse ``key value`` lines (memory.stat, cpu.stat, memory.events, memory.oom_control);
    a missing file has none."""
    values: dict[str, int] = {}
    try:
        lines = read_text(path).splitlines()
    except FileNotFoundError:
        return values
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


def file_version(path: str) -> tuple[int, int, int]:
    """What changes whenever a file written by replacement (temp file, then rename) is
    rewritten: its inode, modification time and size. Lets a reader keep what it derived from
    the file until then."""
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, st.st_size
