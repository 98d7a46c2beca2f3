"""The runtime-spec bundle runc and crun run in the container start benchmark."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.references.oci_runtime import make_bundle  # noqa: E402


def test_bundle_runs_true_isolated_in_its_own_cgroup(tmp_path: Path) -> None:
    bundle = make_bundle(str(tmp_path / "b"), str(tmp_path / "rootfs"), "/kybt-bench/c1", ["true"])
    config = json.loads((Path(bundle) / "config.json").read_text())
    assert config["process"]["args"] == ["true"] and config["process"]["terminal"] is False
    assert config["root"] == {"path": str(tmp_path / "rootfs"), "readonly": True}
    assert config["linux"]["cgroupsPath"] == "/kybt-bench/c1"
    assert {n["type"] for n in config["linux"]["namespaces"]} == {"pid", "network", "ipc", "uts", "mount"}
    assert config["process"]["noNewPrivileges"] is True
    assert "/proc/kcore" in config["linux"]["maskedPaths"]
