"""The init layer: empty mount targets for /etc files, made once per set of files, used only
over an image whose /etc is a directory."""

from __future__ import annotations

import os
from pathlib import Path
from threading import Thread

import pytest

from runtime.container.init_layer import etc_is_directory, init_layer


def test_the_layer_holds_the_files_empty(tmp_path: Path) -> None:
    layer = Path(init_layer(str(tmp_path), ["/etc/hosts", "/etc/resolv.conf"]))
    assert sorted(p.name for p in (layer / "etc").iterdir()) == ["hosts", "resolv.conf"]
    assert (layer / "etc" / "hosts").read_bytes() == b""
    assert (layer / "etc" / "hosts").stat().st_mode & 0o777 == 0o644


def test_the_same_files_share_one_layer_and_other_sets_get_their_own(tmp_path: Path) -> None:
    one = init_layer(str(tmp_path), ["/etc/hosts", "/etc/hostname"])
    again = init_layer(str(tmp_path), ["/etc/hostname", "/etc/hosts"])
    other = init_layer(str(tmp_path), ["/etc/hosts"])
    assert one == again != other
    assert sorted(os.listdir(Path(one).parent)) == sorted({os.path.basename(one), os.path.basename(other)})


def test_makers_racing_for_one_layer_all_get_it_whole(tmp_path: Path) -> None:
    results: list[str] = []
    threads = [Thread(target=lambda: results.append(init_layer(str(tmp_path), ["/etc/hosts"]))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(set(results)) == 1 and len(results) == 8
    assert os.listdir(Path(results[0]) / "etc") == ["hosts"]
    assert os.listdir(Path(results[0]).parent) == [os.path.basename(results[0])]  # no staging left


def test_only_files_in_etc_are_taken(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only holds files in /etc"):
        init_layer(str(tmp_path), ["/etc/../root/x"])


def layers(tmp_path: Path, *tops: str) -> list[str]:
    made = []
    for index, kind in enumerate(tops):
        layer = tmp_path / f"layer{index}"
        layer.mkdir()
        if kind == "dir":
            (layer / "etc").mkdir()
        elif kind == "symlink":
            (layer / "etc").symlink_to("usr/etc")
        elif kind == "file":
            (layer / "etc").write_text("")
        elif kind == "whiteout":
            (layer / ".wh.etc").write_text("")
        made.append(str(layer))
    return made


@pytest.mark.parametrize(("stack", "fits"), [
    (("dir",), True),
    ((), True),
    (("none",), True),
    (("symlink",), False),
    (("file",), False),
    (("symlink", "dir"), True),
    (("dir", "symlink"), False),
    (("symlink", "none"), False),
    (("symlink", "whiteout"), True),
])
def test_the_topmost_layer_with_an_etc_entry_decides(tmp_path: Path, stack: tuple[str, ...], fits: bool) -> None:
    assert etc_is_directory(layers(tmp_path, *stack)) is fits
