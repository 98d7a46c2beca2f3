"""Which pages a forked process wrote is read from pagemap, and copying them ahead makes them its
own, so the start that follows takes no copy-on-write fault there (runtime.shim.hot_pages)."""

from __future__ import annotations

import ctypes
import json
import mmap
import os

from runtime.shim import hot_pages

PAGE = hot_pages.PAGE


def shared_region(pages: int) -> tuple[mmap.mmap, int]:
    region = mmap.mmap(-1, pages * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for index in range(pages):
        region[index * PAGE] = 1  # present in the parent, so a child shares it until it writes
    return region, ctypes.addressof(ctypes.c_char.from_buffer(region))


def in_child(body) -> dict:  # type: ignore[no-untyped-def]
    """Run ``body()`` in a forked child; its JSON-able result."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write_end, json.dumps(body()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 65536):
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    return json.loads(data)


def pages_within(ranges: list[list[int]], start: int, end: int) -> int:
    return sum(max(0, min(e, end) - max(s, start)) for s, e in ranges) // PAGE


def test_a_forked_process_has_written_exactly_the_shared_pages_it_wrote() -> None:
    region, address = shared_region(32)

    def body() -> list:
        for index in (3, 4, 5, 20):
            region[index * PAGE] = 2
        return hot_pages.written()

    written = in_child(body)
    assert pages_within(written, address, address + 32 * PAGE) == 4
    assert pages_within(written, address + 3 * PAGE, address + 6 * PAGE) == 3
    region.close()


def test_populating_copies_the_pages_ahead_without_changing_them() -> None:
    region, address = shared_region(16)

    def body() -> dict:
        hot_pages.populate([(address + 8 * PAGE, address + 12 * PAGE)])
        return {"written": hot_pages.written(), "content": [region[i * PAGE] for i in range(16)]}

    result = in_child(body)
    assert pages_within(result["written"], address, address + 16 * PAGE) == 4
    assert result["content"] == [1] * 16
    region.close()


def test_a_range_no_longer_mapped_is_skipped() -> None:
    region, address = shared_region(4)
    region.close()
    hot_pages.populate([(address, address + 4 * PAGE)])  # nothing mapped there any more: no error


def test_a_learned_address_in_a_shared_mapping_is_never_written() -> None:
    shared = mmap.mmap(-1, 4 * PAGE, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    address = ctypes.addressof(ctypes.c_char.from_buffer(shared))
    try:
        assert hot_pages.intersect([(address, address + 4 * PAGE)], hot_pages.private_writable()) == []
        hot_pages.populate([(address, address + 4 * PAGE)])
    finally:
        shared.close()


def test_only_the_parts_inside_the_mappings_remain() -> None:
    assert hot_pages.intersect([(0, 10), (20, 30), (40, 50)], [(5, 25), (45, 60)]) == [(5, 10), (20, 25), (45, 50)]


def test_sets_of_pages_merge_into_sorted_coalesced_ranges() -> None:
    assert hot_pages.merge([(0, 4096), (8192, 12288)], [(4096, 8192), (20480, 24576)], [(2048, 6000)]) == [
        (0, 12288), (20480, 24576)]


def test_a_process_that_is_gone_has_written_nothing_and_raises_nothing() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert hot_pages.written(pid) == []
