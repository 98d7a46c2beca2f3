"""Image volumes (KEP-4639) on a real runtime: a CRI Mount that names an image shows that image's
files, read-only, optionally only a sub directory; bad requests fail CreateContainer cleanly; the
image cannot be removed while a container mounts it; nothing is left on the host.

The volume image is built here with content of its own (two layers, with a whiteout and an opaque
directory in the upper one), so every check proves the mount shows *that* image, merged as
overlayfs merges it, and not busybox's root filesystem.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config

from cri import api_pb2
from cri.client import CRIError, RuntimeClient
from runtime.images.oci_layout import LayerTar, LayoutWriter
from runtime.images.platform import host_platform
from runtime.images.reference import parse_reference
from runtime.images.store import ImageStore

pytestmark = pytest.mark.root

CONTENT_IMAGE = "example.com/kybt/volume-content:1"
REMOVABLE_IMAGE = "example.com/kybt/volume-removable:1"
TOOL = b"#!/bin/sh\necho tool ran from the image volume\n"


def content_layers() -> list[bytes]:
    base = LayerTar()
    base.add_dir("data")
    base.add_file("data/hello.txt", b"hello from the volume image\n")
    base.add_file("data/gone.txt", b"deleted by the upper layer\n")
    base.add_dir("data/sub")
    base.add_file("data/sub/inner.txt", b"inner\n")
    base.add_dir("data/replaced")
    base.add_file("data/replaced/old.txt", b"hidden by the opaque upper directory\n")
    base.add_dir("data/replaced/old-dir")
    base.add_dir("data/gone-dir")
    base.add_dir("bin")
    base.add_file("bin/tool", TOOL, mode=0o755)
    base.add_symlink("link-to-sub", "data/sub")
    base.add_symlink("absolute-link", "/data")
    top = LayerTar()
    top.add_dir("data")
    top.add_file("data/top.txt", b"from the upper layer\n")
    top.whiteout("data/gone.txt")
    top.whiteout("data/gone-dir")
    top.add_dir("data/replaced")
    top.opaque("data/replaced")
    top.add_file("data/replaced/new.txt", b"only this one\n")
    return [base.getvalue(), top.getvalue()]


def removable_layers() -> list[bytes]:
    layer = LayerTar()
    layer.add_file("removable.txt", b"an image only this test uses\n")
    return [layer.getvalue()]


def write_archive(path: Path, name: str, layers: list[bytes]) -> Path:
    plat = host_platform()
    writer = LayoutWriter()
    manifest = writer.add_image(layers, {}, architecture=plat.architecture, variant=plat.variant)
    writer.tag(manifest, parse_reference(name))
    writer.write(str(path))
    return path


@pytest.fixture(scope="module")
def volume_runtime(tmp_path_factory: pytest.TempPathFactory, busybox_archive: Path) -> Iterator[RuntimeUnderTest]:
    tmp = tmp_path_factory.mktemp("image-volumes")
    rt = RuntimeUnderTest(tmp, busybox_archive)
    try:
        store = ImageStore(rt.root / "images")
        store.import_archive(write_archive(tmp / "content.tar", CONTENT_IMAGE, content_layers()))
        store.import_archive(write_archive(tmp / "removable.tar", REMOVABLE_IMAGE, removable_layers()))
        rt.start()
        yield rt
    finally:
        rt.teardown()


@pytest.fixture(scope="module")
def vcri(volume_runtime: RuntimeUnderTest) -> RuntimeClient:
    assert volume_runtime.client is not None
    return volume_runtime.client


@pytest.fixture(scope="module")
def pod(vcri: RuntimeClient) -> tuple[str, api_pb2.PodSandboxConfig]:
    config = pod_config("imagevol")
    return vcri.run_pod_sandbox(config), config


def image_mount(path: str, image: str = CONTENT_IMAGE, sub_path: str = "") -> api_pb2.Mount:
    """A mount as the kubelet sends it for an image volume."""
    return api_pb2.Mount(container_path=path, image=api_pb2.ImageSpec(image=image), readonly=True,
                         image_sub_path=sub_path)


def run_with(cri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig], name: str,
             *mounts: api_pb2.Mount) -> str:
    config = container_config(name, ["sleep", "3600"])
    config.mounts.extend(mounts)
    container_id = cri.create_container(pod[0], config, pod[1])
    cri.start_container(container_id)
    return container_id


def sh(cri: RuntimeClient, container_id: str, script: str) -> api_pb2.ExecSyncResponse:
    return cri.exec_sync(container_id, ["sh", "-c", script], timeout=20)


def listing(cri: RuntimeClient, container_id: str, path: str) -> list[str]:
    reply = sh(cri, container_id, f"ls -A {path}")
    assert reply.exit_code == 0, reply.stderr
    return sorted(reply.stdout.decode().split())


def remove(cri: RuntimeClient, container_id: str) -> None:
    cri.stop_container(container_id, 0)
    cri.remove_container(container_id)


def host_mount_lines(needle: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if needle in line]


def test_the_image_files_are_visible_at_the_mount_path(vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container_id = run_with(vcri, pod, "visible", image_mount("/volume"))
    try:
        assert sh(vcri, container_id, "cat /volume/data/hello.txt").stdout == b"hello from the volume image\n"
        assert listing(vcri, container_id, "/volume") == ["absolute-link", "bin", "data", "link-to-sub"]
        assert listing(vcri, container_id, "/volume/data") == ["hello.txt", "replaced", "sub", "top.txt"]
        assert listing(vcri, container_id, "/volume/data/replaced") == ["new.txt"]
    finally:
        remove(vcri, container_id)


def test_writes_to_an_image_volume_fail_read_only(vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container_id = run_with(vcri, pod, "readonly", image_mount("/volume"))
    try:
        for script in ("touch /volume/new", "rm /volume/data/hello.txt", "echo x >> /volume/data/hello.txt"):
            reply = sh(vcri, container_id, script)
            assert reply.exit_code != 0, script
            assert b"Read-only file system" in reply.stderr, (script, reply.stderr)
        mounts = sh(vcri, container_id, "grep ' /volume ' /proc/mounts").stdout.decode().split()
        assert mounts[2] == "overlay" and "ro" in mounts[3].split(","), mounts
    finally:
        remove(vcri, container_id)


def test_executables_on_an_image_volume_run(vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container_id = run_with(vcri, pod, "exec", image_mount("/volume"))
    try:
        assert sh(vcri, container_id, "/volume/bin/tool").stdout == b"tool ran from the image volume\n"
    finally:
        remove(vcri, container_id)


def test_a_sub_path_mounts_only_that_directory(vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container_id = run_with(vcri, pod, "subpath", image_mount("/volume", sub_path="data/sub"))
    try:
        assert listing(vcri, container_id, "/volume") == ["inner.txt"]
        assert sh(vcri, container_id, "cat /volume/inner.txt").stdout == b"inner\n"
    finally:
        remove(vcri, container_id)


def test_a_sub_path_through_a_relative_symlink_stays_in_the_image(vcri: RuntimeClient,
                                                                  pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container_id = run_with(vcri, pod, "symlink", image_mount("/volume", sub_path="link-to-sub"))
    try:
        assert listing(vcri, container_id, "/volume") == ["inner.txt"]
    finally:
        remove(vcri, container_id)


def test_a_sub_path_into_an_opaque_directory_shows_only_the_upper_layer(
        vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container_id = run_with(vcri, pod, "opaque", image_mount("/volume", sub_path="data/replaced"))
    try:
        assert listing(vcri, container_id, "/volume") == ["new.txt"]
        reply = sh(vcri, container_id, "touch /volume/x")
        assert b"Read-only file system" in reply.stderr
    finally:
        remove(vcri, container_id)


def test_one_image_can_back_two_volumes_of_a_container(vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container_id = run_with(vcri, pod, "twice", image_mount("/volume-0"), image_mount("/volume-1", sub_path="data"))
    try:
        assert sh(vcri, container_id, "cat /volume-0/data/top.txt /volume-1/top.txt").stdout == \
            b"from the upper layer\nfrom the upper layer\n"
    finally:
        remove(vcri, container_id)


def test_the_image_id_pull_returned_names_the_volume_as_the_kubelet_sends_it(
        vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    image_id = vcri.image_status(CONTENT_IMAGE).image.id
    assert image_id.startswith("sha256:")
    container_id = run_with(vcri, pod, "by-id", image_mount("/volume", image=image_id))
    try:
        assert sh(vcri, container_id, "cat /volume/data/hello.txt").stdout == b"hello from the volume image\n"
    finally:
        remove(vcri, container_id)


def test_an_image_volume_works_on_a_read_only_root_filesystem(
        vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    config = container_config("ro-root", ["sleep", "3600"], readonly_rootfs=True)
    config.mounts.append(image_mount("/mnt/new/volume", sub_path="data"))
    container_id = vcri.create_container(pod[0], config, pod[1])
    vcri.start_container(container_id)
    try:
        assert sh(vcri, container_id, "cat /mnt/new/volume/top.txt").stdout == b"from the upper layer\n"
        assert b"Read-only file system" in sh(vcri, container_id, "touch /mnt/x").stderr
    finally:
        remove(vcri, container_id)


def test_container_status_reports_the_image_volume_by_image_id(
        vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    """The kubelet's image garbage collector counts an image in use by the id in the mount."""
    container_id = run_with(vcri, pod, "status", image_mount("/volume", sub_path="data"))
    try:
        [mount] = vcri.container_status(container_id).status.mounts
        assert mount.container_path == "/volume"
        assert mount.image.image == vcri.image_status(CONTENT_IMAGE).image.id
        assert mount.image.user_specified_image == CONTENT_IMAGE
        assert mount.image_sub_path == "data"
        assert mount.readonly and mount.host_path == ""
    finally:
        remove(vcri, container_id)


def test_the_volume_is_only_in_the_container_and_gone_after_removal(
        vcri: RuntimeClient, volume_runtime: RuntimeUnderTest, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    layer_root = str(volume_runtime.root / "images" / "layers")
    container_id = run_with(vcri, pod, "nothing-left", image_mount("/volume"))
    try:
        assert sh(vcri, container_id, "cat /volume/data/top.txt").exit_code == 0
        assert host_mount_lines(layer_root) == []  # made in the container's mount namespace only
    finally:
        remove(vcri, container_id)
    assert host_mount_lines(layer_root) == []
    assert not (volume_runtime.root / "containers" / container_id).exists()


@pytest.mark.parametrize(("sub_path", "code", "message"), [
    ("not-existing", "INVALID_ARGUMENT", "no such file or directory"),
    ("data/gone-dir", "INVALID_ARGUMENT", "no such file or directory"),
    ("data/replaced/old-dir", "INVALID_ARGUMENT", "no such file or directory"),
    ("data/hello.txt", "INVALID_ARGUMENT", "only directory subpath is supported"),
    ("/data", "INVALID_ARGUMENT", "path escapes from parent"),
    ("data/../../etc", "INVALID_ARGUMENT", "path escapes from parent"),
    ("absolute-link", "INVALID_ARGUMENT", "path escapes from parent"),
])
def test_a_bad_sub_path_fails_create_and_leaves_nothing(
        vcri: RuntimeClient, volume_runtime: RuntimeUnderTest, pod: tuple[str, api_pb2.PodSandboxConfig],
        sub_path: str, code: str, message: str) -> None:
    before = (set(os.listdir(volume_runtime.root / "containers")), set(volume_runtime.cgroup_dirs()))
    config = container_config("bad-subpath", ["sleep", "3600"])
    config.mounts.append(image_mount("/volume", sub_path=sub_path))
    with pytest.raises(CRIError) as err:
        vcri.create_container(pod[0], config, pod[1])
    assert err.value.code.name == code
    assert message in err.value.details and "ImageVolumeMountFailed" in err.value.details
    assert (set(os.listdir(volume_runtime.root / "containers")), set(volume_runtime.cgroup_dirs())) == before
    assert not any(c.metadata.name == "bad-subpath" for c in vcri.list_containers())


def test_an_image_volume_of_a_missing_image_fails_create_and_leaves_nothing(
        vcri: RuntimeClient, volume_runtime: RuntimeUnderTest, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    before = set(os.listdir(volume_runtime.root / "containers"))
    config = container_config("missing-image", ["sleep", "3600"])
    config.mounts.append(image_mount("/volume", image="localhost/invalid"))
    with pytest.raises(CRIError) as err:
        vcri.create_container(pod[0], config, pod[1])
    assert err.value.code.name == "FAILED_PRECONDITION"
    assert "not present on this node" in err.value.details and "'/volume'" in err.value.details
    assert set(os.listdir(volume_runtime.root / "containers")) == before


def test_an_image_mounted_as_a_volume_cannot_be_removed_until_the_container_is(
        vcri: RuntimeClient, pod: tuple[str, api_pb2.PodSandboxConfig]) -> None:
    container_id = run_with(vcri, pod, "in-use", image_mount("/volume", image=REMOVABLE_IMAGE))
    try:
        assert sh(vcri, container_id, "cat /volume/removable.txt").stdout == b"an image only this test uses\n"
        with pytest.raises(CRIError) as err:
            vcri.remove_image(REMOVABLE_IMAGE)
        assert err.value.code.name == "FAILED_PRECONDITION"
        assert "in use" in err.value.details
        assert vcri.image_status(REMOVABLE_IMAGE).HasField("image")
    finally:
        remove(vcri, container_id)
    vcri.remove_image(REMOVABLE_IMAGE)
    assert not vcri.image_status(REMOVABLE_IMAGE).HasField("image")


def test_a_restarted_daemon_still_protects_and_shows_the_volume(runtime: RuntimeUnderTest, tmp_path: Path) -> None:
    ImageStore(runtime.root / "images").import_archive(
        write_archive(tmp_path / "removable.tar", REMOVABLE_IMAGE, removable_layers()))
    assert runtime.client is not None
    config = pod_config("imagevol-restart")
    pod = (runtime.client.run_pod_sandbox(config), config)
    container_id = run_with(runtime.client, pod, "survivor", image_mount("/volume", image=REMOVABLE_IMAGE))
    runtime.kill_daemon()
    cri = runtime.start()
    assert sh(cri, container_id, "cat /volume/removable.txt").stdout == b"an image only this test uses\n"
    with pytest.raises(CRIError) as err:
        cri.remove_image(REMOVABLE_IMAGE)
    assert err.value.code.name == "FAILED_PRECONDITION"
    remove(cri, container_id)
    cri.remove_image(REMOVABLE_IMAGE)
