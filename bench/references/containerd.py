"""Debian's containerd 1.6 serving CRI v1 on a private socket, for tests and benchmarks.

Everything the daemon touches is private to one harness: its socket, root and state dirs, the
runc root, the opt dir, the CNI config and IPAM store, the pod network namespaces (kept under the
state dir via `netns_mounts_under_state_dir`), and a network namespace of its own that it runs in
(`nsenter --net`), so the CNI bridge, veths and any iptables rules live there and vanish with it.
Pods should set `linux.cgroup_parent` to `harness.cgroup_parent` so their cgroups carry the
harness's `kybt-` name and are found and removed on teardown.

Pods need a sandbox image in containerd's store: the harness builds a pause-like busybox image
offline (its process sleeps forever) and imports it into the `k8s.io` namespace with `ctr`.
`sandbox_image` points at it. containerd wants to give the sandbox a negative oom_score_adj,
which needs CAP_SYS_RESOURCE; `restrict_oom_score_adj` clamps that to what the daemon has.

Teardown (`stop`, also on failure): remove every pod through CRI so containerd undoes its own
work (CNI DEL, netns, mounts), stop the daemon, then force what is left: kill shims and any
process in the harness's cgroups, lazily unmount everything under the harness dir, remove the
cgroups, the network namespace, libcni's cache entries for the harness's network, and the dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.references import busybox_image, netns, teardown

CNI_BIN_DIR = "/usr/lib/cni"
LIBCNI_CACHE = "/var/lib/cni/results"
SANDBOX_IMAGE = "kyb.local/pause:3.9"
SHIM_SOCKET_DIR = "/run/containerd/s"
STREAM_PORT = 10010  # free: the daemon has a network namespace of its own


class HarnessError(RuntimeError):
    """containerd did not come up (the message carries the tail of its log) or a step failed."""


def _mirrors(registry_mirrors: dict[str, str]) -> str:
    """containerd 1.6's CRI mirror tables: pulls of each host go to its mirror's endpoint."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return "".join(f'\n[{cri}.registry.mirrors."{host}"]\n  endpoint = ["{url}"]\n'
                   for host, url in sorted(registry_mirrors.items()))


def _config(base: str, netns_name: str, registry_mirrors: dict[str, str] | None = None) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{base}/root"
state = "{base}/state"
oom_score = 0

[grpc]
  address = "{base}/containerd.sock"

[ttrpc]
  address = "{base}/containerd.sock.ttrpc"

[debug]
  address = ""
  level = "warn"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"

[{cri}]
  sandbox_image = "{SANDBOX_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "{STREAM_PORT}"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  max_container_log_line_size = 16384

[{cri}.cni]
  bin_dir = "{CNI_BIN_DIR}"
  conf_dir = "{base}/cni/net.d"
  max_conf_num = 1

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  Root = "{base}/runc"
  SystemdCgroup = false
""" + _mirrors(registry_mirrors or {})


def _cni_conflist(network: str, base: str, subnet: str, port_mappings: bool) -> dict[str, object]:
    # portmap (hostPort) only when asked: it adds iptables work to every pod, which the start
    # benchmark's pods (no ports) must not pay.
    portmap = [{"type": "portmap", "capabilities": {"portMappings": True}}] if port_mappings else []
    return {
        "cniVersion": "0.4.0",
        "name": network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": "kybctd0",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": subnet}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": f"{base}/cni/ipam",
                },
            },
            *portmap,
        ],
    }


class ContainerdHarness:
    """One private containerd; use as a context manager or call start() and stop()."""

    def __init__(self, base_dir: str | None = None, registry_mirrors: dict[str, str] | None = None,
                 pod_subnet: str = "10.88.0.0/16", port_mappings: bool = False) -> None:
        """``registry_mirrors``: registry host -> mirror URL (``http://127.0.0.1:5000``);
        ``port_mappings``: serve pods' hostPorts (CNI portmap)."""
        self.name = netns.unique_name("ctd")
        self.registry_mirrors = dict(registry_mirrors or {})
        self.pod_subnet = pod_subnet
        self.port_mappings = port_mappings
        self.base = base_dir or tempfile.mkdtemp(prefix=f"{self.name}-")
        self.socket = os.path.join(self.base, "containerd.sock")
        self.endpoint = f"unix://{self.socket}"
        self.cgroup_parent = f"/{self.name}"
        self.sandbox_image = SANDBOX_IMAGE
        self.log_path = os.path.join(self.base, "containerd.log")
        self._proc: subprocess.Popen[bytes] | None = None
        self._netns_made = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> ContainerdHarness:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        for d in ("root", "state", "opt", "runc", "cni/net.d", "cni/ipam", "images"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        config_path = os.path.join(self.base, "config.toml")
        with open(config_path, "w") as f:
            f.write(_config(self.base, self.name, self.registry_mirrors))
        with open(os.path.join(self.base, "cni/net.d/10-kybt.conflist"), "w") as f:
            json.dump(_cni_conflist(self.name, self.base, self.pod_subnet, self.port_mappings), f, indent=2)
        netns.create(self.name)
        self._netns_made = True
        teardown.become_subreaper()
        log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(
            [*netns.nsenter_prefix(self.name), "containerd", "--config", config_path],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._wait_ready(timeout)
        archive = busybox_image.write_oci_archive(
            os.path.join(self.base, "images/pause.tar"), SANDBOX_IMAGE, entrypoint=busybox_image.PAUSE_COMMAND
        )
        self.import_archive(archive.path)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise HarnessError(f"containerd exited with {self._proc.returncode}: {self.log_tail()}")
            if os.path.exists(self.socket):
                r = self.ctr("plugins", "ls", check=False)
                if r.returncode == 0:
                    for line in r.stdout.splitlines():
                        fields = line.split()
                        if len(fields) >= 4 and fields[0] == "io.containerd.grpc.v1" and fields[1] == "cri":
                            if fields[-1] == "ok":
                                return
                            raise HarnessError(f"containerd's CRI plugin did not load: {self.log_tail()}")
            time.sleep(0.1)
        raise HarnessError(f"containerd not ready after {timeout}s: {self.log_tail()}")

    def ctr(self, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run `ctr` against this daemon in the k8s.io namespace (the one CRI uses)."""
        r = subprocess.run(
            ["ctr", "-a", self.socket, "-n", "k8s.io", *args], capture_output=True, text=True, timeout=timeout
        )
        if check and r.returncode != 0:
            raise HarnessError(f"ctr {' '.join(args)}: {r.stderr.strip()}")
        return r

    def import_archive(self, path: str) -> None:
        """Import an OCI/docker image archive so CRI can run it (unpacked for overlayfs)."""
        self.ctr("images", "import", "--snapshotter", "overlayfs", path)

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return " | ".join(f.read().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Remove every trace of this daemon; safe to call more than once and after failures."""
        helpers = self._pids()
        if self._proc is not None and self._proc.poll() is None:
            teardown.remove_pods_via_cri(self.endpoint)
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._proc = None
        shim_sockets = self._shim_sockets()
        teardown.kill_all(self._pids)
        teardown.reap(helpers)
        for path in shim_sockets:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        teardown.reap_zombie_children({"containerd-shim", "runc"})
        teardown.unmount_under(self.base)
        teardown.remove_cgroups(self.name)
        if self._netns_made:
            netns.delete(self.name)
            self._netns_made = False
        if os.path.isdir(LIBCNI_CACHE):
            for entry in os.listdir(LIBCNI_CACHE):
                if entry.startswith(self.name + "-"):
                    os.unlink(os.path.join(LIBCNI_CACHE, entry))
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> ContainerdHarness:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- teardown helpers ----------------------------------------------------------------------

    def _pids(self) -> set[int]:
        pids = teardown.cgroup_pids(self.name)
        pids.update(self.shim_pids())
        pids.update(teardown.pids_mentioning(self.base + "/"))
        return pids

    def shim_pids(self) -> list[int]:
        """The runc v2 shims serving this daemon (for memory measurements and cleanup)."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and self.socket.encode() in argv:
                out.append(int(entry))
        return sorted(out)

    def _shim_sockets(self) -> list[str]:
        """Sockets of shims still serving tasks here (a killed shim leaves its socket behind).

        containerd 1.6 puts them in /run/containerd/s/ whatever the state dir, named by the
        sha256 of "<daemon address>/<namespace>/<task id>"; task bundles name the ids.
        """
        bundles = os.path.join(self.base, "state", "io.containerd.runtime.v2.task", "k8s.io")
        try:
            ids = os.listdir(bundles)
        except FileNotFoundError:
            return []
        return [
            os.path.join(
                SHIM_SOCKET_DIR, hashlib.sha256(os.path.join(self.socket, "k8s.io", i).encode()).hexdigest()
            )
            for i in ids
        ]

    def daemon_pid(self) -> int | None:
        """containerd's own pid (nsenter execs it, so the child's pid is the daemon's)."""
        return self._proc.pid if self._proc is not None else None


@contextmanager
def running_containerd(base_dir: str | None = None) -> Iterator[ContainerdHarness]:
    """A started harness that is torn down completely when the block ends."""
    harness = ContainerdHarness(base_dir)
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()
