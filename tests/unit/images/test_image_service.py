"""The CRI ImageService over a store, called directly with a recording context."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from cri import api_pb2
from runtime.images.service import ImageServiceServicer
from runtime.images.store import ImageStore


class Aborted(Exception):
    pass


class FakeContext:
    def __init__(self) -> None:
        self.code: grpc.StatusCode | None = None
        self.details = ""

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code, self.details = code, details
        raise Aborted(details)


def spec(ref: str) -> api_pb2.ImageSpec:
    return api_pb2.ImageSpec(image=ref)


@pytest.fixture
def service(image_root: Path) -> ImageServiceServicer:
    return ImageServiceServicer(ImageStore(image_root), in_use=lambda image_id: False)


def test_image_status_reports_names_digests_size_and_verbose_config(service: ImageServiceServicer) -> None:
    resp = service.ImageStatus(api_pb2.ImageStatusRequest(image=spec("busybox"), verbose=True), FakeContext())
    image = resp.image
    assert image.id.startswith("sha256:")
    assert list(image.repo_tags) == ["docker.io/library/busybox:latest"]
    assert image.repo_digests[0].startswith("docker.io/library/busybox@sha256:")
    assert image.size > 500_000
    assert json.loads(resp.info["info"])["imageSpec"]["config"]["Cmd"] == ["sh"]


def test_image_status_of_a_missing_image_is_empty_not_an_error(service: ImageServiceServicer) -> None:
    resp = service.ImageStatus(api_pb2.ImageStatusRequest(image=spec("nginx")), FakeContext())
    assert not resp.HasField("image")


def test_list_images_lists_all_or_the_one_the_filter_names(service: ImageServiceServicer) -> None:
    everything = service.ListImages(api_pb2.ListImagesRequest(), FakeContext())
    assert [list(i.repo_tags) for i in everything.images] == [["docker.io/library/busybox:latest"]]
    filtered = service.ListImages(
        api_pb2.ListImagesRequest(filter=api_pb2.ImageFilter(image=spec("nginx"))), FakeContext()
    )
    assert list(filtered.images) == []


def test_removing_an_image_a_container_uses_is_refused(image_root: Path) -> None:
    store = ImageStore(image_root)
    image_id = store.resolve("busybox").id
    service = ImageServiceServicer(store, in_use=lambda i: i == image_id)
    ctx = FakeContext()
    with pytest.raises(Aborted):
        service.RemoveImage(api_pb2.RemoveImageRequest(image=spec("busybox")), ctx)
    assert ctx.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "in use by a container" in ctx.details
    assert store.resolve("busybox").id == image_id


def test_removing_an_image_removes_it_and_removing_it_again_succeeds(service: ImageServiceServicer) -> None:
    service.RemoveImage(api_pb2.RemoveImageRequest(image=spec("busybox")), FakeContext())
    assert list(service.ListImages(api_pb2.ListImagesRequest(), FakeContext()).images) == []
    service.RemoveImage(api_pb2.RemoveImageRequest(image=spec("busybox")), FakeContext())


def test_pulling_an_invalid_name_is_invalid_argument(service: ImageServiceServicer) -> None:
    ctx = FakeContext()
    with pytest.raises(Aborted):
        service.PullImage(api_pb2.PullImageRequest(image=spec("UPPER/Case")), ctx)
    assert ctx.code == grpc.StatusCode.INVALID_ARGUMENT


def test_image_fs_info_reports_the_bytes_and_inodes_the_store_occupies(service: ImageServiceServicer) -> None:
    (usage,) = service.ImageFsInfo(api_pb2.ImageFsInfoRequest(), FakeContext()).image_filesystems
    assert usage.fs_id.mountpoint == str(service.store.root)
    assert usage.used_bytes.value > 2_000_000  # the unpacked busybox binary alone is ~2 MB
    assert usage.inodes_used.value > 20
    assert usage.timestamp > 0


def test_chain_id_follows_the_oci_definition() -> None:
    import hashlib

    from runtime.images.service import chain_id

    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    assert chain_id([a]) == a
    assert chain_id([a, b]) == "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
