"""Copy-on-write faults taken ahead, while a forked process waits: the pages it is going to write.

Every process the fork server forks shares the server's memory until it writes, and Python
writes nearly every page it touches (reference counts), so a container's first process takes
a few hundred copy-on-write faults while it builds the container; in a VM each costs about 5
microseconds, together more than a millisecond of the start. Which pages they are depends only
on the code that runs, which is the same for every start, and every child of one fork server
has the same address layout. So the first starts learn them, and later prepared processes copy
those pages in one ``madvise(MADV_POPULATE_WRITE)`` per range while they are still idle. Only
that process does it: its memory ends with its exec. (The shim measured no gain from the same,
and it would keep the copies for the container's life.)

Learning reads ``/proc/<pid>/pagemap``: a present page of private writable memory that only
this process maps is one it copied on write (or allocated) since it was forked. Where the
kernel cannot populate (before 5.14) or pagemap cannot be read, nothing is learned or done.
"""

from __future__ import annotations

import array
import ctypes
import os

MADV_POPULATE_WRITE = 23
PAGE = os.sysconf("SC_PAGE_SIZE")
_PRESENT = 1 << 63
_EXCLUSIVE = 1 << 56
_SPECIAL = ("[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]")

Ranges = list[tuple[int, int]]  # [start, end) byte addresses, sorted and coalesced

_libc = ctypes.CDLL(None, use_errno=True)
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def private_writable(pid: int | str = "self") -> Ranges:
    """The private writable mappings of ``pid`` (heap, arenas, data segments, stack)."""
    ranges = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if fields[1][:2] != "rw" or fields[1][3] != "p" or (len(fields) > 5 and fields[5] in _SPECIAL):
                continue
            start, end = fields[0].split("-")
            ranges.append((int(start, 16), int(end, 16)))
    return ranges


def written(pid: int | str = "self") -> Ranges:
    """Pages of ``pid``'s private writable memory that it alone maps: what it wrote since its
    fork. Empty when pagemap cannot be read."""
    found: Ranges = []
    try:
        fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return found
    try:
        for start, end in private_writable(pid):
            entries = array.array("Q")
            entries.frombytes(os.pread(fd, (end - start) // PAGE * 8, start // PAGE * 8))
            for index, entry in enumerate(entries):
                if entry & _PRESENT and entry & _EXCLUSIVE:
                    page = start + index * PAGE
                    if found and found[-1][1] == page:
                        found[-1] = (found[-1][0], page + PAGE)
                    else:
                        found.append((page, page + PAGE))
    except OSError:
        return []
    finally:
        os.close(fd)
    return found


def merge(*sets: Ranges) -> Ranges:
    """The union of page sets, coalesced."""
    merged: Ranges = []
    for start, end in sorted(r for ranges in sets for r in ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def populate(ranges: Ranges) -> None:
    """Copy these pages now, where they still lie in this process's private writable memory (an
    address learned from another process is never applied to a shared or read-only mapping);
    nothing here can fail a start."""
    if not ranges:
        return
    try:
        mapped = private_writable()
    except OSError:
        return
    for start, end in intersect(ranges, mapped):
        _libc.madvise(start, end - start, MADV_POPULATE_WRITE)


def intersect(ranges: Ranges, within: Ranges) -> Ranges:
    """The parts of ``ranges`` inside ``within`` (both sorted and coalesced)."""
    found: Ranges = []
    i = j = 0
    while i < len(ranges) and j < len(within):
        start, end = max(ranges[i][0], within[j][0]), min(ranges[i][1], within[j][1])
        if start < end:
            found.append((start, end))
        if ranges[i][1] < within[j][1]:
            i += 1
        else:
            j += 1
    return found
