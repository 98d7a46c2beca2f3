"""Pulling from a real registry on loopback: auth flows, mirrors, indexes, verification."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from image_registry_front import SERVICE, AuthFront

from runtime.images.errors import DigestMismatch, ImageNotFound, RegistryUnauthorized
from runtime.images.local_registry import LocalRegistry, free_port
from runtime.images.oci_layout import LayerTar, LayoutWriter
from runtime.images.platform import Platform, host_platform
from runtime.images.pull import pull_image
from runtime.images.reference import parse_reference
from runtime.images.registry_config import AuthConfig, parse_registry_config
from runtime.images.store import ImageStore


def tree(root: Path) -> dict[str, tuple[int, int, bytes | str | None]]:
    out: dict[str, tuple[int, int, bytes | str | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            body = os.readlink(p) if p.is_symlink() else (hashlib.sha256(p.read_bytes()).digest() if p.is_file() else None)
            out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, body)
    return out


def image_archive(tmp_path: Path, name: str, files: dict[str, bytes], **kwargs: object) -> Path:
    layer = LayerTar()
    for path, data in files.items():
        layer.add_file(path, data)
    writer = LayoutWriter()
    desc = writer.add_image([layer.getvalue()], {"Cmd": ["/x"]}, architecture=host_platform().architecture, **kwargs)  # type: ignore[arg-type]
    writer.tag(desc, parse_reference(name))
    path = tmp_path / f"{secrets_name(name)}.tar"
    writer.write(str(path))
    return path


def secrets_name(name: str) -> str:
    return name.replace("/", "_").replace(":", "_")


def test_pull_and_import_give_the_same_image(tmp_path: Path, registry: LocalRegistry, busybox_archive: Path) -> None:
    registry.push(busybox_archive, "library/busybox:latest")
    pulled = pull_image(ImageStore(tmp_path / "a"), f"{registry.host}/library/busybox:latest")
    imported = ImageStore(tmp_path / "b").import_archive(busybox_archive)
    assert pulled.id == imported.id
    assert pulled.manifest_digest == imported.manifest_digest
    assert pulled.diff_ids == imported.diff_ids
    assert [p.relative_to(tmp_path / "a") for p in pulled.layer_dirs] == [
        p.relative_to(tmp_path / "b") for p in imported.layer_dirs
    ]
    assert tree(pulled.layer_dirs[0]) == tree(imported.layer_dirs[0])
    assert pulled.repo_tags == [f"{registry.host}/library/busybox:latest"]
    assert pulled.repo_digests == [f"{registry.host}/library/busybox@{imported.manifest_digest}"]


def test_docker_io_and_registry_k8s_io_names_are_served_by_a_loopback_mirror(
    tmp_path: Path, registry: LocalRegistry, busybox_archive: Path
) -> None:
    registry.push(busybox_archive, "library/busybox:latest")
    registry.push(busybox_archive, "pause:3.9")
    dead = f"http://127.0.0.1:{free_port()}"
    config = parse_registry_config(
        f'[registries."docker.io"]\nmirrors = ["{dead}", "{registry.url}"]\nskip_upstream = true\n'
        f'[registries."registry.k8s.io"]\nmirrors = ["{registry.url}"]\nskip_upstream = true\n'
    )
    store = ImageStore(tmp_path / "images")
    busybox = pull_image(store, "busybox", config)
    pause = pull_image(store, "registry.k8s.io/pause:3.9", config)
    assert busybox.id == pause.id
    assert store.resolve(busybox.id).repo_tags == ["docker.io/library/busybox:latest", "registry.k8s.io/pause:3.9"]


def test_pull_answers_a_bearer_challenge_with_a_token_from_the_realm(
    tmp_path: Path, registry: LocalRegistry, auth_front: AuthFront, busybox_archive: Path
) -> None:
    registry.push(busybox_archive, "library/busybox:latest")
    ref = f"{auth_front.host}/library/busybox:latest"
    image = pull_image(ImageStore(tmp_path / "images"), ref, auth=AuthConfig(username="alice", password="s3cret"))
    assert image.repo_tags == [ref]
    assert auth_front.token_requests[0] == {"scope": ["repository:library/busybox:pull"], "service": [SERVICE]}
    assert len(auth_front.token_requests) == 1  # the token is reused for every blob


def test_anonymous_bearer_tokens_work_without_credentials(
    tmp_path: Path, registry: LocalRegistry, auth_front: AuthFront, busybox_archive: Path
) -> None:
    auth_front.credentials = None
    registry.push(busybox_archive, "library/busybox:latest")
    image = pull_image(ImageStore(tmp_path / "images"), f"{auth_front.host}/library/busybox:latest")
    assert image.config["Cmd"] == ["sh"]


def test_missing_or_wrong_credentials_fail_with_unauthorized_and_store_nothing(
    tmp_path: Path, registry: LocalRegistry, auth_front: AuthFront, busybox_archive: Path
) -> None:
    registry.push(busybox_archive, "library/busybox:latest")
    store = ImageStore(tmp_path / "images")
    ref = f"{auth_front.host}/library/busybox:latest"
    with pytest.raises(RegistryUnauthorized, match="refused a token"):
        pull_image(store, ref)
    with pytest.raises(RegistryUnauthorized):
        pull_image(store, ref, auth=AuthConfig(username="alice", password="wrong"))
    assert store.list_images() == [] and list(store.content.digests()) == []


def test_basic_auth_from_the_auth_field_answers_a_basic_challenge(
    tmp_path: Path, registry: LocalRegistry, auth_front: AuthFront, busybox_archive: Path
) -> None:
    auth_front.mode = "basic"
    registry.push(busybox_archive, "library/busybox:latest")
    auth = AuthConfig(auth=base64.b64encode(b"alice:s3cret").decode())
    image = pull_image(ImageStore(tmp_path / "images"), f"{auth_front.host}/library/busybox:latest", auth=auth)
    assert image.config["Cmd"] == ["sh"]


def test_a_multi_arch_index_gives_each_platform_its_own_manifest(tmp_path: Path, registry: LocalRegistry) -> None:
    writer = LayoutWriter()
    manifests = []
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        layer = LayerTar()
        layer.add_file("arch", arch.encode())
        manifests.append(writer.add_image([layer.getvalue()], {"Cmd": ["/arch"]}, architecture=arch, variant=variant))
    index = writer.add_index(manifests)
    writer.tag(index, parse_reference("multi:1"))
    archive = tmp_path / "multi.tar"
    writer.write(str(archive))
    registry.push(archive, "multi:1")
    ref = f"{registry.host}/multi:1"
    amd = pull_image(ImageStore(tmp_path / "x86"), ref, platform=Platform("linux", "amd64"))
    arm = pull_image(ImageStore(tmp_path / "arm"), ref, platform=Platform("linux", "arm64"))
    assert (amd.layer_dirs[0] / "arch").read_text() == "amd64"
    assert (arm.layer_dirs[0] / "arch").read_text() == "arm64"
    assert amd.id != arm.id
    assert amd.repo_digests == arm.repo_digests == [f"{registry.host}/multi@{index.digest}"]
    assert amd.manifest_digest == manifests[0].digest and arm.manifest_digest == manifests[1].digest
    assert ImageStore(tmp_path / "x86").resolve(f"{registry.host}/multi@{index.digest}").id == amd.id


@pytest.mark.parametrize(
    ("compress", "docker_media_types"),
    [(False, False), (True, True), (False, True)],
    ids=["oci-uncompressed", "docker-v2-gzip", "docker-v2-uncompressed"],
)
def test_docker_v2_and_oci_manifests_with_gzip_or_plain_layers_pull(
    tmp_path: Path, registry: LocalRegistry, compress: bool, docker_media_types: bool
) -> None:
    archive = image_archive(
        tmp_path, "fmt:1", {"hello": b"world"}, compress=compress, docker_media_types=docker_media_types
    )
    registry.push(archive, "fmt:1")
    image = pull_image(ImageStore(tmp_path / "images"), f"{registry.host}/fmt:1")
    assert (image.layer_dirs[0] / "hello").read_text() == "world"
    assert image.id == ImageStore(tmp_path / "imported").import_archive(archive).id


def test_pull_by_digest_records_only_the_digest_name(tmp_path: Path, registry: LocalRegistry, busybox_archive: Path) -> None:
    registry.push(busybox_archive, "library/busybox:latest")
    digest = ImageStore(tmp_path / "imported").import_archive(busybox_archive).manifest_digest
    image = pull_image(ImageStore(tmp_path / "images"), f"{registry.host}/library/busybox@{digest}")
    assert image.repo_tags == []
    assert image.repo_digests == [f"{registry.host}/library/busybox@{digest}"]


def test_a_corrupted_blob_fails_verification_and_leaves_nothing(
    tmp_path: Path, registry: LocalRegistry, busybox_archive: Path
) -> None:
    registry.push(busybox_archive, "library/busybox:latest")
    blobs = registry.workdir / "storage/docker/registry/v2/blobs/sha256"
    biggest = max(blobs.glob("*/*/data"), key=lambda p: p.stat().st_size)
    data = bytearray(biggest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    biggest.write_bytes(bytes(data))
    store = ImageStore(tmp_path / "images")
    with pytest.raises(DigestMismatch, match=biggest.parent.name):
        pull_image(store, f"{registry.host}/library/busybox:latest")
    assert store.list_images() == []
    assert list(store.content.digests()) == []
    assert list(store.layer_root.iterdir()) == []
    assert list(store.content.ingest_dir.iterdir()) == []


def test_a_name_the_registry_does_not_have_is_not_found(tmp_path: Path, registry: LocalRegistry) -> None:
    with pytest.raises(ImageNotFound, match="not found"):
        pull_image(ImageStore(tmp_path / "images"), f"{registry.host}/nothing/here:1")


def test_a_mirror_gets_its_own_credentials_never_those_of_the_registry_it_mirrors(
    tmp_path: Path, registry: LocalRegistry, auth_front: AuthFront, busybox_archive: Path
) -> None:
    registry.push(busybox_archive, "library/busybox:latest")
    mirror_only = f'[registries."docker.io"]\nmirrors = ["{auth_front.url}"]\nskip_upstream = true\n'
    store = ImageStore(tmp_path / "images")
    with pytest.raises(RegistryUnauthorized):
        pull_image(store, "busybox", parse_registry_config(mirror_only), auth=AuthConfig(username="alice", password="s3cret"))
    assert auth_front.token_authorizations and set(auth_front.token_authorizations) == {None}
    with_mirror_creds = mirror_only + f'[registries."{auth_front.host}"]\nusername = "alice"\npassword = "s3cret"\n'
    image = pull_image(store, "busybox", parse_registry_config(with_mirror_creds))
    assert image.repo_tags == ["docker.io/library/busybox:latest"]
