"""Container start latency: our CRI runtime against runc, crun and containerd, in one run.

What is timed is "create + start + wait for exit" of busybox `true`:

* kyb (container): through our CRI (`kyb runtime`), one sandbox made up front, then per
  container CreateContainer + StartContainer + wait for the exit. The wait is event driven where
  the runtime streams GetContainerEvents (as an evented kubelet waits: the CONTAINER_STOPPED
  event with the container's status), else ContainerStatus is polled until EXITED (every 2 ms
  one at a time, every 10 ms when 20 poll at once, so the pollers do not load the runtime);
  `wait_method` in each result says which;
* kyb (pod) and containerd (pod): RunPodSandbox + CreateContainer + StartContainer + wait, one
  fresh pod each time (containerd 1.6 from Debian on a private socket, see
  references/containerd.py); containerd (container) is measured like kyb (container);
* runc and crun: `<runtime> run` of a bundle over the same busybox rootfs (references/oci_runtime.py;
  crun inside a private mount namespace without the hybrid cgroup2 mount it refuses).

Pods are configured as the kubelet configures a pod without shareProcessNamespace: every
container gets a pid namespace of its own (`--pid-namespace pod` shares the pod's instead), as
`runc run`/`crun run` of a bundle do.

Each is measured `--sequential` times one after another, then `--concurrent` at once (threads;
latency per container plus the batch's wall time). The sequential samples are taken in
`--rounds` rounds: in each, every contender runs its share one after another, the order
rotating from round to round, so a shared machine that speeds up or slows down during the run
weighs on all contenders alike; a few unrecorded starts warm each one up first. The daemons stay
up between rounds. Removal happens after the clock stops.
Then memory: `--pods` pods each running `sleep`, with the daemon's RSS and each shim's and
holder's RSS and PSS (forked shims share pages with the fork server; PSS splits those).

Prints one JSON document: per case the median, p95 and mean in milliseconds, and ratios
`kyb / reference` (below 1 is faster than the reference). Missing references are installed
first with `apt-get install -y runc crun containerd`. Run as root: `python bench/container_start.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from bench.references import busybox_image, oci_runtime, teardown  # noqa: E402
from bench.references.busy_cpu import busy_cpu_seconds  # noqa: E402
from bench.references.containerd import ContainerdHarness  # noqa: E402
from bench.references.kyb_runtime import KybRuntimeHarness  # noqa: E402
from cri import api_pb2  # noqa: E402
from cri.client import RuntimeClient  # noqa: E402

BUSYBOX = "docker.io/library/busybox:latest"
REFERENCE_PACKAGES = {"runc": "runc", "crun": "crun", "containerd": "containerd", "ctr": "containerd"}
POLL_INTERVAL = 0.002  # one container at a time: fine-grained
CONCURRENT_POLL_INTERVAL = 0.01  # 20 pollers at once must not load the runtime they measure
EXIT_TIMEOUT = 60.0
WARMUP = 3  # unrecorded sequential starts per contender before the measured rounds


def ensure_references() -> list[str]:
    """apt-get install the reference runtimes that are missing; return what was installed."""
    missing = sorted({pkg for binary, pkg in REFERENCE_PACKAGES.items() if shutil.which(binary) is None})
    if missing:
        subprocess.run(["apt-get", "install", "-y", *missing], check=True, capture_output=True)
    return missing


def summarize(samples: list[float]) -> dict[str, float | None]:
    """Milliseconds: median, p95 (nearest rank), mean, min, max, and the count (None without samples:
    a mode turned off with 0)."""
    if not samples:
        return {"n": 0, "median_ms": None, "p95_ms": None, "mean_ms": None, "min_ms": None, "max_ms": None}
    ms = sorted(s * 1000 for s in samples)
    rank = max(0, min(len(ms) - 1, int(round(0.95 * len(ms) + 0.5)) - 1))
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[rank], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "min_ms": round(ms[0], 2),
        "max_ms": round(ms[-1], 2),
    }


class ExitEvents:
    """Container exits from one GetContainerEvents stream, for waiters that registered first.

    `supported` is False when the runtime answers the stream with an error (containerd 1.6:
    UNIMPLEMENTED); waiters then poll."""

    def __init__(self, client: RuntimeClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._waiters: dict[str, tuple[threading.Event, list[api_pb2.ContainerStatus]]] = {}
        self._failed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="exit-events", daemon=True)
        self._thread.start()
        self.supported = not self._failed.wait(1.0)

    def _run(self) -> None:
        try:
            for event in self._client.container_events():
                if event.container_event_type != api_pb2.CONTAINER_STOPPED_EVENT:
                    continue
                with self._lock:
                    waiter = self._waiters.get(event.container_id)
                if waiter is None:
                    continue
                waiter[1].extend(s for s in event.containers_statuses if s.id == event.container_id)
                waiter[0].set()
        except Exception:  # the stream ended (unsupported, or the client closed)
            self._failed.set()

    def register(self, container_id: str) -> None:
        with self._lock:
            self._waiters[container_id] = (threading.Event(), [])

    def wait(self, container_id: str, timeout: float) -> tuple[bool, api_pb2.ContainerStatus | None]:
        """Whether the stop event came in time, and the container's status if it carried it."""
        with self._lock:
            event, statuses = self._waiters[container_id]
        arrived = event.wait(timeout)
        with self._lock:
            del self._waiters[container_id]
        return arrived, (statuses[0] if statuses else None)


class CRIDriver:
    """Pods and containers through any CRI endpoint, for timing."""

    def __init__(self, endpoint: str, cgroup_parent: str, log_dir: str, share_pid: bool = False) -> None:
        self.client = RuntimeClient(endpoint, timeout=120)
        self.poll_interval = POLL_INTERVAL
        self.cgroup_parent = cgroup_parent
        self.log_dir = log_dir
        self.pid_mode = api_pb2.POD if share_pid else api_pb2.CONTAINER
        self.events = ExitEvents(self.client)
        self.wait_method = "GetContainerEvents" if self.events.supported else "ContainerStatus polling"

    def pod_config(self, name: str) -> api_pb2.PodSandboxConfig:
        uid = uuid.uuid4().hex
        logs = os.path.join(self.log_dir, uid)
        os.makedirs(logs, exist_ok=True)
        return api_pb2.PodSandboxConfig(
            metadata=api_pb2.PodSandboxMetadata(name=name, namespace="bench", uid=uid),
            log_directory=logs,
            linux=api_pb2.LinuxPodSandboxConfig(
                cgroup_parent=self.cgroup_parent,
                security_context=api_pb2.LinuxSandboxSecurityContext(
                    namespace_options=api_pb2.NamespaceOption(pid=self.pid_mode)
                ),
            ),
        )

    def container_config(self, name: str, command: list[str]) -> api_pb2.ContainerConfig:
        return api_pb2.ContainerConfig(
            metadata=api_pb2.ContainerMetadata(name=name),
            image=api_pb2.ImageSpec(image=BUSYBOX),
            command=command,
            log_path=f"{name}.log",
            linux=api_pb2.LinuxContainerConfig(
                security_context=api_pb2.LinuxContainerSecurityContext(
                    namespace_options=api_pb2.NamespaceOption(pid=self.pid_mode)
                )
            ),
        )

    def run_to_exit(
        self,
        pod_id: str,
        pod: api_pb2.PodSandboxConfig,
        name: str,
        phases: dict[str, list[float]] | None = None,
    ) -> str:
        """Create, start and wait for `true`; record each phase's seconds in `phases` if given."""
        t0 = time.perf_counter()
        cid = self.client.create_container(pod_id, self.container_config(name, ["true"]), pod)
        if self.events.supported:
            self.events.register(cid)
        t1 = time.perf_counter()
        self.client.start_container(cid)
        t2 = time.perf_counter()
        if phases is not None:
            phases.setdefault("create", []).append(t1 - t0)
            phases.setdefault("start", []).append(t2 - t1)
        status = self._wait_exited(cid, name)
        if status.exit_code != 0:
            raise RuntimeError(f"container {name} exited {status.exit_code}: {status.reason} {status.message}")
        if phases is not None:
            phases.setdefault("wait_for_exit", []).append(time.perf_counter() - t2)
        return cid

    def _wait_exited(self, cid: str, name: str) -> api_pb2.ContainerStatus:
        if self.events.supported:
            arrived, status = self.events.wait(cid, EXIT_TIMEOUT)
            if not arrived:
                raise RuntimeError(f"no stop event for container {name} within {EXIT_TIMEOUT}s")
            if status is None:  # the event did not carry the status: ask once
                status = self.client.container_status(cid).status
            if status.state != api_pb2.CONTAINER_EXITED:
                raise RuntimeError(f"container {name} stopped but its status says {status.state}")
            return status
        deadline = time.monotonic() + EXIT_TIMEOUT
        while True:
            status = self.client.container_status(cid).status
            if status.state == api_pb2.CONTAINER_EXITED:
                return status
            if time.monotonic() > deadline:
                raise RuntimeError(f"container {name} did not exit within {EXIT_TIMEOUT}s")
            time.sleep(self.poll_interval)

    def remove_pod(self, pod_id: str) -> None:
        self.client.stop_pod_sandbox(pod_id)
        self.client.remove_pod_sandbox(pod_id)


class OciContender:
    """`runc run` / `crun run`, each batch in a worker of its own (see references/oci_runtime.py)."""

    def __init__(self, binary: str, work: str, rootfs: str, cgroup_parent: str) -> None:
        self.name = binary
        self.work = os.path.join(work, binary)
        self.rootfs = rootfs
        self.cgroup_parent = cgroup_parent
        self.hide_unified = binary == "crun"  # crun refuses this machine's hybrid cgroups
        self.batches = 0
        self.raw: dict[str, Any] = {"sequential": [], "concurrent": [], "concurrent_wall": 0.0}

    def _run(self, sequential: int, concurrent: int) -> dict[str, Any]:
        self.batches += 1
        return oci_runtime.run_in_private_mount_ns(
            self.name, self.work, self.rootfs, self.cgroup_parent, sequential, concurrent, self.hide_unified,
            tag=str(self.batches),
        )

    def sequential(self, n: int, keep: bool = True) -> None:
        result = self._run(n, 0)
        if keep:
            self.raw["sequential"].extend(result["sequential"])
            self.raw["cpu_seconds"] = self.raw.get("cpu_seconds", 0.0) + result["sequential_cpu_seconds"]

    def concurrent(self, n: int) -> None:
        result = self._run(0, n)
        self.raw["concurrent"], self.raw["concurrent_wall"] = result["concurrent"], result["concurrent_wall"]


class CriContender:
    """A CRI runtime (ours or containerd) on a private socket, with one sandbox for its
    containers; started once and measured batch by batch."""

    def __init__(self, kind: str, archive: str, share_pid: bool) -> None:
        self.name = kind
        self.harness: Any = KybRuntimeHarness() if kind == "kyb" else ContainerdHarness()
        if kind == "kyb":
            self.harness.import_archive(archive)
            self.harness.start()
        else:
            self.harness.start()
            self.harness.import_archive(archive)
        self.driver = CRIDriver(
            self.harness.endpoint, self.harness.cgroup_parent, os.path.join(self.harness.base, "logs"),
            share_pid=share_pid,
        )
        self.pod = self.driver.pod_config(f"{kind}-ctr")
        self.pod_id = self.driver.client.run_pod_sandbox(self.pod)
        self.count = 0
        self.raw: dict[str, Any] = {"sequential": [], "concurrent": [], "concurrent_wall": 0.0, "phases": {}}

    def _one(self, record: dict[str, list[float]] | None = None) -> tuple[float, str]:
        self.count += 1
        start = time.perf_counter()
        cid = self.driver.run_to_exit(self.pod_id, self.pod, f"c{self.count}", record)
        return time.perf_counter() - start, cid

    def sequential(self, n: int, keep: bool = True) -> None:
        before = busy_cpu_seconds()
        for _ in range(n):
            elapsed, cid = self._one(self.raw["phases"] if keep else None)
            if keep:
                self.raw["sequential"].append(elapsed)
            self.driver.client.remove_container(cid)
        if keep:
            self.raw["cpu_seconds"] = self.raw.get("cpu_seconds", 0.0) + busy_cpu_seconds() - before

    def concurrent(self, n: int) -> None:
        if n == 0:
            return
        self.driver.poll_interval = CONCURRENT_POLL_INTERVAL
        wall_start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(lambda _: self._one(), range(n)))
        self.raw["concurrent_wall"] = time.perf_counter() - wall_start
        self.driver.poll_interval = POLL_INTERVAL
        self.raw["concurrent"] = [r[0] for r in results]
        for _, cid in results:
            self.driver.client.remove_container(cid)

    def stop(self) -> None:
        try:
            self.driver.client.close()
        finally:
            self.harness.stop()


def rounds_of(total: int, rounds: int) -> list[int]:
    """``total`` samples split into ``rounds`` batches as evenly as possible."""
    rounds = max(1, min(rounds, total)) if total else 1
    return [total // rounds + (1 if i < total % rounds else 0) for i in range(rounds)]


def measure_pods(driver: CRIDriver, tag: str, sequential: int, concurrent: int) -> dict[str, Any]:
    """A fresh pod per sample: RunPodSandbox + create + start + wait for the container's exit."""

    def one(name: str) -> tuple[float, str]:
        pod = driver.pod_config(name)
        start = time.perf_counter()
        pod_id = driver.client.run_pod_sandbox(pod)
        driver.run_to_exit(pod_id, pod, "c")
        return time.perf_counter() - start, pod_id

    seq = []
    for i in range(sequential):
        elapsed, pod_id = one(f"{tag}-s{i}")
        seq.append(elapsed)
        driver.remove_pod(pod_id)
    if concurrent == 0:
        return {"sequential": seq, "concurrent": [], "concurrent_wall": 0.0}
    driver.poll_interval = CONCURRENT_POLL_INTERVAL
    wall_start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrent) as pool:
        results = list(pool.map(lambda i: one(f"{tag}-p{i}"), range(concurrent)))
    wall = time.perf_counter() - wall_start
    driver.poll_interval = POLL_INTERVAL
    for _, pod_id in results:
        driver.remove_pod(pod_id)
    return {"sequential": seq, "concurrent": [r[0] for r in results], "concurrent_wall": wall}


def _memory(pids: list[int]) -> dict[str, Any]:
    rss = [teardown.process_rss_kib(p) for p in pids]
    pss = [teardown.process_pss_kib(p) for p in pids]
    if not pids:
        return {"count": 0}
    return {
        "count": len(pids),
        "rss_kib_median": int(statistics.median(rss)),
        "pss_kib_median": int(statistics.median(pss)),
        "rss_kib_total": sum(rss),
        "pss_kib_total": sum(pss),
    }


def _pause_pids(cgroup_name: str) -> list[int]:
    """containerd's sandbox ("pause") processes: our pause image sleeps forever."""
    found = []
    for pid in teardown.cgroup_pids(cgroup_name):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[:2] == [b"/bin/sleep", b"2147483647"]:
                    found.append(pid)
        except OSError:
            pass
    return sorted(found)


def measure_memory(driver: CRIDriver, harness: Any, kind: str, pods: int) -> dict[str, Any]:
    """Start `pods` pods each running `sleep`, then read the daemon's and the shims' memory."""
    pod_ids = []
    try:
        for i in range(pods):
            pod = driver.pod_config(f"mem-{i}")
            pod_id = driver.client.run_pod_sandbox(pod)
            pod_ids.append(pod_id)
            cid = driver.client.create_container(
                pod_id, driver.container_config("sleep", ["sleep", "3600"]), pod
            )
            driver.client.start_container(cid)
        time.sleep(1.0)
        daemon = harness.daemon_pid()
        result: dict[str, Any] = {
            "pods": pods,
            "daemon_rss_kib": teardown.process_rss_kib(daemon) if daemon else 0,
        }
        if kind == "kyb":
            result["forkserver"] = _memory(harness.helper_pids("kyb-forkserver"))
            result["shims"] = _memory(harness.helper_pids("kyb-shim"))
            result["holders"] = _memory(harness.helper_pids("kyb-holder"))
            result["daemon_plus_forkserver_rss_kib"] = result["daemon_rss_kib"] + result["forkserver"].get(
                "rss_kib_total", 0
            )
        else:
            result["shims"] = _memory(harness.shim_pids())
            result["pause"] = _memory(_pause_pids(harness.name))
        return result
    finally:
        for pod_id in pod_ids:
            try:
                driver.remove_pod(pod_id)
            except Exception:  # teardown of the harness forces what is left
                pass


def with_stats(raw: dict[str, Any]) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "sequential": summarize(raw["sequential"]),
        "concurrent": summarize(raw["concurrent"]),
        "concurrent_wall_ms": round(raw["concurrent_wall"] * 1000, 1),
    }
    if raw.get("cpu_seconds") and raw["sequential"]:
        # The whole machine's busy CPU time over the sequential samples, per container (removal
        # included: CRI RemoveContainer, `run`'s own delete): what one costs, whoever paid.
        stats["sequential_cpu_ms_per_container"] = round(raw["cpu_seconds"] / len(raw["sequential"]) * 1000, 2)
    if raw.get("phases"):
        # Where a sequential container's time goes: CreateContainer, StartContainer, then
        # until ContainerStatus says EXITED (includes the poll interval).
        stats["sequential_phases_median_ms"] = {
            phase: round(statistics.median(v) * 1000, 2) for phase, v in raw["phases"].items()
        }
    return stats


def ratio(ours: dict[str, Any] | None, ref: dict[str, Any] | None) -> dict[str, float] | None:
    """kyb / reference for median and p95, sequential and concurrent (below 1: kyb is faster)."""
    if not ours or not ref:
        return None
    out = {}
    for mode in ("sequential", "concurrent"):
        for stat in ("median_ms", "p95_ms"):
            if ref[mode][stat] and ours[mode][stat] is not None:
                out[f"{mode}_{stat.removesuffix('_ms')}"] = round(ours[mode][stat] / ref[mode][stat], 2)
    return out


def _met(ratio_value: float | None, limit: float) -> bool | None:
    return None if ratio_value is None else ratio_value <= limit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sequential", type=int, default=50, help="containers one after another (default 50)"
    )
    parser.add_argument("--concurrent", type=int, default=20, help="containers at once (default 20)")
    parser.add_argument(
        "--pods", type=int, default=50, help="pods running for the memory measurement (default 50)"
    )
    parser.add_argument(
        "--pid-namespace",
        choices=("container", "pod"),
        default="container",
        help="each container's own pid namespace, as the kubelet's default (container), or the pod's",
    )
    parser.add_argument(
        "--rounds", type=int, default=5,
        help="rounds the sequential samples are split into, the contenders taking turns (default 5)",
    )
    parser.add_argument(
        "--only",
        default="kyb,runc,crun,containerd",
        help="comma-separated subset of kyb,runc,crun,containerd",
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("container_start: run as root (namespaces, cgroups, mounts)", file=sys.stderr)
        return 2
    only = set(args.only.split(","))
    report: dict[str, Any] = {
        "benchmark": "container_start",
        "workload": "busybox true: create + start + wait for exit",
        "sequential_n": args.sequential,
        "sequential_rounds": rounds_of(args.sequential, args.rounds),
        "warmup_per_contender": WARMUP,
        "concurrent_n": args.concurrent,
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": os.uname().release,
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "pid_namespace": args.pid_namespace,
        "wait_method": {},
        "installed_references": ensure_references(),
        "results": {},
        "errors": {},
    }
    results: dict[str, Any] = report["results"]
    work = tempfile.mkdtemp(prefix="kybt-bench-")
    cgroup_parent = f"/{os.path.basename(work)}"
    contenders: list[Any] = []
    try:
        archive = busybox_image.write_oci_archive(os.path.join(work, "busybox.tar"), BUSYBOX, cmd=["sh"])
        rootfs = busybox_image.make_rootfs(os.path.join(work, "rootfs"))
        for name in ("runc", "crun", "kyb", "containerd"):
            if name not in only:
                continue
            try:
                if name in ("runc", "crun"):
                    contenders.append(OciContender(name, work, rootfs, cgroup_parent))
                else:
                    contender = CriContender(name, archive.path, share_pid=args.pid_namespace == "pod")
                    contenders.append(contender)
                    report["wait_method"][name] = contender.driver.wait_method
            except Exception as e:  # report and go on: the others still count
                report["errors"][name] = f"{type(e).__name__}: {str(e)[-800:]}"
        # The sequential samples are taken in rounds, every contender a batch per round in an
        # order that rotates, so a machine that speeds up or slows down during the run (shared
        # hosts do) weighs on all of them alike. A few unrecorded starts warm each one first.
        for index, batch in enumerate([WARMUP, *rounds_of(args.sequential, args.rounds)]):
            order = contenders[index % len(contenders):] + contenders[:index % len(contenders)] if contenders else []
            for contender in order:
                if contender.name in report["errors"]:
                    continue
                try:
                    contender.sequential(batch, keep=index > 0)
                except Exception as e:
                    report["errors"][contender.name] = f"{type(e).__name__}: {str(e)[-800:]}"
        for contender in contenders:
            if contender.name in report["errors"]:
                continue
            try:
                contender.concurrent(args.concurrent)
                key = contender.name if isinstance(contender, OciContender) else f"{contender.name}_container"
                results[key] = with_stats(contender.raw)
                if isinstance(contender, CriContender):
                    contender.driver.remove_pod(contender.pod_id)
                    results[f"{contender.name}_pod"] = with_stats(
                        measure_pods(contender.driver, contender.name, args.sequential, args.concurrent)
                    )
                    results[f"{contender.name}_memory"] = measure_memory(
                        contender.driver, contender.harness, contender.name, args.pods
                    )
            except Exception as e:
                report["errors"][contender.name] = f"{type(e).__name__}: {str(e)[-800:]}"
    finally:
        for contender in contenders:
            if isinstance(contender, CriContender):
                try:
                    contender.stop()
                except Exception as e:
                    report["errors"].setdefault(contender.name, f"stopping: {e}")
        teardown.kill_all(lambda: teardown.cgroup_pids(cgroup_parent))
        teardown.remove_cgroups(cgroup_parent)
        teardown.unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)
    kyb_container, kyb_pod = results.get("kyb_container"), results.get("kyb_pod")
    report["ratios"] = {
        "kyb_container_vs_runc": ratio(kyb_container, results.get("runc")),
        "kyb_container_vs_crun": ratio(kyb_container, results.get("crun")),
        "kyb_container_vs_containerd_container": ratio(kyb_container, results.get("containerd_container")),
        "kyb_pod_vs_containerd_pod": ratio(kyb_pod, results.get("containerd_pod")),
    }
    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["notes"] = [
        "containerd 1.6's runc v2 shim serves a whole pod: containerd_container's 20-at-once case "
        "starts and reaps 20 containers through one shim, which handles them one after another",
        "kyb_pod and containerd_pod both include pod networking (a veth on a bridge in the "
        "runtime's network namespace); runc and crun get an empty network namespace",
        "the machine is shared: see machine.loadavg_at_start/at_end when comparing runs",
    ]
    crun_ratio = (report["ratios"]["kyb_container_vs_crun"] or {}).get("sequential_median")
    pod_ratio = (report["ratios"]["kyb_pod_vs_containerd_pod"] or {}).get("sequential_median")
    report["targets"] = {
        "per_container_vs_crun": {"ratio": crun_ratio, "target": "<= 1.5", "met": _met(crun_ratio, 1.5)},
        "per_pod_vs_containerd": {"ratio": pod_ratio, "target": "<= 1.0", "met": _met(pod_ratio, 1.0)},
    }
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0 if not report["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
