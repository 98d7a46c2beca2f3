"""Layer unpacking: the final tree, and refusal of every entry that could escape the target."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from runtime.images.errors import UnsafeLayerEntry
from runtime.images.oci_layout import LayerTar
from runtime.images.unpack import WhiteoutMode, split_entry_name, unpack_tar


def unpack(layer: LayerTar, target: Path, mode: WhiteoutMode = WhiteoutMode.APPLY) -> None:
    target.mkdir(exist_ok=True)
    unpack_tar(io.BytesIO(layer.getvalue()), target, mode)


def raw(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, linkname, size, 0o644
    return info


def snapshot(path: Path) -> dict[str, tuple[int, bytes | str | None]]:
    out: dict[str, tuple[int, bytes | str | None]] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            body: bytes | str | None = None
            if p.is_symlink():
                body = os.readlink(p)
            elif p.is_file():
                body = p.read_bytes()
            out[str(p.relative_to(path))] = (st.st_mode, body)
    return out


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    """A target inside a directory whose other contents must never change."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("original")
    target = outside / "layer"
    target.mkdir()
    return outside, target


def test_entry_names_with_dotdot_or_absolute_paths_are_refused() -> None:
    assert split_entry_name("./usr//bin/./sh") == ("usr", "bin", "sh")
    with pytest.raises(UnsafeLayerEntry, match="'..'"):
        split_entry_name("usr/../../etc/passwd")
    with pytest.raises(UnsafeLayerEntry, match="absolute"):
        split_entry_name("/etc/passwd")


def test_files_dirs_symlinks_and_hardlinks_keep_content_modes_and_times(tmp_path: Path) -> None:
    layer = LayerTar()
    layer.add_dir("bin", 0o750)
    layer.add_file("bin/tool", b"#!/bin/sh\n", 0o4755)
    layer.add_hardlink("bin/alias", "bin/tool")
    layer.add_symlink("bin/abs", "/bin/tool")
    layer.add_file("deep/er/file", b"x", 0o600)
    unpack(layer, tmp_path / "t")
    t = tmp_path / "t"
    assert (t / "bin/tool").read_bytes() == b"#!/bin/sh\n"
    assert (t / "bin/tool").stat().st_mode & 0o7777 == 0o4755
    assert (t / "bin").stat().st_mode & 0o7777 == 0o750
    assert (t / "bin/alias").stat().st_ino == (t / "bin/tool").stat().st_ino
    assert os.readlink(t / "bin/abs") == "/bin/tool"
    assert (t / "deep/er/file").stat().st_mode & 0o777 == 0o600
    assert (t / "bin/tool").stat().st_mtime == 946684800


def test_later_layers_apply_whiteouts_and_opaque_dirs_in_apply_mode(tmp_path: Path) -> None:
    base = LayerTar()
    base.add_dir("etc")
    base.add_file("etc/keep", b"1")
    base.add_file("etc/gone", b"2")
    base.add_dir("data")
    base.add_file("data/old", b"3")
    base.add_dir("data/sub")
    top = LayerTar()
    top.whiteout("etc/gone")
    top.add_dir("data")
    top.opaque("data")
    top.add_file("data/new", b"4")
    target = tmp_path / "t"
    unpack(base, target)
    unpack(top, target)
    assert sorted(p.name for p in (target / "etc").iterdir()) == ["keep"]
    assert sorted(p.name for p in (target / "data").iterdir()) == ["new"]


def test_a_later_entry_replaces_an_earlier_one_of_another_type(tmp_path: Path) -> None:
    layer = LayerTar()
    layer.add_dir("x")
    layer.add_file("x/inner", b"")
    layer.add_file("x", b"now a file")
    unpack(layer, tmp_path / "t")
    assert (tmp_path / "t/x").read_bytes() == b"now a file"


@pytest.mark.parametrize(
    ("entries", "bad_entry", "reason"),
    [
        ([(raw("../victim", size=4), b"evil")], "../victim", "'..'"),
        ([(raw("a/../../victim", size=4), b"evil")], "a/../../victim", "'..'"),
        ([(raw("/victim", size=4), b"evil")], "/victim", "absolute"),
        (
            [(raw("link", tarfile.SYMTYPE, ".."), None), (raw("link/victim", size=4), b"evil")],
            "link/victim",
            "symlink",
        ),
        (
            [(raw("abs", tarfile.SYMTYPE, "/"), None), (raw("abs/tmp/planted", size=4), b"evil")],
            "abs/tmp/planted",
            "symlink",
        ),
        ([(raw("hard", tarfile.LNKTYPE, "../victim"), None)], "hard", "'..'"),
        ([(raw("hard", tarfile.LNKTYPE, "/etc/passwd"), None)], "hard", "absolute"),
        (
            [(raw("up", tarfile.SYMTYPE, ".."), None), (raw("hard", tarfile.LNKTYPE, "up/victim"), None)],
            "hard",
            "symlink",
        ),
        ([(raw("dev/sda", tarfile.BLKTYPE), None)], "dev/sda", "device"),
        ([(raw("dev/mem", tarfile.CHRTYPE), None)], "dev/mem", "device"),
    ],
    ids=[
        "dotdot", "nested-dotdot", "absolute", "symlink-parent-up", "symlink-parent-root",
        "hardlink-dotdot", "hardlink-absolute", "hardlink-through-symlink", "block-device", "char-device",
    ],
)
def test_hostile_entries_are_refused_by_name_and_nothing_outside_changes(
    sandbox: tuple[Path, Path], entries: list, bad_entry: str, reason: str
) -> None:
    outside, target = sandbox
    before = {k: v for k, v in snapshot(outside).items() if not k.startswith("layer")}
    layer = LayerTar()
    for info, data in entries:
        layer.add_raw(info, data)
    with pytest.raises(UnsafeLayerEntry, match=reason) as err:
        unpack(layer, target)
    assert err.value.entry == bad_entry
    assert bad_entry in str(err.value)
    after = {k: v for k, v in snapshot(outside).items() if not k.startswith("layer")}
    assert after == before
    assert not Path("/victim").exists() and not Path("/tmp/planted").exists()


def test_a_symlink_planted_before_unpacking_is_not_followed(sandbox: tuple[Path, Path]) -> None:
    outside, target = sandbox
    (target / "etc").symlink_to(outside)
    layer = LayerTar()
    layer.add_file("etc/victim", b"evil")
    with pytest.raises(UnsafeLayerEntry, match="symlink"):
        unpack(layer, target)
    assert (outside / "victim").read_text() == "original"


def test_a_regular_file_entry_replaces_a_symlink_instead_of_writing_through_it(sandbox: tuple[Path, Path]) -> None:
    outside, target = sandbox
    layer = LayerTar()
    layer.add_symlink("f", "../victim")
    layer.add_file("f", b"evil")
    unpack(layer, target)
    assert (outside / "victim").read_text() == "original"
    assert (target / "f").read_bytes() == b"evil" and not (target / "f").is_symlink()
