"""The v2 driver's device programs on the real kernel: a process moved into a cgroup2 directory
carrying our program may open, write and mknod exactly the devices its rules allow.

This machine may be a v1 host; its cgroup2 hierarchy (``/sys/fs/cgroup/unified`` on a hybrid
layout, or one we mount) holds no controllers, but the kernel runs device programs attached
there for every task in the directory all the same. The checks run in a separate process (the
"checker") that the test moves into the cgroup; it reports each outcome as ``ok`` or the errno
name.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import select
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_harness import subtree_control_restored

from runtime.cgroups import bpf_asm, cgroup_mounts, detect_version
from runtime.cgroups.bpf import BpfDeviceInstaller, BpfError
from runtime.cgroups.device_filter import compile_rules, parse_rule
from runtime.cgroups.v1 import V1Driver
from runtime.cgroups.v2 import V2Driver
from runtime.container.spec import DEFAULT_DEVICE_RULES

pytestmark = pytest.mark.root

CHECKER = r"""
import errno, json, os, stat, sys
for line in sys.stdin:
    results = []
    for check in json.loads(line):
        try:
            if check[0] == "open":
                os.close(os.open(check[1], getattr(os, check[2])))
            else:
                _, path, kind, major, minor = check
                mode = (stat.S_IFCHR if kind == "c" else stat.S_IFBLK) | 0o600
                os.mknod(path, mode, os.makedev(major, minor))
                os.unlink(path)
            results.append("ok")
        except OSError as e:
            results.append(errno.errorcode[e.errno])
    print(json.dumps(results), flush=True)
"""


class Checker:
    """A process inside the cgroup that tries device accesses on request."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CHECKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def run(self, checks: list[list]) -> list[str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(checks) + "\n").encode())
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        assert ready, "the checker did not answer"
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(5)


@pytest.fixture
def cgroup2_root() -> Iterator[str]:
    """A cgroup2 mount: the host's (unified or hybrid), otherwise one of our own; controllers the
    tests' drivers enable at its root are disabled again afterwards."""
    if detect_version() == 2:
        with subtree_control_restored("/sys/fs/cgroup"):
            yield "/sys/fs/cgroup"
        return
    points = [point for point, fstype, _opts in cgroup_mounts() if fstype == "cgroup2"]
    if points:
        with subtree_control_restored(points[0]):
            yield points[0]
        return
    mountpoint = tempfile.mkdtemp(prefix="kybt-cg2-")
    subprocess.run(["mount", "-t", "cgroup2", "none", mountpoint], check=True)
    try:
        with subtree_control_restored(mountpoint):
            yield mountpoint
    finally:
        subprocess.run(["umount", mountpoint], check=False)
        os.rmdir(mountpoint)


@pytest.fixture
def cgroup(cgroup2_root: str) -> Iterator[tuple[V2Driver, str]]:
    driver = V2Driver(cgroup2_root)
    path = f"/kyb-devtest-{secrets.token_hex(4)}"
    driver.create(path)
    try:
        yield driver, path
    finally:
        driver.remove(path)


@pytest.fixture
def checker(cgroup: tuple[V2Driver, str]) -> Iterator[Checker]:
    driver, path = cgroup
    checker = Checker()
    try:
        driver.add_process(path, checker.proc.pid)
        yield checker
    finally:
        checker.stop()


@pytest.fixture
def nodes(tmp_path: Path) -> Path:
    """Device nodes made outside the cgroup, for devices /dev may not carry."""
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("kmsg", 1, 11)):
        os.mknod(tmp_path / name, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    return tmp_path


def test_an_allowed_device_opens_and_an_unlisted_one_is_refused_with_eperm(
        cgroup: tuple[V2Driver, str], checker: Checker, nodes: Path) -> None:
    driver, path = cgroup
    driver.set_devices(path, DEFAULT_DEVICE_RULES)
    assert checker.run([
        ["open", "/dev/null", "O_RDWR"],
        ["open", str(nodes / "zero"), "O_RDONLY"],
        ["open", str(nodes / "kmsg"), "O_RDONLY"],
    ]) == ["ok", "ok", "EPERM"]


def test_a_read_only_rule_refuses_opening_for_write(cgroup: tuple[V2Driver, str], checker: Checker) -> None:
    driver, path = cgroup
    driver.set_devices(path, ["c 1:3 r"])
    assert checker.run([["open", "/dev/null", "O_RDONLY"], ["open", "/dev/null", "O_WRONLY"],
                        ["open", "/dev/null", "O_RDWR"]]) == ["ok", "EPERM", "EPERM"]


def test_mknod_of_a_char_device_needs_the_m_access(cgroup: tuple[V2Driver, str], checker: Checker, tmp_path: Path) -> None:
    driver, path = cgroup
    driver.set_devices(path, ["c 1:3 rwm", "c 1:5 rw"])
    assert checker.run([["mknod", str(tmp_path / "n"), "c", 1, 3], ["mknod", str(tmp_path / "z"), "c", 1, 5],
                        ["open", "/dev/zero", "O_RDONLY"]]) == ["ok", "EPERM", "ok"]


def test_wildcard_majors_and_minors_match_any_number(cgroup: tuple[V2Driver, str], checker: Checker,
                                                    nodes: Path, tmp_path: Path) -> None:
    driver, path = cgroup
    driver.set_devices(path, ["c *:3 r", "c *:* m"])
    assert checker.run([
        ["open", str(nodes / "null"), "O_RDONLY"],
        ["open", str(nodes / "zero"), "O_RDONLY"],
        ["mknod", str(tmp_path / "any"), "c", 99, 42],
        ["mknod", str(tmp_path / "blk"), "b", 7, 0],
    ]) == ["ok", "EPERM", "ok", "EPERM"]


def test_updating_the_rules_replaces_the_program(cgroup: tuple[V2Driver, str], checker: Checker, nodes: Path) -> None:
    driver, path = cgroup
    installer = BpfDeviceInstaller()
    directory = driver._dir(path)
    driver.set_devices(path, ["c 1:3 r"])
    [first] = installer.attached(directory)
    assert checker.run([["open", "/dev/null", "O_WRONLY"]]) == ["EPERM"]
    driver.set_devices(path, ["c 1:3 rw"])
    [second] = installer.attached(directory)
    assert second != first
    assert checker.run([["open", "/dev/null", "O_WRONLY"], ["open", str(nodes / "kmsg"), "O_RDONLY"]]) == ["ok", "EPERM"]
    driver.set_devices(path, [])  # privileged: every device
    assert installer.attached(directory) == []
    assert checker.run([["open", str(nodes / "kmsg"), "O_RDONLY"]]) == ["ok"]


def test_deny_rules_after_allow_all_refuse_only_what_they_name(cgroup: tuple[V2Driver, str], checker: Checker,
                                                              nodes: Path) -> None:
    driver, path = cgroup
    program = compile_rules([parse_rule("a"), parse_rule("c 1:3 w", allow=False)])
    BpfDeviceInstaller().install(driver._dir(path), program)
    assert checker.run([["open", "/dev/null", "O_RDONLY"], ["open", "/dev/null", "O_WRONLY"],
                        ["open", str(nodes / "kmsg"), "O_RDONLY"]]) == ["ok", "EPERM", "ok"]


def test_removing_the_cgroup_releases_its_program(cgroup2_root: str) -> None:
    driver = V2Driver(cgroup2_root)
    path = f"/kyb-devtest-{secrets.token_hex(4)}"
    driver.create(path)
    try:
        driver.set_devices(path, ["c 1:3 rwm"])
        [prog_id] = BpfDeviceInstaller().attached(driver._dir(path))
    finally:
        driver.remove(path)
    assert not driver.exists(path)
    bpf = BpfDeviceInstaller().syscalls
    deadline = time.monotonic() + 10
    while True:  # the kernel frees a removed cgroup's programs from a work queue
        try:
            os.close(bpf.prog_fd_by_id(prog_id))
        except BpfError as e:
            assert e.errno == errno.ENOENT
            return
        assert time.monotonic() < deadline, f"program {prog_id} outlived its cgroup"
        time.sleep(0.05)


def test_a_plain_directory_is_refused_with_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(BpfError, match="not a cgroup2 directory") as caught:
        BpfDeviceInstaller().install(str(tmp_path), compile_rules([parse_rule("a", allow=False)]))
    assert caught.value.errno == errno.EBADF
    assert "BPF_PROG_QUERY" in caught.value.call


SEQUENCES = {
    "allow-list": [("deny", "a"), ("allow", "c 1:3 rw"), ("allow", "c 1:5 r"), ("allow", "c *:* m")],
    "deny rules after allow-all": [("allow", "a"), ("deny", "c 1:3 w"), ("deny", "c 1:* m"), ("deny", "b *:* rwm")],
    "a deny trims an allow": [("deny", "a"), ("allow", "c 1:3 rwm"), ("allow", "c 1:11 rw"), ("deny", "c 1:3 w")],
    "split grants on one device": [("deny", "a"), ("allow", "c 1:* r"), ("allow", "c 1:3 w"), ("allow", "c 1:5 r"),
                                   ("allow", "c 1:5 w")],
}


@pytest.mark.parametrize("sequence", SEQUENCES.values(), ids=SEQUENCES.keys())
def test_the_program_refuses_exactly_what_cgroup_v1_refuses(cgroup: tuple[V2Driver, str], nodes: Path,
                                                             tmp_path: Path, sequence: list[tuple[str, str]]) -> None:
    """The kernel's own v1 device controller is the reference: the same rules, written to a v1
    devices cgroup, must give a second checker the same answers."""
    if detect_version() != 1 or not os.path.isdir("/sys/fs/cgroup/devices"):
        pytest.skip("no cgroup v1 devices hierarchy to compare with")
    driver, path = cgroup
    checks: list[list] = []
    for name in ("null", "zero", "kmsg"):
        checks += [["open", str(nodes / name), flags] for flags in ("O_RDONLY", "O_WRONLY", "O_RDWR")]
    for kind, major, minor in (("c", 1, 3), ("c", 1, 5), ("c", 99, 1), ("b", 7, 0)):
        checks.append(["mknod", str(tmp_path / f"{kind}{major}-{minor}"), kind, major, minor])

    v1 = V1Driver({"devices": "/sys/fs/cgroup/devices"})
    v1_path = path + "-v1"
    v1.create(v1_path)
    v1_checker = Checker()
    v2_checker = Checker()
    try:
        directory = f"/sys/fs/cgroup/devices{v1_path}"
        for verdict, rule in sequence:
            Path(directory, f"devices.{verdict}").write_text(rule)
        BpfDeviceInstaller().install(driver._dir(path), compile_rules([parse_rule(rule, allow=verdict == "allow")
                                                                        for verdict, rule in sequence]))
        v1.add_process(v1_path, v1_checker.proc.pid)
        driver.add_process(path, v2_checker.proc.pid)
        expected = v1_checker.run(checks)
        assert "EPERM" in expected and "ok" in expected  # the comparison means something
        assert v2_checker.run(checks) == expected
    finally:
        v1_checker.stop()
        v2_checker.stop()
        v1.remove(v1_path)


def test_a_program_the_verifier_refuses_reports_the_verifiers_log() -> None:
    reads_past_the_context = bpf_asm.assemble([bpf_asm.load_word(2, 1, 12), bpf_asm.mov64(0, 1), bpf_asm.exit_()])
    with pytest.raises(BpfError, match="verifier:") as caught:
        BpfDeviceInstaller().syscalls.prog_load(reads_past_the_context)
    assert caught.value.errno == errno.EACCES
    assert "BPF_PROG_LOAD" in caught.value.call
