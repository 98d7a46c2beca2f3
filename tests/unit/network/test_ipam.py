"""Host-local IPAM: addresses from the pod CIDR, on disk, never handed out twice."""

from __future__ import annotations

import ipaddress
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runtime.network.errors import InvalidNetworkConfig, IPAMExhausted
from runtime.network.ipam import HostLocalIPAM, parse_pod_cidr


def make(tmp_path: Path, cidr: str = "10.244.1.0/24") -> HostLocalIPAM:
    return HostLocalIPAM(tmp_path / "ipam", parse_pod_cidr(cidr))


def test_first_address_skips_network_and_gateway(tmp_path: Path) -> None:
    ipam = make(tmp_path)
    assert str(ipam.gateway) == "10.244.1.1"
    assert str(ipam.allocate("a")) == "10.244.1.2"


def test_allocation_is_a_file_holding_the_owner(tmp_path: Path) -> None:
    ipam = make(tmp_path)
    ip = ipam.allocate("sandbox-a")
    assert (tmp_path / "ipam" / str(ip)).read_text() == "sandbox-a"


def test_allocations_survive_a_new_allocator_on_the_same_directory(tmp_path: Path) -> None:
    first = make(tmp_path)
    a = first.allocate("a")
    second = make(tmp_path)
    assert second.allocations() == {a: "a"}
    assert second.allocate("b") != a


def test_allocation_continues_round_robin_after_the_last_reserved(tmp_path: Path) -> None:
    ipam = make(tmp_path)
    a = ipam.allocate("a")
    ipam.release_owner("a")
    b = ipam.allocate("b")
    assert b == a + 1  # the released address is not reused while others are free


def test_released_address_is_reused_only_after_wrapping_around(tmp_path: Path) -> None:
    ipam = make(tmp_path, "10.0.0.0/29")  # usable: .2 .. .6
    got = [ipam.allocate(f"s{i}") for i in range(5)]
    assert [str(x) for x in got] == [f"10.0.0.{n}" for n in range(2, 7)]
    ipam.release_owner("s1")  # frees 10.0.0.3
    assert str(ipam.allocate("new")) == "10.0.0.3"


def test_broadcast_address_is_never_handed_out(tmp_path: Path) -> None:
    ipam = make(tmp_path, "10.0.0.0/30")  # only .2 is usable
    assert str(ipam.allocate("a")) == "10.0.0.2"
    with pytest.raises(IPAMExhausted):
        ipam.allocate("b")


def test_exhaustion_names_the_cidr(tmp_path: Path) -> None:
    ipam = make(tmp_path, "10.0.0.0/29")
    for i in range(ipam.size):
        ipam.allocate(f"s{i}")
    with pytest.raises(IPAMExhausted, match=r"10\.0\.0\.0/29 is exhausted: all 5 addresses"):
        ipam.allocate("one-too-many")


def test_release_only_removes_the_owners_addresses(tmp_path: Path) -> None:
    ipam = make(tmp_path)
    a = ipam.allocate("a")
    b = ipam.allocate("b")
    assert ipam.release_owner("a") == [a]
    assert ipam.allocations() == {b: "b"}
    assert ipam.release_owner("a") == []  # idempotent


def test_threads_never_get_the_same_address(tmp_path: Path) -> None:
    ipam_dir = tmp_path

    def one(i: int) -> ipaddress.IPv4Address:
        return make(ipam_dir).allocate(f"t{i}")

    with ThreadPoolExecutor(max_workers=20) as pool:
        got = list(pool.map(one, range(40)))
    assert len(set(got)) == 40


def _allocate_in_process(directory: str, owner: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ipam = HostLocalIPAM(Path(directory), parse_pod_cidr("10.244.1.0/24"))
    queue.put(str(ipam.allocate(owner)))


def test_processes_never_get_the_same_address(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_allocate_in_process, args=(str(tmp_path / "ipam"), f"p{i}", queue))
        for i in range(8)
    ]
    for p in procs:
        p.start()
    got = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert len(set(got)) == 8
    assert len(make(tmp_path).allocations()) == 8


@pytest.mark.parametrize("cidr", ["10.0.0.0/31", "fd00::/64", "not-a-cidr", "10.0.0.1/24"])
def test_unusable_pod_cidrs_are_rejected(cidr: str) -> None:
    with pytest.raises(InvalidNetworkConfig):
        parse_pod_cidr(cidr)
