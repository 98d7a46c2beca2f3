"""The cgroup drivers on real kernels: v1 on this machine's hierarchies, v2 on a cgroup2 mount
of our own (the unified hierarchy; controllers are enabled where the kernel offers them)."""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_harness import subtree_control_restored

from runtime.cgroups import CgroupError, Resources
from runtime.cgroups.bpf import BpfDeviceInstaller
from runtime.cgroups.v1 import V1Driver
from runtime.cgroups.v2 import V2Driver
from runtime.shim.container_init import join_cgroup

pytestmark = pytest.mark.root


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "300"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


@pytest.fixture
def v1_path(v1_top: tuple[V1Driver, str]) -> tuple[V1Driver, str]:
    driver, top = v1_top
    return driver, f"{top}/pod/c"


def test_v1_limits_land_in_the_kernels_files(v1_path: tuple[V1Driver, str], sleeper: subprocess.Popen[bytes]) -> None:
    driver, path = v1_path
    driver.create(path, Resources(cpu_shares=256, cpu_quota=30000, cpu_period=100000, memory_limit=48 << 20, pids_limit=30))
    assert Path(f"/sys/fs/cgroup/cpu{path}/cpu.shares").read_text().strip() == "256"
    assert Path(f"/sys/fs/cgroup/cpu{path}/cpu.cfs_quota_us").read_text().strip() == "30000"
    assert int(Path(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes").read_text()) == 48 << 20
    assert Path(f"/sys/fs/cgroup/pids{path}/pids.max").read_text().strip() == "30"
    driver.add_process(path, sleeper.pid)
    assert driver.pids(path) == [sleeper.pid]
    stats = driver.stats(path)
    assert stats.pids == 1 and stats.memory_usage >= 0
    driver.kill_all(path)
    assert sleeper.wait(5) == -9
    driver.remove("/" + path.split("/")[1])
    assert not driver.exists(path)
    assert not os.path.exists(f"/sys/fs/cgroup/cpu/{path.split('/')[1]}")


def test_v1_a_process_writing_zero_to_the_join_files_lands_in_every_hierarchy(v1_path: tuple[V1Driver, str]) -> None:
    driver, path = v1_path
    driver.create(path, Resources())
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # single-threaded, as the fork server's children are
        try:
            join_cgroup(driver.join_files(path))
            os.write(ready_w, b"1")
            time.sleep(30)
        finally:
            os._exit(0)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"1"
        for directory in driver._dirs(path):
            assert Path(directory, "cgroup.procs").read_text().split() == [str(pid)]
    finally:
        os.close(ready_r)
        os.kill(pid, 9)
        os.waitpid(pid, 0)


@pytest.fixture
def cgroup2() -> Iterator[str]:
    mountpoint = tempfile.mkdtemp(prefix="kybt-cg2-")
    subprocess.run(["mount", "-t", "cgroup2", "none", mountpoint], check=True)
    top = f"{mountpoint}/kybt-{secrets.token_hex(4)}"
    try:
        with subtree_control_restored(mountpoint):
            try:
                yield top
            finally:
                V2Driver(mountpoint).remove("/" + os.path.basename(top))
    finally:
        subprocess.run(["umount", mountpoint], check=False)
        os.rmdir(mountpoint)


def test_v2_driver_on_a_real_cgroup2_mount(cgroup2: str, sleeper: subprocess.Popen[bytes]) -> None:
    root, top = os.path.dirname(cgroup2), os.path.basename(cgroup2)
    driver = V2Driver(root)
    path = f"/{top}/pod/c"
    available = Path(root, "cgroup.controllers").read_text().split()
    resources = Resources(pids_limit=20) if "pids" in available else Resources()
    driver.create(path, resources)
    assert driver.exists(path)
    if "pids" in available:
        assert Path(root, top, "pod", "c", "pids.max").read_text().strip() == "20"
    driver.set_devices(path, ["c 1:3 rwm"])
    assert len(BpfDeviceInstaller().attached(os.path.join(root, top, "pod", "c"))) == 1
    driver.add_process(path, sleeper.pid)
    assert driver.pids(path) == [sleeper.pid]
    assert driver.stats(path).cpu_usage_ns >= 0
    driver.kill_all(f"/{top}")
    assert sleeper.wait(5) == -9
    driver.remove(f"/{top}")
    assert not os.path.exists(cgroup2)


def test_v2_driver_sets_hugepage_limits_on_a_real_cgroup2_mount(cgroup2: str) -> None:
    root, top = os.path.dirname(cgroup2), os.path.basename(cgroup2)
    if "hugetlb" not in Path(root, "cgroup.controllers").read_text().split():
        pytest.skip("this kernel's cgroup2 has no hugetlb controller")
    if not os.path.isdir("/sys/kernel/mm/hugepages/hugepages-2048kB"):
        pytest.skip("this machine has no 2 MB hugepages")
    driver = V2Driver(root)
    driver.create(f"/{top}/c", Resources(hugepage_limits={"2MB": 6 << 20}))
    directory = Path(root, top, "c")
    assert (directory / "hugetlb.2MB.max").read_text().strip() == str(6 << 20)
    if (directory / "hugetlb.2MB.rsvd.max").exists():
        assert (directory / "hugetlb.2MB.rsvd.max").read_text().strip() == str(6 << 20)
    with pytest.raises(CgroupError, match="not offered"):
        driver.update(f"/{top}/c", Resources(hugepage_limits={"3MB": 1 << 20}))
    driver.remove(f"/{top}")
