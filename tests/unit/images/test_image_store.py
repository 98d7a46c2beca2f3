"""The image store: import, name resolution, removal and garbage collection."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from runtime.images.errors import DigestMismatch, ImageNotFound, InvalidImage, InvalidReference
from runtime.images.oci_layout import LayerTar, LayoutWriter
from runtime.images.reference import parse_reference
from runtime.images.store import ImageStore, user_of


def tar_bytes(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buf.getvalue()


def read_members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isreg()}  # type: ignore[union-attr]


def small_image(tmp_path: Path, name: str = "example.com/app:v1", user: str = "") -> Path:
    layer = LayerTar()
    layer.add_file("hello", name.encode())
    writer = LayoutWriter()
    config = {"Cmd": ["/hello"], "User": user} if user else {"Cmd": ["/hello"]}
    desc = writer.add_image([layer.getvalue()], config, architecture="amd64")
    writer.tag(desc, parse_reference(name))
    path = tmp_path / f"{name.replace('/', '_').replace(':', '_')}.tar"
    writer.write(str(path))
    return path


def test_an_image_resolves_by_name_short_name_digest_id_and_id_prefix(image_root: Path) -> None:
    store = ImageStore(image_root)
    image = store.resolve("docker.io/library/busybox:latest")
    for ref in ("busybox", "busybox:latest", image.repo_digests[0], image.id, image.id[7:19], image.id[:19]):
        assert store.resolve(ref).id == image.id, ref
    assert image.repo_digests == [f"docker.io/library/busybox@{image.manifest_digest}"]


def test_a_missing_image_is_reported_with_what_was_asked(image_root: Path) -> None:
    with pytest.raises(ImageNotFound, match="'nginx:1.25' not found"):
        ImageStore(image_root).resolve("nginx:1.25")
    with pytest.raises(InvalidReference):
        ImageStore(image_root).resolve("Not A Name")


def test_a_docker_save_archive_imports_as_the_same_image(tmp_path: Path, busybox_archive: Path) -> None:
    members = read_members(busybox_archive)
    manifest = json.loads(members["manifest.json"])[0]
    config_blob = members[manifest["Config"]]
    layer_tar = gzip.decompress(members[manifest["Layers"][0]])
    docker_save = tmp_path / "saved.tar"
    docker_save.write_bytes(
        tar_bytes(
            {
                "cfg.json": config_blob,
                "abc/layer.tar": layer_tar,
                "manifest.json": json.dumps(
                    [{"Config": "cfg.json", "RepoTags": ["mybox:1"], "Layers": ["dup/layer.tar"]}]
                ).encode(),
            },
            symlinks={"dup/layer.tar": "../abc/layer.tar"},
        )
    )
    store = ImageStore(tmp_path / "images")
    saved = store.import_archive(docker_save)
    oci = store.import_archive(busybox_archive)
    assert saved.id == oci.id
    assert saved.layer_dirs == oci.layer_dirs
    assert store.resolve("mybox:1").id == oci.id
    assert sorted(store.resolve(oci.id).repo_tags) == ["docker.io/library/busybox:latest", "docker.io/library/mybox:1"]


def test_the_user_of_the_image_config_gives_uid_or_username(tmp_path: Path) -> None:
    assert user_of({"User": "1000:1000"}) == (1000, "")
    assert user_of({"User": "nobody"}) == (None, "nobody")
    assert user_of({}) == (None, "")
    store = ImageStore(tmp_path / "images")
    image = store.import_archive(small_image(tmp_path, user="65534"))
    assert image.uid == 65534 and image.config["User"] == "65534"


def test_removing_an_image_drops_its_names_blobs_and_layers_but_not_shared_ones(image_root: Path, tmp_path: Path) -> None:
    store = ImageStore(image_root)
    busybox = store.resolve("busybox")
    app = store.import_archive(small_image(tmp_path))
    assert len(store.list_images()) == 2
    store.remove("example.com/app:v1")
    assert [i.id for i in store.list_images()] == [busybox.id]
    assert not app.layer_dirs[0].exists()
    assert busybox.layer_dirs[0].is_dir()
    assert not store.content.has(app.manifest_digest)
    assert store.content.has(busybox.manifest_digest)
    with pytest.raises(ImageNotFound):
        store.remove("example.com/app:v1")


def test_a_name_resolves_to_what_another_store_on_the_same_root_made_of_it(tmp_path: Path) -> None:
    # The daemon's store and `kyb image import --root` are separate processes sharing the root.
    daemon, importer = ImageStore(tmp_path / "images"), ImageStore(tmp_path / "images")
    first = importer.import_archive(small_image(tmp_path, user="1"))
    assert daemon.resolve("example.com/app:v1").id == first.id
    importer.remove("example.com/app:v1")
    with pytest.raises(ImageNotFound):
        daemon.resolve("example.com/app:v1")
    second = importer.import_archive(small_image(tmp_path, user="2"))
    assert second.id != first.id
    assert daemon.resolve("example.com/app:v1").id == second.id


def test_a_blob_that_does_not_match_its_name_fails_the_import_and_adds_no_image(tmp_path: Path) -> None:
    good = small_image(tmp_path)
    members = read_members(good)
    layer_name = next(n for n in members if n.startswith("blobs/") and members[n][:2] == b"\x1f\x8b")
    members[layer_name] = gzip.compress(b"tampered")
    bad = tmp_path / "bad.tar"
    bad.write_bytes(tar_bytes(members))
    store = ImageStore(tmp_path / "images")
    with pytest.raises(DigestMismatch, match=layer_name.split("/")[-1]):
        store.import_archive(bad)
    assert store.list_images() == []
    store.gc()
    assert list(store.content.digests()) == []
    assert [p.name for p in store.layer_root.iterdir()] == []


def test_an_archive_that_is_not_an_image_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(tar_bytes({"hello.txt": b"hi"}))
    with pytest.raises(InvalidImage, match="neither an OCI image layout nor a docker save"):
        ImageStore(tmp_path / "images").import_archive(junk)
    (tmp_path / "text").write_text("not a tar")
    with pytest.raises(InvalidImage, match="not a tar"):
        ImageStore(tmp_path / "images").import_archive(tmp_path / "text")


def test_building_busybox_twice_gives_the_same_bytes(tmp_path: Path, busybox_archive: Path) -> None:
    from runtime.images.busybox import build_busybox_archive

    again = tmp_path / "again.tar"
    build_busybox_archive(again)
    assert again.read_bytes() == busybox_archive.read_bytes()


def test_an_oci_layout_directory_imports_like_its_tar(tmp_path: Path, busybox_archive: Path) -> None:
    layout = tmp_path / "layout"
    with tarfile.open(busybox_archive) as tar:
        tar.extractall(layout, filter="data")
    store = ImageStore(tmp_path / "images")
    assert store.import_archive(layout).id == store.import_archive(busybox_archive).id


def hand_built(tmp_path: Path, layer_blob: bytes, diff_id: str, media_type: str = "") -> Path:
    from runtime.images import mediatypes as mt
    from runtime.images.oci_layout import canonical_json

    writer = LayoutWriter()
    layer = writer.add_blob(layer_blob, media_type or mt.OCI_LAYER_GZIP)
    config = writer.add_blob(
        canonical_json({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}}),
        mt.OCI_CONFIG,
    )
    manifest = writer.add_blob(
        canonical_json({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": config.to_json(), "layers": [layer.to_json()]}),
        mt.OCI_MANIFEST,
    )
    writer.tag(manifest, parse_reference("hand/built:1"))
    path = tmp_path / "hand.tar"
    writer.write(str(path))
    return path


def test_a_layer_that_unpacks_to_another_diff_id_is_refused(tmp_path: Path) -> None:
    layer = LayerTar()
    layer.add_file("a", b"a")
    archive = hand_built(tmp_path, gzip.compress(layer.getvalue()), "sha256:" + "0" * 64)
    store = ImageStore(tmp_path / "images")
    with pytest.raises(DigestMismatch, match="but the image config says sha256:0000"):
        store.import_archive(archive)
    assert store.list_images() == [] and list(store.layer_root.iterdir()) == []


def test_a_layer_that_is_not_valid_gzip_is_refused(tmp_path: Path) -> None:
    archive = hand_built(tmp_path, b"\x1f\x8b\x08\x00" + b"garbage" * 100, "sha256:" + "0" * 64)
    store = ImageStore(tmp_path / "images")
    with pytest.raises(InvalidImage, match="cannot be decompressed|not a tar|corrupt"):
        store.import_archive(archive)
    assert store.list_images() == [] and list(store.layer_root.iterdir()) == []


def test_garbage_collection_waits_for_no_one_and_spares_a_store_being_written(image_root: Path) -> None:
    store = ImageStore(image_root)
    orphan = store.content.write_bytes(b"not referenced by any image")
    with store.writing():
        assert store.gc() is False
        assert store.content.has(orphan)
    assert store.gc() is True
    assert not store.content.has(orphan)
    assert store.resolve("busybox").layer_dirs[0].is_dir()


def test_zstd_compressed_layers_unpack(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    from runtime.images import mediatypes as mt
    from runtime.images.content import sha256_digest

    layer = LayerTar()
    layer.add_file("z", b"zstd content")
    tar = layer.getvalue()
    blob = zstandard.ZstdCompressor().compress(tar)
    image = ImageStore(tmp_path / "images").import_archive(
        hand_built(tmp_path, blob, sha256_digest(tar), mt.OCI_LAYER_ZSTD)
    )
    assert (image.layer_dirs[0] / "z").read_bytes() == b"zstd content"
