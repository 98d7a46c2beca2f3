"""Layers stored as overlayfs lowerdirs: order and whiteouts give the right final tree (root)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from runtime.images.oci_layout import LayerTar, LayoutWriter
from runtime.images.platform import host_platform
from runtime.images.reference import parse_reference
from runtime.images.store import ImageStore
from runtime.images.unpack import OVERLAY_OPAQUE_XATTR

pytestmark = pytest.mark.root


def three_layer_archive(tmp_path: Path) -> Path:
    base = LayerTar()
    base.add_dir("etc")
    base.add_file("etc/a", b"a-from-base")
    base.add_file("etc/b", b"b-from-base")
    base.add_dir("data")
    base.add_file("data/old", b"old")
    base.add_dir("data/sub")
    base.add_file("data/sub/x", b"x")
    base.add_file("gone", b"deleted later")
    middle = LayerTar()
    middle.whiteout("etc/a")
    middle.add_file("etc/c", b"c-from-middle")
    middle.add_dir("data")
    middle.opaque("data")
    middle.add_file("data/new", b"new")
    middle.whiteout("gone")
    top = LayerTar()
    top.add_file("etc/a", b"a-from-top")
    writer = LayoutWriter()
    desc = writer.add_image(
        [base.getvalue(), middle.getvalue(), top.getvalue()], {"Cmd": ["sh"]},
        architecture=host_platform().architecture,
    )
    writer.tag(desc, parse_reference("layered:1"))
    archive = tmp_path / "layered.tar"
    writer.write(str(archive))
    return archive


def overlay_listing(lowerdirs: list[Path]) -> dict[str, str]:
    """Mount the layers read-only in a private mount namespace and read the merged tree."""
    lower = ":".join(str(p) for p in reversed(lowerdirs))
    script = (
        'set -e; m=$(mktemp -d); mount -t overlay overlay -o "lowerdir=$1" "$m"; cd "$m"; '
        'find . -type f | sort | while read -r f; do printf "%s=%s\\n" "$f" "$(cat "$f")"; done'
    )
    out = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", lower],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


EXPECTED = {
    "./etc/a": "a-from-top",
    "./etc/b": "b-from-base",
    "./etc/c": "c-from-middle",
    "./data/new": "new",
}


def test_whiteouts_become_overlay_whiteouts_and_opaque_dirs_get_the_xattr(tmp_path: Path) -> None:
    image = ImageStore(tmp_path / "images").import_archive(three_layer_archive(tmp_path))
    middle = image.layer_dirs[1]
    for name in ("etc/a", "gone"):
        st = (middle / name).lstat()
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0), name
    assert os.getxattr(middle / "data", OVERLAY_OPAQUE_XATTR) == b"y"
    assert not list(middle.rglob(".wh.*"))


def test_layer_order_and_whiteouts_give_the_right_merged_tree(tmp_path: Path) -> None:
    image = ImageStore(tmp_path / "images").import_archive(three_layer_archive(tmp_path))
    assert overlay_listing(image.layer_dirs) == EXPECTED


def test_images_sharing_a_layer_share_one_unpacked_directory(tmp_path: Path, busybox_archive: Path) -> None:
    store = ImageStore(tmp_path / "images")
    layered = store.import_archive(three_layer_archive(tmp_path))
    busybox = store.import_archive(busybox_archive)
    again = store.import_archive(busybox_archive)
    assert again.layer_dirs == busybox.layer_dirs
    assert sorted(p.name for p in store.layer_root.iterdir()) == sorted(
        d.removeprefix("sha256:") for d in layered.diff_ids + busybox.diff_ids
    )
