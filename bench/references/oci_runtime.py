"""`runc run` and `crun run` of a busybox bundle, timed, for the container start benchmark.

The bundle is the busybox rootfs from `busybox_image.make_rootfs` plus a config.json we write
(the runtime-spec defaults `runc spec` also produces: pid, net, ipc, uts and mount namespaces,
/proc, a tmpfs /dev with /dev/pts, /dev/shm and /dev/mqueue, read-only /sys and /sys/fs/cgroup,
masked and read-only paths, Docker's default capabilities, no_new_privs: what a kyb container
gets too), with `cgroupsPath` under a `kybt-` cgroup so teardown finds everything.

Debian's crun 1.8 refuses this machine's hybrid cgroups ("cgroups in hybrid mode not
supported"), so the measurements run in a worker process started with `unshare -m
--propagation private` that unmounts /sys/fs/cgroup/unified in its private mount namespace
first (the host keeps its mount). runc is measured by the same kind of worker so both pay
the same costs. A worker prints its samples as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench.references.busy_cpu import busy_cpu_seconds

DEFAULT_CAPS = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]


def bundle_config(args: list[str], cgroups_path: str) -> dict[str, object]:
    """A runtime-spec config.json running `args` in busybox, like `runc spec` but not a tty."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {k: DEFAULT_CAPS for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/dev/pts",
                "type": "devpts",
                "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
            },
            {
                "destination": "/dev/shm",
                "type": "tmpfs",
                "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            {
                "destination": "/dev/mqueue",
                "type": "mqueue",
                "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            },
            {
                "destination": "/sys",
                "type": "sysfs",
                "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
            {
                "destination": "/sys/fs/cgroup",
                "type": "cgroup",
                "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
            },
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": [
                "/proc/acpi",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


def make_bundle(directory: str, rootfs: str, cgroups_path: str, args: list[str]) -> str:
    """A bundle dir whose config.json points at the shared, read-only `rootfs` (absolute path)."""
    os.makedirs(directory, exist_ok=True)
    config = bundle_config(args, cgroups_path)
    config["root"] = {"path": os.path.abspath(rootfs), "readonly": True}
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    return directory


def _run_one(
    binary: str, state_root: str, work: str, rootfs: str, cgroup_parent: str, container_id: str
) -> float:
    """Seconds for one `<runtime> run` (create, start, wait for exit, delete) of busybox `true`.

    The bundle is written before the clock starts; each container gets a cgroup of its own
    under `cgroup_parent`, as the CRI runtimes give theirs.
    """
    bundle = make_bundle(
        os.path.join(work, container_id), rootfs, f"{cgroup_parent}/{container_id}", ["true"]
    )
    start = time.perf_counter()
    r = subprocess.run(
        [binary, "--root", state_root, "run", "--bundle", bundle, container_id],
        capture_output=True,
        timeout=60,
    )
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(
            f"{binary} run {container_id}: exit {r.returncode}: {r.stderr.decode(errors='replace')}"
        )
    shutil.rmtree(bundle, ignore_errors=True)
    return elapsed


def measure(
    binary: str, work: str, rootfs: str, cgroup_parent: str, sequential: int, concurrent: int, tag: str = "0"
) -> dict[str, object]:
    """Per-container seconds: `sequential` one after another, then `concurrent` at once (either
    may be 0); `tag` keeps container ids apart between calls. Also the machine's busy CPU
    seconds over the sequential ones."""
    state_root = os.path.join(work, "state")
    os.makedirs(state_root, exist_ok=True)
    name = os.path.basename(binary)
    before = busy_cpu_seconds()
    seq = [
        _run_one(binary, state_root, work, rootfs, cgroup_parent, f"{name}-{tag}-seq-{i}")
        for i in range(sequential)
    ]
    seq_cpu = busy_cpu_seconds() - before
    par: list[float] = []
    wall_start = time.perf_counter()
    if concurrent:
        with ThreadPoolExecutor(max_workers=concurrent) as pool:
            par = list(
                pool.map(
                    lambda i: _run_one(binary, state_root, work, rootfs, cgroup_parent, f"{name}-{tag}-par-{i}"),
                    range(concurrent),
                )
            )
    wall = time.perf_counter() - wall_start
    return {"sequential": seq, "sequential_cpu_seconds": seq_cpu, "concurrent": par, "concurrent_wall": wall}


def worker_main(argv: list[str]) -> int:
    """Entry point inside `unshare -m`: hide cgroup2 if asked, measure, print JSON."""
    binary, work, rootfs, cgroup_parent, sequential, concurrent, hide_unified, tag = argv
    if hide_unified == "1" and os.path.ismount("/sys/fs/cgroup/unified"):
        subprocess.run(["umount", "-l", "/sys/fs/cgroup/unified"], check=True)
    result = measure(binary, work, rootfs, cgroup_parent, int(sequential), int(concurrent), tag)
    json.dump(result, sys.stdout)
    return 0


def run_in_private_mount_ns(
    binary: str,
    work: str,
    rootfs: str,
    cgroup_parent: str,
    sequential: int,
    concurrent: int,
    hide_unified: bool,
    tag: str = "0",
) -> dict[str, object]:
    """Measure `binary` in a worker with a private mount namespace (see module docstring)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from bench.references.oci_runtime import worker_main; sys.exit(worker_main(sys.argv[2:]))"
    )
    cmd = ["unshare", "-m", "--propagation", "private", sys.executable, "-c", code, repo]
    cmd += [shutil.which(binary) or binary, work, rootfs, cgroup_parent, str(sequential), str(concurrent)]
    cmd += ["1" if hide_unified else "0", tag]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"{binary} worker failed: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout)
