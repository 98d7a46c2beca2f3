"""The offline busybox archive is a real OCI archive: Debian's containerd and skopeo read it
and see the same image (same manifest digest, same image id) our store does."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.images.store import ImageStore

pytestmark = pytest.mark.root


@pytest.fixture
def containerd() -> Iterator[Path]:
    """A private containerd (own root, state and socket), killed and removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="kybt-ctrd-", dir="/tmp"))
    sock = base / "c.sock"
    (base / "config.toml").write_text(
        f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n'
        f'[grpc]\n  address = "{sock}"\n'
        '[plugins."io.containerd.grpc.v1.cri"]\n  disable_tcp_service = true\n'
    )
    with open(base / "log", "wb") as log:
        proc = subprocess.Popen(
            ["containerd", "--config", str(base / "config.toml")], stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert proc.poll() is None, (base / "log").read_text()[-2000:]
            assert time.monotonic() < deadline, "containerd did not start"
            time.sleep(0.05)
        yield sock
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        for line in Path("/proc/mounts").read_text().splitlines():
            mountpoint = line.split()[1]
            if mountpoint.startswith(str(base)):
                subprocess.run(["umount", "-l", mountpoint], check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_containerd_imports_the_busybox_archive_as_the_same_image(
    containerd: Path, busybox_archive: Path, tmp_path: Path
) -> None:
    ctr = ["ctr", "--address", str(containerd), "--namespace", "k8s.io"]
    subprocess.run([*ctr, "images", "import", str(busybox_archive)], check=True, capture_output=True, timeout=60)
    listing = subprocess.run([*ctr, "images", "ls"], check=True, capture_output=True, text=True, timeout=30).stdout
    ours = ImageStore(tmp_path / "images").import_archive(busybox_archive)
    row = next(line.split() for line in listing.splitlines() if line.startswith("docker.io/library/busybox:latest"))
    assert row[2] == ours.manifest_digest
    assert any(line.startswith(ours.id) for line in listing.splitlines())


def test_skopeo_reads_the_archive_as_oci_and_as_docker_archive(busybox_archive: Path, tmp_path: Path) -> None:
    ours = ImageStore(tmp_path / "images").import_archive(busybox_archive)
    oci = json.loads(subprocess.run(
        ["skopeo", "inspect", f"oci-archive:{busybox_archive}"], check=True, capture_output=True, text=True, timeout=60
    ).stdout)
    assert oci["Digest"] == ours.manifest_digest and oci["Architecture"] == ours.image_config["architecture"]
    config = json.loads(subprocess.run(
        ["skopeo", "inspect", "--config", f"docker-archive:{busybox_archive}"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout)
    assert config["config"]["Cmd"] == ["sh"]
    assert config["rootfs"]["diff_ids"] == ours.diff_ids
