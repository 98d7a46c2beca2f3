"""The private containerd's config names only the harness's own paths (never the system's)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.references.containerd import CNI_BIN_DIR, _cni_conflist, _config  # noqa: E402


def _paths(value: object) -> list[str]:
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in _paths(v)]
    return [value] if isinstance(value, str) and value.startswith("/") else []


def test_every_path_in_the_config_is_under_the_harness_dir() -> None:
    config = tomllib.loads(_config("/tmp/kybt-ctd-x", "kybt-ctd-x"))
    paths = _paths(config)
    assert paths and all(p.startswith("/tmp/kybt-ctd-x/") or p == CNI_BIN_DIR for p in paths), paths
    assert config["grpc"]["address"] == "/tmp/kybt-ctd-x/containerd.sock"
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["netns_mounts_under_state_dir"] is True and cri["restrict_oom_score_adj"] is True
    assert cri["containerd"]["runtimes"]["runc"]["options"]["Root"] == "/tmp/kybt-ctd-x/runc"


def test_cni_network_keeps_its_ipam_store_private() -> None:
    conflist = _cni_conflist("kybt-ctd-x", "/tmp/kybt-ctd-x", "10.88.0.0/16", port_mappings=False)
    plugins = conflist["plugins"]
    assert isinstance(plugins, list)
    bridge = plugins[0]
    assert conflist["name"] == "kybt-ctd-x"
    assert bridge["type"] == "bridge" and bridge["ipMasq"] is False
    assert bridge["ipam"]["dataDir"] == "/tmp/kybt-ctd-x/cni/ipam"
    assert [p["type"] for p in plugins] == ["bridge"]


def test_host_ports_and_the_pod_subnet_are_chosen_by_the_caller() -> None:
    conflist = _cni_conflist("kybt-ctd-x", "/tmp/kybt-ctd-x", "10.91.0.0/24", port_mappings=True)
    plugins = conflist["plugins"]
    assert isinstance(plugins, list)
    assert plugins[0]["ipam"]["ranges"] == [[{"subnet": "10.91.0.0/24"}]]
    assert plugins[1] == {"type": "portmap", "capabilities": {"portMappings": True}}


def test_registry_mirrors_become_cri_mirror_endpoints() -> None:
    config = tomllib.loads(_config("/tmp/kybt-ctd-x", "kybt-ctd-x", {"registry.test": "http://127.0.0.1:5000"}))
    mirrors = config["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["mirrors"]
    assert mirrors == {"registry.test": {"endpoint": ["http://127.0.0.1:5000"]}}
