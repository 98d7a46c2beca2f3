"""The metrics' cgroup reader on real kernels: v1 on this machine's hierarchies, v2 on a cgroup2
mount of our own (where the kernel may offer no controllers, so only the core files exist)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import pytest
from runtime_harness import subtree_control_restored

from runtime.cgroups import Resources
from runtime.cgroups.v1 import V1Driver
from runtime.cgroups.v2 import V2Driver
from runtime.service.cgroup_usage import CgroupUsageReader
from runtime.service.metrics import cgroup_samples

pytestmark = pytest.mark.root

# Holds one socket open and spins.
SPIN = [sys.executable, "-c", "import socket\ns = socket.socket()\nwhile True: pass"]


@pytest.fixture
def spinner() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(SPIN)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


@pytest.fixture
def cgroup2() -> Iterator[tuple[V2Driver, str]]:
    mountpoint = tempfile.mkdtemp(prefix="kybt-usage2-")
    subprocess.run(["mount", "-t", "cgroup2", "none", mountpoint], check=True)
    driver = V2Driver(mountpoint)
    top = f"/kybt-usage-{secrets.token_hex(4)}"
    try:
        with subtree_control_restored(mountpoint):
            try:
                yield driver, top
            finally:
                driver.remove(top)
    finally:
        subprocess.run(["umount", mountpoint], check=False)
        os.rmdir(mountpoint)


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_v1_cpu_memory_and_processes_of_a_running_process(
    v1_top: tuple[V1Driver, str], spinner: subprocess.Popen[bytes]
) -> None:
    driver, top = v1_top
    leaf = f"{top}/c"
    driver.create(top)
    driver.create(leaf, Resources(cpu_quota=90000, cpu_period=100000, memory_limit=256 << 20, pids_limit=50))
    driver.add_process(leaf, spinner.pid)
    reader = CgroupUsageReader(driver)
    # The kernel counts a CFS period when the period timer fires, one full period after the group
    # first ran; 50 ms of CPU at a 90% quota can be spent before that, so wait for both.
    wait_until(lambda: (reader.read(leaf).cpu_usage_ns or 0) > 50_000_000 and (reader.read(leaf).cfs_periods or 0) > 0)
    usage = reader.read(leaf)
    assert usage.cpu_user_ns is not None and usage.cpu_system_ns is not None
    assert usage.cpu_user_ns + usage.cpu_system_ns <= (usage.cpu_usage_ns or 0) + 50_000_000
    assert (usage.cpu_quota_us, usage.cpu_period_us, usage.memory_limit, usage.threads_max) == (90000, 100000, 256 << 20, 50)
    assert usage.memory_rss is not None and usage.memory_rss > 0
    assert usage.memory_failcnt == 0 and usage.oom_kills == 0
    assert (usage.processes, usage.threads) == (1, 1)
    assert usage.sockets == 1 and (usage.file_descriptors or 0) >= 4  # stdin, stdout, stderr, the socket
    parent = reader.read(top)
    assert parent.processes == 1  # counted through the child cgroup
    assert (parent.cpu_usage_ns or 0) >= (usage.cpu_usage_ns or 0)
    assert parent.cpu_quota_us is None
    names = {name for name, _, _ in cgroup_samples(usage)}
    assert {"container_cpu_cfs_throttled_seconds_total", "container_memory_failcnt", "container_threads"} <= names


def test_v2_reads_cpu_from_a_real_cgroup2_and_leaves_out_what_it_lacks(
    cgroup2: tuple[V2Driver, str], spinner: subprocess.Popen[bytes]
) -> None:
    driver, top = cgroup2
    leaf = f"{top}/c"
    driver.create(leaf)
    driver.add_process(leaf, spinner.pid)
    reader = CgroupUsageReader(driver)
    wait_until(lambda: (reader.read(leaf).cpu_usage_ns or 0) > 50_000_000)
    usage = reader.read(leaf)
    assert usage.cpu_user_ns is not None and usage.cpu_system_ns is not None
    assert usage.processes == 1 and reader.read(top).processes == 1
    available = open(os.path.join(driver.root, "cgroup.controllers")).read().split()
    names = {name for name, _, _ in cgroup_samples(usage)}
    assert "container_cpu_usage_seconds_total" in names
    assert "container_memory_failcnt" not in names
    if "memory" not in available:
        assert usage.memory_usage is None and not any(n.startswith("container_memory_") for n in names)
    else:
        assert usage.memory_usage is not None
