"""Hostile images are refused by entry name and change nothing, inside or outside the store."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from runtime.images.errors import UnsafeLayerEntry
from runtime.images.oci_layout import LayerTar, LayoutWriter
from runtime.images.platform import host_platform
from runtime.images.reference import parse_reference
from runtime.images.store import ImageStore

pytestmark = pytest.mark.root


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, linkname, size, 0o644
    return info


CASES = {
    "path-traversal": ([(entry("../../../victim", size=4), b"evil")], "../../../victim"),
    "absolute-path": ([(entry("/tmp/kyb-hostile-absolute", size=4), b"evil")], "/tmp/kyb-hostile-absolute"),
    "escaping-symlink": (
        [(entry("esc", tarfile.SYMTYPE, "../../../.."), None), (entry("esc/victim", size=4), b"evil")],
        "esc/victim",
    ),
    "device-node": ([(entry("dev/kmem", tarfile.CHRTYPE), None)], "dev/kmem"),
    "hardlink-escape": ([(entry("passwd", tarfile.LNKTYPE, "../../../../etc/passwd"), None)], "passwd"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_layer_fails_the_import_naming_the_entry_and_changes_nothing(tmp_path: Path, case: str) -> None:
    entries, bad = CASES[case]
    layer = LayerTar()
    layer.add_file("ok", b"fine")
    for info, data in entries:
        layer.add_raw(info, data)
    writer = LayoutWriter()
    desc = writer.add_image([layer.getvalue()], {}, architecture=host_platform().architecture)
    writer.tag(desc, parse_reference(f"hostile/{case}:1"))
    archive = tmp_path / "hostile.tar"
    writer.write(str(archive))
    root = tmp_path / "deep" / "er" / "images"
    store = ImageStore(root)
    (tmp_path / "victim").write_text("original")
    before = sorted(str(p) for p in tmp_path.rglob("*") if not str(p).startswith(str(root)))
    with pytest.raises(UnsafeLayerEntry) as err:
        store.import_archive(archive)
    assert err.value.entry == bad and repr(bad) in str(err.value)
    assert (tmp_path / "victim").read_text() == "original"
    assert not Path("/tmp/kyb-hostile-absolute").exists()
    assert store.list_images() == []
    assert os.listdir(store.layer_root) == []
    after = sorted(str(p) for p in tmp_path.rglob("*") if not str(p).startswith(str(root)))
    assert after == before
