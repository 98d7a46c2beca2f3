"""critest "Security Context" / "UserNamespaces" (security_context_linux.go) against `kyb runtime`.

critest first asks Status for a runtime handler (the default one, "") whose features say
``user_namespaces``, and skips the context otherwise; we assert the feature instead, since this
runtime must support it here. Before the POD-mode spec it checks that the filesystem under the
runtime's state directory (``stateDir`` in Status's verbose config, its parent) takes idmapped
mounts, as we do with the same probe (in a process of its own: a process
that uses gRPC cannot fork a child that makes a user namespace). Then: a pod in mode POD with the mapping 0 -> 1000 (length
100000) runs a container (with the pod's namespace options) that prints /proc/self/uid_map and
exits; the log shows the mapping. In mode NODE it shows the host's own map. Two mapping lines, a
mapping without container ID 0, and the modes CONTAINER and TARGET make RunPodSandbox fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cri_validation_runtime import Cri, log_lines, rpc_code, v1

pytestmark = pytest.mark.root

DEFAULT_MAPPING = [v1.IDMapping(container_id=0, host_id=1000, length=100000)]


@pytest.fixture(scope="module")
def status(cri: Cri) -> v1.StatusResponse:
    return cri.rt.Status(v1.StatusRequest(verbose=True), timeout=60)


@pytest.fixture(autouse=True)
def handler_supports_user_namespaces(status: v1.StatusResponse, harness: object) -> None:
    handlers = {h.name: h.features.user_namespaces for h in status.runtime_handlers}
    if getattr(harness, "kind", "kyb") != "kyb" and handlers.get("") is not True:
        pytest.skip(f"the runtime under validation does not advertise user namespaces: {handlers}")  # as critest skips
    assert handlers.get("") is True, f"no runtime handler supports user namespaces: {handlers}"


@pytest.fixture
def log_dir() -> Iterator[Path]:
    host = Path(tempfile.mkdtemp(prefix="kybt-userns-log-"))
    try:
        yield host
    finally:
        shutil.rmtree(host, ignore_errors=True)


def rootfs_path(info: dict[str, str]) -> str:
    """critest's rootfsPath: the parent of the config's stateDir, else /var/lib."""
    try:
        state_dir = json.loads(info["config"]).get("stateDir", "")
    except (KeyError, ValueError):
        return "/var/lib"
    return os.path.dirname(state_dir) if state_dir else "/var/lib"


def run_userns_container(cri: Cri, pod_id: str, pod_config: v1.PodSandboxConfig) -> str:
    """critest's runUserNamespaceContainer: cat /proc/self/uid_map with the pod's namespace options."""
    config = cri.container_config("user-namespaces-container-", ["cat", "/proc/self/uid_map"])
    config.log_path = config.metadata.name + ".log"
    config.linux.security_context.namespace_options.CopyFrom(pod_config.linux.security_context.namespace_options)
    container_id = cri.run(pod_id, pod_config, config)
    cri.wait_state(container_id, v1.CONTAINER_EXITED)
    return config.log_path


def userns_pod(cri: Cri, options: v1.UserNamespace, log_directory: str = "") -> v1.PodSandboxConfig:
    config = cri.pod_config("user-namespaces-pod-", log_directory=log_directory)
    config.linux.security_context.namespace_options.userns_options.CopyFrom(options)
    return config


def test_runtime_should_support_namespace_mode_pod(cri: Cri, status: v1.StatusResponse, log_dir: Path) -> None:
    path = rootfs_path(dict(status.info))
    probe = subprocess.run([sys.executable, "-m", "runtime.linux.idmap", path], capture_output=True, text=True, timeout=30)
    assert probe.returncode == 0, f"ID mapping is not supported on {path}: {probe.stdout}"
    options = v1.UserNamespace(mode=v1.POD, uids=DEFAULT_MAPPING, gids=DEFAULT_MAPPING)
    pod_config = userns_pod(cri, options, str(log_dir))
    pod_id = cri.run_pod(pod_config)
    try:
        log = run_userns_container(cri, pod_id, pod_config)
        lines = log_lines(log_dir / log)
        assert any(re.fullmatch(r"\s*0\s+1000\s+100000", line) for line in lines), lines
    finally:
        cri.stop_pod(pod_id)
        cri.remove_pod(pod_id)


def test_runtime_should_support_namespace_mode_node(cri: Cri, log_dir: Path) -> None:
    pod_config = userns_pod(cri, v1.UserNamespace(mode=v1.NODE), str(log_dir))
    pod_id = cri.run_pod(pod_config)
    try:
        log = run_userns_container(cri, pod_id, pod_config)
        lines = log_lines(log_dir / log)
        for host_line in Path("/proc/self/uid_map").read_text().splitlines():
            inside, outside, length = host_line.split()
            assert any(re.search(rf"\s*{inside}\s+{outside}\s+{length}", line) for line in lines), lines
    finally:
        cri.stop_pod(pod_id)
        cri.remove_pod(pod_id)


@pytest.mark.parametrize("options", [
    v1.UserNamespace(mode=v1.POD, uids=[v1.IDMapping(container_id=0, host_id=1000, length=100000),
                                         v1.IDMapping(container_id=0, host_id=2000, length=100000)],
                     gids=[v1.IDMapping(container_id=0, host_id=1000, length=100000),
                           v1.IDMapping(container_id=0, host_id=2000, length=100000)]),
    v1.UserNamespace(mode=v1.POD, uids=[v1.IDMapping(container_id=1, host_id=1000, length=100000)],
                     gids=[v1.IDMapping(container_id=1, host_id=1000, length=100000)]),
    v1.UserNamespace(mode=v1.CONTAINER),
    v1.UserNamespace(mode=v1.TARGET),
], ids=["more-than-one-mapping", "container-id-0-not-mapped", "mode-container", "mode-target"])
def test_runtime_should_fail_to_run_the_pod(cri: Cri, options: v1.UserNamespace) -> None:
    before = {p.id for p in cri.list_pods()}
    config = userns_pod(cri, options)
    code = rpc_code(lambda: cri.run_pod(config))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert {p.id for p in cri.list_pods()} == before
