"""Imports racing in separate processes leave one consistent store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from runtime.images.oci_layout import LayerTar, LayoutWriter
from runtime.images.platform import host_platform
from runtime.images.reference import parse_reference
from runtime.images.store import ImageStore

IMPORTER = """
import sys, time
from pathlib import Path
from runtime.images.store import ImageStore
go = Path(sys.argv[1])
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
store = ImageStore(Path(sys.argv[2]))
for archive in sys.argv[3:]:
    store.import_archive(Path(archive))
"""


def multi_layer_archive(tmp_path: Path) -> Path:
    layers = []
    for i in range(4):
        layer = LayerTar()
        for j in range(50):
            layer.add_file(f"l{i}/f{j}", os.urandom(2048))
        layers.append(layer.getvalue())
    writer = LayoutWriter()
    desc = writer.add_image(layers, {"Cmd": ["sh"]}, architecture=host_platform().architecture)
    writer.tag(desc, parse_reference("race/app:1"))
    path = tmp_path / "app.tar"
    writer.write(str(path))
    return path


def test_two_processes_importing_at_once_leave_a_consistent_store(tmp_path: Path, busybox_archive: Path) -> None:
    app = multi_layer_archive(tmp_path)
    root = tmp_path / "images"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", IMPORTER, str(go), str(root), *archives],
            stderr=subprocess.PIPE, text=True,
        )
        for archives in ([str(busybox_archive), str(app)], [str(app), str(busybox_archive)])
    ]
    time.sleep(0.5)
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = ImageStore(root)
    images = store.list_images()
    assert sorted(t for i in images for t in i.repo_tags) == [
        "docker.io/library/busybox:latest", "docker.io/race/app:1"
    ]
    refs = json.loads((root / "refs.json").read_text())
    assert len(refs["images"]) == 2 and len(refs["refs"]) == 4
    for image in images:
        for d in image.layer_dirs:
            assert (d.parent / "meta.json").is_file()
    assert sorted(p.name for p in store.layer_root.iterdir()) == sorted(
        d.removeprefix("sha256:") for i in images for d in i.diff_ids
    )
    assert list(store.content.ingest_dir.iterdir()) == []
    assert not list(root.glob(".refs.*"))
    for digest in store.content.digests():
        assert store.content.write_bytes(store.content.read_bytes(digest)) == digest
