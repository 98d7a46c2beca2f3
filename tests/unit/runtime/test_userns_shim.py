"""The shim's side of pod user namespaces, without root: ID maps as the kernel reads them, the
holder's user namespace handshake, and which paths of a spec get idmapped (syscalls faked)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from runtime.linux import idmap
from runtime.shim import rootfs, userns

POD: dict[str, Any] = {"uids": [{"container_id": 0, "host_id": 100000, "length": 65536}],
       "gids": [{"container_id": 0, "host_id": 200000, "length": 65536}], "path": "/proc/42/ns/user"}


def test_map_lines_are_inside_outside_length() -> None:
    assert idmap.map_lines(POD["uids"] + [{"container_id": 65536, "host_id": 1, "length": 2}]) == \
        "0 100000 65536\n65536 1 2\n"


def test_host_id_translates_an_id_inside_or_says_unmapped() -> None:
    maps = [{"container_id": 0, "host_id": 100000, "length": 10}, {"container_id": 20, "host_id": 5, "length": 1}]
    assert idmap.host_id(maps, 0) == 100000
    assert idmap.host_id(maps, 9) == 100009
    assert idmap.host_id(maps, 20) == 5
    assert idmap.host_id(maps, 10) is None


def test_id_maps_are_written_uid_then_gid_each_in_one_write(tmp_path: Path) -> None:
    (tmp_path / "7").mkdir()
    for name in ("uid_map", "gid_map"):
        (tmp_path / "7" / name).write_text("")
    idmap.write_id_maps(7, POD["uids"], POD["gids"], proc=str(tmp_path))
    assert (tmp_path / "7" / "uid_map").read_text() == "0 100000 65536\n"
    assert (tmp_path / "7" / "gid_map").read_text() == "0 200000 65536\n"


def test_a_map_that_cannot_be_written_names_the_file_and_the_map(tmp_path: Path) -> None:
    with pytest.raises(idmap.IdmapError, match=r"write '0 100000 65536' to .*/8/uid_map"):
        idmap.write_id_maps(8, POD["uids"], POD["gids"], proc=str(tmp_path))


class FakeKernel:
    def __init__(self) -> None:
        self.unshared: list[int] = []

    def unshare(self, flags: int) -> None:
        self.unshared.append(flags)


def test_the_holder_helper_unshares_first_and_runs_once_its_maps_are_written(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    written: list[tuple[int, list, list]] = []
    monkeypatch.setattr(idmap, "write_id_maps", lambda pid, uids, gids: written.append((pid, uids, gids)))
    monkeypatch.setattr(userns, "become_root", lambda: None)
    marker = tmp_path / "order"

    def body() -> int:  # runs in the child: record that it ran after the parent's write
        marker.write_text("ran")
        return 4242

    assert userns.spawn_in_user_namespace(FakeKernel(), POD, body) == 4242  # type: ignore[arg-type]
    assert marker.read_text() == "ran"
    assert len(written) == 1 and written[0][1:] == (POD["uids"], POD["gids"])


def test_a_failure_in_the_new_namespace_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idmap, "write_id_maps", lambda pid, uids, gids: None)
    monkeypatch.setattr(userns, "become_root", lambda: None)

    def body() -> int:
        raise OSError(1, "sethostname refused")

    with pytest.raises(userns.UserNamespaceError, match="sethostname refused"):
        userns.spawn_in_user_namespace(FakeKernel(), POD, body)  # type: ignore[arg-type]


def test_maps_that_cannot_be_written_stop_the_child_before_it_runs(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    def refuse(pid: int, uids: list, gids: list) -> None:
        raise idmap.IdmapError(1, "write uid_map")

    monkeypatch.setattr(idmap, "write_id_maps", refuse)
    marker = tmp_path / "ran"
    with pytest.raises(userns.UserNamespaceError, match="cannot map the pod's user namespace"):
        userns.spawn_in_user_namespace(FakeKernel(), POD, lambda: marker.write_text("x") or 1)  # type: ignore[arg-type]
    assert not marker.exists()


def spec(**extra: object) -> dict:
    return {"rootfs": {"lower": ["/layers/top", "/layers/base"], "upper": "/c/upper", "work": "/c/work",
                       "target": "/c/rootfs"},
            "mounts": [], **extra}


def test_a_spec_without_user_namespace_or_idmapped_volumes_is_left_alone() -> None:
    plain = spec(mounts=[{"source": "/h", "destination": "/v"}])
    with ExitStack() as held:
        assert userns.idmapped_spec(plain, None, held) is plain


@pytest.fixture
def fake_idmapping(monkeypatch: pytest.MonkeyPatch) -> dict:
    seen: dict = {"trees": [], "chown": [], "temporary": []}
    fds = iter(range(100, 200))

    def tree(path: str, userns_fd: int) -> int:
        seen["trees"].append((path, userns_fd))
        return next(fds)

    @contextmanager
    def temporary(uids: list, gids: list) -> Iterator[int]:
        seen["temporary"].append((uids, gids))
        yield 77

    monkeypatch.setattr(idmap, "idmapped_tree", tree)
    monkeypatch.setattr(idmap, "temporary_user_namespace", temporary)
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: seen["chown"].append((path, uid, gid)))
    monkeypatch.setattr(os, "close", lambda fd: None)
    return seen


def test_the_layers_become_idmapped_clones_and_the_upper_dir_belongs_to_the_pods_root(fake_idmapping: dict) -> None:
    with ExitStack() as held:
        prepared = userns.idmapped_spec(spec(userns=POD), 9, held)
    assert prepared["rootfs"]["lower"] == ["/proc/self/fd/100", "/proc/self/fd/101"]
    assert fake_idmapping["trees"] == [("/layers/top", 9), ("/layers/base", 9)]
    assert fake_idmapping["chown"] == [("/c/upper", 100000, 200000)]


def test_volumes_are_idmapped_with_the_pod_namespace_or_one_made_for_their_own_mapping(fake_idmapping: dict) -> None:
    other = {"uids": [{"container_id": 0, "host_id": 5000, "length": 10}], "gids": POD["gids"]}
    mounts: list[dict[str, Any]] = [
        {"source": "/plain", "destination": "/a"},
        {"source": "/same", "destination": "/b", "idmap": {"uids": POD["uids"], "gids": POD["gids"]}},
        {"source": "/other", "destination": "/c", "idmap": other},
        {"image": "img", "lower": ["/img/l1"], "destination": "/d"},
    ]
    with ExitStack() as held:
        prepared = userns.idmapped_spec(spec(userns=POD, mounts=mounts), 9, held)
    plain, same, own, image = prepared["mounts"]
    assert "idmap_userns_fd" not in plain
    assert same["idmap_userns_fd"] == 9
    assert own["idmap_userns_fd"] == 77 and fake_idmapping["temporary"] == [(other["uids"], other["gids"])]
    assert image["lower"] == ["/proc/self/fd/102"]
    assert mounts[3]["lower"] == ["/img/l1"]  # the caller's spec is not changed


def test_without_a_pod_namespace_only_volumes_with_mappings_are_idmapped(fake_idmapping: dict) -> None:
    mounts = [{"source": "/h", "destination": "/v", "idmap": {"uids": POD["uids"], "gids": POD["gids"]}},
              {"image": "img", "lower": ["/img/l1"], "destination": "/d"}]
    with ExitStack() as held:
        prepared = userns.idmapped_spec(spec(mounts=mounts), None, held)
    assert prepared["rootfs"]["lower"] == ["/layers/top", "/layers/base"]
    assert prepared["mounts"][0]["idmap_userns_fd"] == 77
    assert prepared["mounts"][1]["lower"] == ["/img/l1"]
    assert fake_idmapping["chown"] == []


def test_dev_belongs_to_the_pods_root_and_terminals_to_its_tty_group() -> None:
    assert rootfs.dev_owner_options({}) == ("", ",gid=5")
    assert rootfs.dev_owner_options({"userns": POD}) == (",uid=100000,gid=200000", ",gid=200005")
    tiny = {"uids": [{"container_id": 0, "host_id": 100000, "length": 1}],
            "gids": [{"container_id": 0, "host_id": 100000, "length": 1}]}
    assert rootfs.dev_owner_options({"userns": tiny}) == (",uid=100000,gid=100000", "")


class FakeStat:
    def __init__(self, dev: int, uid: int, gid: int) -> None:
        self.st_dev, self.st_uid, self.st_gid = dev, uid, gid


def test_only_directories_the_setup_made_on_the_root_filesystem_go_to_the_pods_root(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = {"/": FakeStat(1, 100000, 200000), "/srv": FakeStat(1, 100000, 200000),  # from the image (idmapped)
            "/srv/made": FakeStat(1, 0, 0),  # made by host root during the setup
            "/srv/made/vol": FakeStat(2, 0, 0),  # a volume: another filesystem
            "/srv/made/vol/deeper": FakeStat(2, 0, 0)}
    chowned: list[tuple[str, int, int]] = []
    monkeypatch.setattr(os, "stat", lambda path: tree[path])
    monkeypatch.setattr(os, "lstat", lambda path: tree[path])
    monkeypatch.setattr(os, "lchown", lambda path, uid, gid: chowned.append((path, uid, gid)))
    userns.give_made_dirs_to_pod_root("/srv/made/vol/deeper", POD)
    assert chowned == [("/srv/made", 100000, 200000)]


def test_a_read_only_root_keeps_the_made_directories_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: str, uid: int, gid: int) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "stat", lambda path: FakeStat(1, 0, 0))
    monkeypatch.setattr(os, "lstat", lambda path: FakeStat(1, 0, 0))
    monkeypatch.setattr(os, "lchown", refuse)
    userns.give_made_dirs_to_pod_root("/work", POD)
