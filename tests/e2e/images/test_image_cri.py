"""The ImageService of a running `kyb runtime`, driven over its socket by a CRI v1 client."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from cri import api_pb2, api_pb2_grpc
from runtime.images.local_registry import LocalRegistry


@pytest.fixture
def registry(tmp_path: Path, busybox_archive: Path) -> Iterator[LocalRegistry]:
    reg = LocalRegistry(tmp_path / "registry").start()
    try:
        reg.push(busybox_archive, "library/busybox:latest")
        reg.push(busybox_archive, "pause:3.9")
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def images(tmp_path: Path, registry: LocalRegistry) -> Iterator[api_pb2_grpc.ImageServiceStub]:
    config = tmp_path / "registries.toml"
    config.write_text(
        f'[registries."docker.io"]\nmirrors = ["{registry.url}"]\nskip_upstream = true\n'
        f'[registries."registry.k8s.io"]\nmirrors = ["{registry.url}"]\nskip_upstream = true\n'
    )
    sock = tmp_path / "run" / "runtime.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kyb", "runtime", "--socket", str(sock), "--root", str(tmp_path / "root"),
         "--registry-config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        channel = grpc.insecure_channel(f"unix://{sock}")
        stub = api_pb2_grpc.ImageServiceStub(channel)
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                stub.ImageFsInfo(api_pb2.ImageFsInfoRequest(), timeout=1)
                break
            except grpc.RpcError:
                assert time.monotonic() < deadline, "runtime did not serve in time"
                time.sleep(0.05)
        yield stub
        channel.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def spec(ref: str) -> api_pb2.ImageSpec:
    return api_pb2.ImageSpec(image=ref)


def test_pull_list_status_and_remove_through_the_socket(images: api_pb2_grpc.ImageServiceStub) -> None:
    image_ref = images.PullImage(api_pb2.PullImageRequest(image=spec("busybox")), timeout=60).image_ref
    assert image_ref.startswith("sha256:")
    images.PullImage(api_pb2.PullImageRequest(image=spec("registry.k8s.io/pause:3.9")), timeout=60)
    (listed,) = images.ListImages(api_pb2.ListImagesRequest(), timeout=5).images
    assert listed.id == image_ref
    assert list(listed.repo_tags) == ["docker.io/library/busybox:latest", "registry.k8s.io/pause:3.9"]
    status = images.ImageStatus(api_pb2.ImageStatusRequest(image=spec(image_ref), verbose=True), timeout=5)
    assert status.image.id == image_ref
    assert json.loads(status.info["info"])["imageSpec"]["config"]["Cmd"] == ["sh"]
    images.RemoveImage(api_pb2.RemoveImageRequest(image=spec("busybox")), timeout=10)
    assert not images.ImageStatus(api_pb2.ImageStatusRequest(image=spec(image_ref)), timeout=5).HasField("image")
    images.RemoveImage(api_pb2.RemoveImageRequest(image=spec("busybox")), timeout=10)


def test_pull_failures_are_grpc_errors_with_a_clear_message(images: api_pb2_grpc.ImageServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as err:
        images.PullImage(api_pb2.PullImageRequest(image=spec("docker.io/library/nothere:1")), timeout=30)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "docker.io/library/nothere:1" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        images.PullImage(api_pb2.PullImageRequest(image=spec("Bad Name")), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_image_imported_by_kyb_image_appears_in_the_running_runtime(
    tmp_path: Path, images: api_pb2_grpc.ImageServiceStub, busybox_archive: Path
) -> None:
    subprocess.run(
        [sys.executable, "-m", "kyb", "image", "import", "--root", str(tmp_path / "root"), str(busybox_archive)],
        check=True, capture_output=True, timeout=60,
    )
    (listed,) = images.ListImages(api_pb2.ListImagesRequest(), timeout=5).images
    assert list(listed.repo_tags) == ["docker.io/library/busybox:latest"]
    usage = images.ImageFsInfo(api_pb2.ImageFsInfoRequest(), timeout=5).image_filesystems[0]
    assert usage.used_bytes.value > 2_000_000 and usage.fs_id.mountpoint == str(tmp_path / "root" / "images")
