"""`kyb apiserver` refuses bad flags with one line, before opening anything."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kyb", "apiserver", *args], capture_output=True, text=True,
                          timeout=60)


def test_a_bad_service_cidr_is_one_line_and_exit_1(tmp_path) -> None:
    r = run("--data-dir", str(tmp_path), "--service-cidr", "10.96.0.0/99")
    assert r.returncode == 1
    assert r.stderr.startswith("kyb apiserver: --service-cidr") and len(r.stderr.strip().splitlines()) == 1


def test_a_node_mask_wider_than_the_cluster_cidr_is_refused(tmp_path) -> None:
    r = run("--data-dir", str(tmp_path), "--cluster-cidr", "10.244.0.0/16", "--node-cidr-mask", "8")
    assert r.returncode == 1 and "--node-cidr-mask" in r.stderr


def test_an_unknown_datastore_is_refused(tmp_path) -> None:
    r = run("--data-dir", str(tmp_path), "--datastore", "mysql://x")
    assert r.returncode == 1 and "unknown datastore" in r.stderr


def test_data_dir_is_required() -> None:
    assert run().returncode == 2
