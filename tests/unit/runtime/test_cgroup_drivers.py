"""The cgroup drivers write exactly the files and values runc would, on a tree laid out like
cgroupfs (plain directories; a recorder stands in for the kernel's files)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from runtime.cgroups import CgroupError, Resources, detect_version
from runtime.cgroups.bpf import BpfDeviceInstaller
from runtime.cgroups.device_filter import DeviceProgram, InvalidDeviceRule
from runtime.cgroups.v1 import V1Driver
from runtime.cgroups.v2 import DevicesNotEnforced, V2Driver, shares_to_weight


class Recorder:
    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []

    def __call__(self, path: str, value: str) -> None:
        self.writes.append((path, value))


class DeviceRecorder:
    """Stands in for bpf(2): remembers the program each cgroup directory would run."""

    def __init__(self) -> None:
        self.installed: list[tuple[str, DeviceProgram | None]] = []

    def install(self, directory: str, program: DeviceProgram | None) -> None:
        self.installed.append((directory, program))


@pytest.fixture
def devices() -> DeviceRecorder:
    return DeviceRecorder()


@pytest.fixture
def v2(tmp_path: Path, devices: DeviceRecorder) -> tuple[V2Driver, Recorder, Path]:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma\n")
    (tmp_path / "cgroup.subtree_control").write_text("cpu\n")
    recorder = Recorder()
    return V2Driver(str(tmp_path), writer=recorder, devices=devices), recorder, tmp_path


def test_v2_enables_missing_controllers_in_the_parent_before_creating_a_child(v2: tuple[V2Driver, Recorder, Path]) -> None:
    driver, recorder, root = v2
    driver.create("/kyb/pod")
    assert (root / "kyb" / "pod").is_dir()
    assert recorder.writes[0] == (str(root / "cgroup.subtree_control"), "+cpuset +memory +pids +io +hugetlb")


def test_v2_translates_cri_resources_like_runc(v2: tuple[V2Driver, Recorder, Path]) -> None:
    driver, recorder, root = v2
    driver.create("/kyb/pod/c")
    (root / "kyb" / "pod" / "c" / "memory.swap.max").write_text("max\n")
    recorder.writes.clear()
    driver.update("/kyb/pod/c", Resources(cpu_shares=1024, cpu_quota=50000, cpu_period=100000,
                                          memory_limit=64 << 20, memory_swap_limit=96 << 20, pids_limit=100,
                                          unified={"memory.high": "50000000"}))
    d = str(root / "kyb" / "pod" / "c")
    assert recorder.writes == [
        (f"{d}/cpu.weight", "39"),
        (f"{d}/cpu.max", "50000 100000"),
        (f"{d}/memory.max", str(64 << 20)),
        (f"{d}/memory.swap.max", str(32 << 20)),
        (f"{d}/pids.max", "100"),
        (f"{d}/memory.high", "50000000"),
    ]


def test_v2_unlimited_quota_is_max(v2: tuple[V2Driver, Recorder, Path]) -> None:
    driver, recorder, root = v2
    driver.create("/x")
    recorder.writes.clear()
    driver.update("/x", Resources(cpu_quota=-1, cpu_period=100000))
    assert recorder.writes == [(str(root / "x" / "cpu.max"), "max 100000")]


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 39), (262144, 10000), (0, 0)])
def test_shares_to_weight_conversion(shares: int, weight: int) -> None:
    assert shares_to_weight(shares) == weight


def test_v2_stats_and_oom_come_from_its_files(v2: tuple[V2Driver, Recorder, Path]) -> None:
    driver, _recorder, root = v2
    driver.create("/s")
    d = root / "s"
    (d / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\n")
    (d / "memory.current").write_text("4096000\n")
    (d / "memory.stat").write_text("anon 1000\ninactive_file 96000\npgfault 7\npgmajfault 1\n")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (d / "pids.current").write_text("3\n")
    stats = driver.stats("/s")
    assert (stats.cpu_usage_ns, stats.memory_usage, stats.memory_working_set, stats.memory_rss) == (1_500_000, 4096000, 4000000, 1000)
    assert (stats.oom_kills, stats.pids, stats.page_faults) == (1, 3, 7)


@pytest.fixture
def v1(tmp_path: Path) -> tuple[V1Driver, Recorder, Path]:
    hierarchies = {}
    for controller in ("cpu", "cpuacct", "cpuset", "memory", "pids", "freezer"):
        (tmp_path / controller).mkdir()
        hierarchies[controller] = str(tmp_path / controller)
    (tmp_path / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (tmp_path / "cpuset" / "cpuset.mems").write_text("0\n")
    recorder = Recorder()
    return V1Driver(hierarchies, writer=recorder), recorder, tmp_path


def test_v1_creates_the_path_in_every_hierarchy_and_fills_cpuset(v1: tuple[V1Driver, Recorder, Path]) -> None:
    driver, recorder, root = v1
    for level in ("kyb", "kyb/pod"):  # the kernel makes these files, empty, with the directory
        (root / "cpuset" / level).mkdir()
        (root / "cpuset" / level / "cpuset.cpus").write_text("")
        (root / "cpuset" / level / "cpuset.mems").write_text("")

    def write_through(path: str, value: str) -> None:
        recorder(path, value)
        Path(path).write_text(value)

    driver._write = write_through
    driver.create("/kyb/pod")
    for controller in ("cpu", "cpuacct", "cpuset", "memory", "pids", "freezer"):
        assert (root / controller / "kyb" / "pod").is_dir()
    assert recorder.writes == [
        (str(root / "cpuset/kyb/cpuset.cpus"), "0-1"),
        (str(root / "cpuset/kyb/cpuset.mems"), "0"),
        (str(root / "cpuset/kyb/pod/cpuset.cpus"), "0-1"),
        (str(root / "cpuset/kyb/pod/cpuset.mems"), "0"),
    ]


def test_v1_fills_only_the_new_cgroups_cpuset_when_its_parents_have_theirs(v1: tuple[V1Driver, Recorder, Path]) -> None:
    driver, recorder, root = v1
    (root / "cpuset" / "kyb" / "pod").mkdir(parents=True)
    for level, cpus, mems in (("kyb", "1", "0"), ("kyb/pod", "1", "0")):
        (root / "cpuset" / level / "cpuset.cpus").write_text(cpus + "\n")
        (root / "cpuset" / level / "cpuset.mems").write_text(mems + "\n")
    (root / "cpuset" / "kyb" / "pod" / "c").mkdir()
    (root / "cpuset" / "kyb" / "pod" / "c" / "cpuset.cpus").write_text("")
    (root / "cpuset" / "kyb" / "pod" / "c" / "cpuset.mems").write_text("")
    driver.create("/kyb/pod/c")
    assert recorder.writes == [
        (str(root / "cpuset/kyb/pod/c/cpuset.cpus"), "1"),
        (str(root / "cpuset/kyb/pod/c/cpuset.mems"), "0"),
    ]


def test_removing_an_empty_cgroup_does_not_search_it_for_processes(v1: tuple[V1Driver, Recorder, Path],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    driver, _recorder, root = v1
    for controller in driver.hierarchies:
        (root / controller / "kyb" / "c").mkdir(parents=True)

    def no_search(path: str, timeout: float = 5.0) -> None:
        raise AssertionError("an empty cgroup was searched for processes")

    monkeypatch.setattr(driver, "kill_all", no_search)
    driver.remove("/kyb/c")
    assert not any((root / controller / "kyb" / "c").exists() for controller in driver.hierarchies)
    assert all((root / controller / "kyb").is_dir() for controller in driver.hierarchies)


def test_removing_a_cgroup_with_child_cgroups_removes_them_bottom_up(v1: tuple[V1Driver, Recorder, Path]) -> None:
    driver, _recorder, root = v1
    for controller in driver.hierarchies:
        (root / controller / "kyb" / "c" / "sub" / "deeper").mkdir(parents=True)
    driver.remove("/kyb/c")
    assert not any((root / controller / "kyb" / "c").exists() for controller in driver.hierarchies)


def test_v1_writes_cpu_memory_and_pids_limits(v1: tuple[V1Driver, Recorder, Path]) -> None:
    driver, recorder, root = v1
    driver.update("/c", Resources(cpu_shares=512, cpu_quota=20000, cpu_period=100000, memory_limit=1 << 26,
                                  unified={"pids.max": "42"}))
    assert recorder.writes == [
        (str(root / "cpu/c/cpu.shares"), "512"),
        (str(root / "cpu/c/cpu.cfs_period_us"), "100000"),
        (str(root / "cpu/c/cpu.cfs_quota_us"), "20000"),
        (str(root / "memory/c/memory.limit_in_bytes"), str(1 << 26)),
        (str(root / "pids/c/pids.max"), "42"),
    ]


def test_v1_raises_memsw_before_the_limit_when_growing(v1: tuple[V1Driver, Recorder, Path]) -> None:
    driver, recorder, root = v1
    memory = root / "memory" / "c"
    memory.mkdir()
    (memory / "memory.limit_in_bytes").write_text(str(1 << 26))
    (memory / "memory.memsw.limit_in_bytes").write_text(str(1 << 26))
    driver.update("/c", Resources(memory_limit=1 << 27, memory_swap_limit=1 << 28))
    assert [os.path.basename(p) for p, _ in recorder.writes] == ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
    recorder.writes.clear()
    (memory / "memory.limit_in_bytes").write_text(str(1 << 27))
    driver.update("/c", Resources(memory_limit=1 << 25, memory_swap_limit=1 << 26))
    assert [os.path.basename(p) for p, _ in recorder.writes] == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]


def test_v1_oom_kills_are_read_from_oom_control(v1: tuple[V1Driver, Recorder, Path]) -> None:
    driver, _recorder, root = v1
    memory = root / "memory" / "c"
    memory.mkdir()
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert driver.oom_kills("/c") == 2
    assert driver.oom_source("/c") == (str(memory / "memory.oom_control"), "oom_kill")


def test_hybrid_machines_are_v1_and_only_a_cgroup2_root_is_v2(tmp_path: Path) -> None:
    hybrid = tmp_path / "hybrid"
    hybrid.write_text(
        "25 1 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "26 25 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "27 25 0:24 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    )
    unified = tmp_path / "unified"
    unified.write_text("25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n")
    assert detect_version(str(hybrid)) == 1
    assert detect_version(str(unified)) == 2


def test_v1_driver_maps_joined_hierarchies(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "26 25 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "27 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    )
    driver = V1Driver.from_mountinfo(str(info))
    assert driver.hierarchies == {"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct",
                                  "cpuacct": "/sys/fs/cgroup/cpu,cpuacct"}
    assert driver.procs_files("/a") == ["/sys/fs/cgroup/cpu,cpuacct/a/cgroup.procs", "/sys/fs/cgroup/memory/a/cgroup.procs"]


def test_v1_driver_uses_every_mounted_hierarchy_named_ones_too_but_not_the_hybrid_cgroup2(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "25 24 0:21 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
        "26 24 0:22 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "27 24 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "29 24 0:25 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n"
        "30 24 0:26 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n"
    )
    driver = V1Driver.from_mountinfo(str(info))
    assert driver.join_files("/a") == [
        "/sys/fs/cgroup/blkio/a/tasks", "/sys/fs/cgroup/cpu,cpuacct/a/tasks", "/sys/fs/cgroup/memory/a/tasks",
        "/sys/fs/cgroup/net_cls,net_prio/a/tasks", "/sys/fs/cgroup/systemd/a/tasks"]
    view = driver.container_view("/a")
    assert [name for _source, name in view["binds"]] == ["blkio", "cpu,cpuacct", "memory", "net_cls,net_prio", "systemd"]


def test_v1_processes_join_through_tasks_in_every_hierarchy() -> None:
    driver = V1Driver({"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct",
                       "cpuacct": "/sys/fs/cgroup/cpu,cpuacct"})
    assert driver.join_files("/a") == ["/sys/fs/cgroup/cpu,cpuacct/a/tasks", "/sys/fs/cgroup/memory/a/tasks"]


def test_v2_processes_join_through_cgroup_procs(v2: tuple[V2Driver, Recorder, Path]) -> None:
    driver, _recorder, root = v2
    assert driver.join_files("/a/b") == driver.procs_files("/a/b") == [str(root / "a" / "b" / "cgroup.procs")]


def test_v1_device_allow_list_denies_everything_then_allows_each_rule(v1: tuple[V1Driver, Recorder, Path]) -> None:
    driver, recorder, root = v1
    driver.hierarchies["devices"] = str(root / "devices")
    driver.set_devices("/c", ["c 1:3 rwm", "c *:* m"])
    d = root / "devices" / "c"
    assert recorder.writes == [(f"{d}/devices.deny", "a"), (f"{d}/devices.allow", "c 1:3 rwm"),
                               (f"{d}/devices.allow", "c *:* m")]
    recorder.writes.clear()
    driver.set_devices("/c", [])  # privileged: the inherited allow-all stays
    assert recorder.writes == []


def test_v2_device_rules_become_one_program_on_the_containers_cgroup(v2: tuple[V2Driver, Recorder, Path],
                                                                    devices: DeviceRecorder) -> None:
    driver, recorder, root = v2
    driver.set_devices("/kyb/pod/c", ["c 1:3 rwm", "c *:* m"])
    [(directory, program)] = devices.installed
    assert directory == str(root / "kyb" / "pod" / "c")
    assert program is not None and not program.policy.default_allow
    assert [(e.type, e.major, e.minor, e.access) for e in program.policy.exceptions] == [("c", 1, 3, 7), ("c", None, None, 1)]
    assert recorder.writes == []  # v2 has no devices.allow file to write


def test_v2_privileged_takes_every_program_of_ours_off_the_cgroup(v2: tuple[V2Driver, Recorder, Path],
                                                                 devices: DeviceRecorder) -> None:
    driver, _recorder, root = v2
    driver.set_devices("/c", [])
    assert devices.installed == [(str(root / "c"), None)]


def test_v2_a_malformed_device_rule_is_refused_before_anything_is_installed(v2: tuple[V2Driver, Recorder, Path],
                                                                          devices: DeviceRecorder) -> None:
    driver, _recorder, _root = v2
    with pytest.raises(InvalidDeviceRule, match="'c 1:3 rwz'"):
        driver.set_devices("/c", ["c 1:3 rwz"])
    assert devices.installed == []


def test_v2_on_a_plain_directory_tree_says_device_rules_go_unenforced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    driver = V2Driver(str(tmp_path), writer=Recorder(), devices=DevicesNotEnforced())
    with caplog.at_level("WARNING", logger="runtime.cgroups.v2"):
        driver.set_devices("/c", ["c 1:3 rwm"])
    assert "device rules not enforced" in caplog.text


def test_v2_uses_the_kernels_bpf_unless_told_otherwise(tmp_path: Path) -> None:
    assert isinstance(V2Driver(str(tmp_path)).devices, BpfDeviceInstaller)


def hugetlb_files(directory: Path, *names: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text("max\n")


def test_v2_hugepage_limits_set_the_limit_and_the_reservation(v2: tuple[V2Driver, Recorder, Path]) -> None:
    driver, recorder, root = v2
    c = root / "pod" / "c"
    hugetlb_files(c, "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "hugetlb.1GB.max")
    driver.update("/pod/c", Resources(hugepage_limits={"2MB": 4 << 20, "1GB": 1 << 30}))
    assert recorder.writes == [
        (str(c / "hugetlb.1GB.max"), str(1 << 30)),
        (str(c / "hugetlb.2MB.max"), str(4 << 20)),
        (str(c / "hugetlb.2MB.rsvd.max"), str(4 << 20)),
    ]


def test_v1_hugepage_limits_go_to_the_hugetlb_hierarchy(tmp_path: Path) -> None:
    recorder = Recorder()
    driver = V1Driver({"memory": str(tmp_path / "memory"), "hugetlb": str(tmp_path / "hugetlb")}, writer=recorder)
    hugetlb_files(tmp_path / "hugetlb" / "c", "hugetlb.2MB.limit_in_bytes")
    driver.update("/c", Resources(hugepage_limits={"2MB": 8 << 20}))
    assert recorder.writes == [(str(tmp_path / "hugetlb" / "c" / "hugetlb.2MB.limit_in_bytes"), str(8 << 20))]


def test_a_hugepage_size_the_kernel_does_not_offer_is_an_error(v2: tuple[V2Driver, Recorder, Path]) -> None:
    driver, recorder, root = v2
    hugetlb_files(root / "c", "hugetlb.2MB.max")
    with pytest.raises(CgroupError, match="hugepage size '64KB' is not offered"):
        driver.update("/c", Resources(hugepage_limits={"64KB": 1 << 20}))
    assert recorder.writes == []


def test_without_a_hugetlb_controller_hugepage_limits_are_left_alone(v1: tuple[V1Driver, Recorder, Path]) -> None:
    driver, recorder, _root = v1
    driver.update("/c", Resources(hugepage_limits={"2MB": 1 << 21}))
    assert recorder.writes == []


def test_cri_resources_carry_hugepage_limits_by_page_size() -> None:
    from cri import api_pb2
    from runtime.container.manager import resources_from

    linux = api_pb2.LinuxContainerResources(memory_limit_in_bytes=1 << 26, hugepage_limits=[
        api_pb2.HugepageLimit(page_size="2MB", limit=4 << 20), api_pb2.HugepageLimit(page_size="1GB", limit=1 << 30)])
    resources = resources_from(linux)
    assert resources.hugepage_limits == {"2MB": 4 << 20, "1GB": 1 << 30}
    assert Resources.from_dict(resources.to_dict()) == resources  # as a record keeps them


@pytest.mark.parametrize("key", ["../cpu.max", "/etc/passwd", "memory.high/../../x", "cgroup", "..", "memory..max/.."])
def test_a_unified_key_that_is_not_a_cgroup_file_name_is_invalid(key: str) -> None:
    from cri import api_pb2
    from runtime.container.manager import resources_from
    from runtime.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="not a cgroup interface file name"):
        resources_from(api_pb2.LinuxContainerResources(unified={key: "1"}))


@pytest.mark.parametrize("size", ["../../x", "2MB/../..", "2mb", "", "1 GB"])
def test_a_hugepage_size_that_is_not_a_page_size_is_invalid(size: str) -> None:
    from cri import api_pb2
    from runtime.container.manager import resources_from
    from runtime.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="not a page size"):
        resources_from(api_pb2.LinuxContainerResources(hugepage_limits=[api_pb2.HugepageLimit(page_size=size, limit=1)]))


def test_plain_unified_keys_and_page_sizes_are_accepted() -> None:
    from cri import api_pb2
    from runtime.container.manager import resources_from

    linux = api_pb2.LinuxContainerResources(unified={"memory.high": "1", "memory.swap.max": "0", "hugetlb.2MB.max": "0"},
                                            hugepage_limits=[api_pb2.HugepageLimit(page_size="64KB", limit=1)])
    assert set(resources_from(linux).unified) == {"memory.high", "memory.swap.max", "hugetlb.2MB.max"}


def test_v1_container_view_binds_each_hierarchy_and_links_co_mounted_controllers() -> None:
    from runtime.cgroups.v1 import V1Driver

    driver = V1Driver({"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                       "memory": "/sys/fs/cgroup/memory"}, writer=lambda path, value: None)
    assert driver.container_view("/kyb/pod/c1") == {
        "version": 1,
        "binds": [["/sys/fs/cgroup/cpu,cpuacct/kyb/pod/c1", "cpu,cpuacct"], ["/sys/fs/cgroup/memory/kyb/pod/c1", "memory"]],
        "links": [["cpu", "cpu,cpuacct"], ["cpuacct", "cpu,cpuacct"]],
    }


def test_v2_container_view_is_a_cgroup_namespace() -> None:
    from runtime.cgroups.v2 import V2Driver

    assert V2Driver("/sys/fs/cgroup", writer=lambda path, value: None).container_view("/kyb/pod/c1") == {"version": 2}


def test_v1_makes_no_missing_parent_when_told_not_to(v1: tuple[V1Driver, Recorder, Path]) -> None:
    driver, _recorder, root = v1
    with pytest.raises(CgroupError, match="its parent does not exist") as err:
        driver.create("/kyb/gone-pod/container", parents=False)
    assert err.value.errno == errno.ENOENT
    assert not (root / "memory" / "kyb").exists() and not (root / "cpu" / "kyb").exists()


def test_v2_makes_no_missing_parent_when_told_not_to(v2: tuple[V2Driver, Recorder, Path]) -> None:
    driver, _recorder, root = v2
    with pytest.raises(CgroupError, match="its parent does not exist"):
        driver.create("/kyb/gone-pod/container", parents=False)
    assert not (root / "kyb").exists()
    (root / "kyb" / "pod").mkdir(parents=True)
    driver.create("/kyb/pod/container", parents=False)
    assert (root / "kyb" / "pod" / "container").is_dir()
