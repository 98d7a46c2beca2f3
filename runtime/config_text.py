"""Text from a CRI config that ends up as a C string: argv, environment, paths, names.

The kernel and libc stop at the first NUL byte, so ``"/bin/sh\\0-c"`` would silently become
``/bin/sh``, and Python's own calls refuse such strings with a ValueError deep inside a create.
A config holding one is refused whole, up front, naming the field; nothing is made for it.
Free-form metadata (labels, annotations) never reaches the kernel and is not checked.
"""

from __future__ import annotations

from collections.abc import Iterable

from runtime.errors import InvalidArgument


def reject_nul_bytes(fields: Iterable[tuple[str, str]]) -> None:
    """``fields``: (where, value) pairs; the first value holding a NUL byte is refused."""
    for where, value in fields:
        if "\0" in value:
            raise InvalidArgument(f"{where} contains a NUL byte ({value!r}); it cannot be passed to the kernel")


def reject_control_characters(fields: Iterable[tuple[str, str]]) -> None:
    """For values written one per line into a file (/etc/hostname, /etc/resolv.conf): a newline
    would add lines of the caller's choosing."""
    for where, value in fields:
        if any(ord(c) < 0x20 or c == "\x7f" for c in value):
            raise InvalidArgument(f"{where} {value!r} contains a control character (a newline, tab or NUL)")
