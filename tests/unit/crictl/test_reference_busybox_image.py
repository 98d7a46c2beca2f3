"""The offline busybox image the reference harnesses use: a layout containerd imports and runs."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.references import busybox_image  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tarfile.TarFile:
    path = tmp_path_factory.mktemp("img") / "pause.tar"
    busybox_image.write_oci_archive(str(path), "kyb.local/pause:3.9", entrypoint=busybox_image.PAUSE_COMMAND)
    return tarfile.open(path)


def _blob(archive: tarfile.TarFile, digest: str) -> bytes:
    member = archive.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
    assert member is not None
    return member.read()


def test_index_names_the_image_for_ctr_import(archive: tarfile.TarFile) -> None:
    index = json.loads(_blob_named(archive, "index.json"))
    annotations = index["manifests"][0]["annotations"]
    assert annotations["io.containerd.image.name"] == "kyb.local/pause:3.9"
    assert annotations["org.opencontainers.image.ref.name"] == "3.9"


def test_config_waits_forever_and_matches_the_layer(archive: tarfile.TarFile) -> None:
    index = json.loads(_blob_named(archive, "index.json"))
    manifest = json.loads(_blob(archive, index["manifests"][0]["digest"]))
    config = json.loads(_blob(archive, manifest["config"]["digest"]))
    layer = gzip.decompress(_blob(archive, manifest["layers"][0]["digest"]))
    assert config["config"]["Entrypoint"] == ["/usr/bin/tail", "-f", "/dev/null"]
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]


def test_applet_hard_links_carry_the_binarys_mode(archive: tarfile.TarFile) -> None:
    """containerd chmods a hard link to its header's mode, which is the shared inode's mode."""
    index = json.loads(_blob_named(archive, "index.json"))
    manifest = json.loads(_blob(archive, index["manifests"][0]["digest"]))
    layer = tarfile.open(fileobj=io.BytesIO(gzip.decompress(_blob(archive, manifest["layers"][0]["digest"]))))
    links = [m for m in layer.getmembers() if m.islnk()]
    assert links and all(m.linkname == "bin/busybox" and m.mode == 0o755 for m in links)
    assert {"bin/sh", "bin/sleep", "bin/true", "usr/bin/tail"} <= {m.name for m in links}


def _blob_named(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.extractfile(name)
    assert member is not None
    return member.read()
