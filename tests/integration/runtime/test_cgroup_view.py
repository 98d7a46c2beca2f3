"""A container sees its own cgroup at /sys/fs/cgroup, as runc shows it: programs size themselves
from it (a JVM's heap from the memory limit, Go's GOMAXPROCS from the CPU quota)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_harness import container_config, pod_config

from cri import api_pb2
from cri.client import RuntimeClient

pytestmark = pytest.mark.root

LIMIT = 64 * 1024 * 1024


def _host_is_cgroup2() -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split(" - ")[1].startswith("cgroup2 ") and line.split()[4] == "/sys/fs/cgroup" for line in f)


V2 = _host_is_cgroup2()
MEMORY_LIMIT_FILE = "/sys/fs/cgroup/memory.max" if V2 else "/sys/fs/cgroup/memory/memory.limit_in_bytes"
CPU_SHARES_FILE = "/sys/fs/cgroup/cpu.weight" if V2 else "/sys/fs/cgroup/cpu/cpu.shares"


def started(cri: RuntimeClient, name: str, privileged: bool = False) -> str:
    pod = pod_config(name)
    pod.linux.security_context.privileged = privileged
    sandbox = cri.run_pod_sandbox(pod)
    resources = api_pb2.LinuxContainerResources(memory_limit_in_bytes=LIMIT, cpu_shares=512)
    config = container_config(name, ["sleep", "300"], resources=resources, privileged=privileged)
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    return container


def sh(cri: RuntimeClient, container: str, script: str) -> api_pb2.ExecSyncResponse:
    return cri.exec_sync(container, ["sh", "-c", script], timeout=10)


def test_a_container_reads_its_own_limits_under_sys_fs_cgroup(cri: RuntimeClient) -> None:
    container = started(cri, "cgview")
    assert sh(cri, container, f"cat {MEMORY_LIMIT_FILE}").stdout.decode().strip() == str(LIMIT)
    expected_cpu = "20" if V2 else "512"  # runc's shares -> weight conversion of 512
    assert sh(cri, container, f"cat {CPU_SHARES_FILE}").stdout.decode().strip() == expected_cpu


def test_the_mounts_show_the_containers_cgroup_as_the_root(cri: RuntimeClient) -> None:
    container = started(cri, "cgroot")
    mounts = sh(cri, container, "cat /proc/self/mountinfo").stdout.decode().splitlines()
    cgroup_mounts = [m for m in mounts if m.split()[4].startswith("/sys/fs/cgroup")]
    if V2:
        (mount,) = [m for m in cgroup_mounts if m.split()[4] == "/sys/fs/cgroup"]
        assert mount.split()[3] == "/"  # a cgroup namespace rooted at the container's cgroup
        assert sh(cri, container, "cat /proc/self/cgroup").stdout.decode().strip() == "0::/"
    else:
        memory = [m for m in cgroup_mounts if m.split()[4] == "/sys/fs/cgroup/memory"]
        assert len(memory) == 1
        own = [line.split(":", 2)[2] for line in sh(cri, container, "cat /proc/self/cgroup").stdout.decode().splitlines()
               if "memory" in line.split(":")[1].split(",")]
        assert own == [memory[0].split()[3]]  # the bind's root is the container's own cgroup


@pytest.mark.skipif(V2, reason="cgroup v1: a line per hierarchy in /proc/self/cgroup")
def test_a_container_is_in_its_own_cgroup_in_every_v1_hierarchy_named_ones_too(cri: RuntimeClient) -> None:
    container = started(cri, "cgall")
    lines = sh(cri, container, "cat /proc/self/cgroup").stdout.decode().splitlines()
    v1 = {line.split(":", 2)[1]: line.split(":", 2)[2] for line in lines if not line.startswith("0::")}
    with open("/proc/self/cgroup") as f:  # the hierarchies this machine mounts
        mounted = {line.split(":", 2)[1] for line in f if not line.startswith("0::")}
    assert set(v1) == mounted
    assert all(path.endswith("/" + container) for path in v1.values()), v1
    names = sh(cri, container, "ls /sys/fs/cgroup").stdout.decode().split()
    if "name=systemd" in mounted:
        assert "systemd" in names


def test_the_cgroup_filesystem_is_read_only(cri: RuntimeClient) -> None:
    container = started(cri, "cgro")
    target = "/sys/fs/cgroup/kybt-probe" if V2 else "/sys/fs/cgroup/memory/kybt-probe"
    result = sh(cri, container, f"mkdir {target}")
    assert result.exit_code != 0 and b"Read-only file system" in result.stderr
    assert sh(cri, container, "touch /sys/fs/cgroup/file").exit_code != 0


def test_a_privileged_container_may_make_child_cgroups(cri: RuntimeClient) -> None:
    container = started(cri, "cgpriv", privileged=True)
    target = "/sys/fs/cgroup/kybt-probe" if V2 else "/sys/fs/cgroup/memory/kybt-probe"
    result = sh(cri, container, f"mkdir {target} && rmdir {target}")
    assert (result.exit_code, result.stderr) == (0, b"")


CGROUP2_VIEW_PROBE = r"""
import errno, json, os, sys
from runtime.linux.syscalls import CLONE_NEWNS, MS_PRIVATE, MS_REC, LibcKernel
from runtime.shim.rootfs import mount_cgroups
cgroup, root = sys.argv[1], sys.argv[2]
kernel = LibcKernel()
kernel.unshare(CLONE_NEWNS)
kernel.mount(None, "/", None, MS_REC | MS_PRIVATE, None)
with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
    f.write("0")
mount_cgroups(kernel, root, {"version": 2}, writable=False)
target = os.path.join(root, "sys/fs/cgroup")
line = next(l for l in open("/proc/self/mountinfo") if l.split()[4] == target)
try:
    os.mkdir(os.path.join(target, "child"))
    refused = None
except OSError as e:
    refused = errno.errorcode[e.errno]
unified = [l for l in open("/proc/self/cgroup").read().splitlines() if l.startswith("0::")]
print(json.dumps({"cgroup": unified, "mount_root": line.split()[3],
                  "fstype": line.split(" - ")[1].split()[0], "refused": refused,
                  "has_procs": os.path.exists(os.path.join(target, "cgroup.procs"))}))
"""


def test_on_cgroup2_the_view_is_a_cgroup_namespace_rooted_at_the_containers_cgroup(tmp_path: Path) -> None:
    """The v2 view on a real cgroup2 hierarchy (this machine's unified one when it is hybrid)."""
    hierarchy = "/sys/fs/cgroup" if V2 else "/sys/fs/cgroup/unified"
    if not os.path.ismount(hierarchy):
        pytest.skip("no cgroup2 hierarchy is mounted")
    cgroup = os.path.join(hierarchy, f"kybt-cgview-{secrets.token_hex(4)}")
    os.mkdir(cgroup)
    root = tmp_path / "root"
    (root / "sys/fs/cgroup").mkdir(parents=True)
    try:
        probe = subprocess.run([sys.executable, "-c", CGROUP2_VIEW_PROBE, cgroup, str(root)], capture_output=True,
                               text=True, timeout=30, cwd=str(Path(__file__).resolve().parents[3]))
        assert probe.returncode == 0, probe.stderr
        seen = json.loads(probe.stdout)
    finally:
        os.rmdir(cgroup)  # the probe has exited: the cgroup is empty
    assert seen == {"cgroup": ["0::/"], "mount_root": "/", "fstype": "cgroup2", "refused": "EROFS", "has_procs": True}
