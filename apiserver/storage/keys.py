"""Key-range arithmetic shared by the backends: a prefix is the half-open range [prefix, end)."""

from __future__ import annotations


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key that starts with ``prefix`` (b"" = no bound).

    Same rule etcd clients use for range_end: increment the last byte that is not 0xff and drop
    what follows it.
    """
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b""


def prefix_end_str(prefix: str) -> str:
    """``prefix_end`` for text keys ("" = no bound); UTF-8 byte order is code-point order."""
    end = list(prefix)
    while end:
        if ord(end[-1]) < 0x10FFFF:
            end[-1] = chr(ord(end[-1]) + 1)
            return "".join(end)
        end.pop()
    return ""


def range_start(prefix: str, start_key: str) -> str:
    """Where a listing begins: the prefix itself, or a later start key inside it."""
    return start_key if start_key > prefix else prefix
