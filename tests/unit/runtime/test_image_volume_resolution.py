"""Image volumes: CRI Mount validation, sub path resolution over image layers, the overlay option.

Layers here are plain directories (no whiteouts or opaque markers, which need root to make);
those are covered by tests/integration/runtime/test_image_volume_mounts.py.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from google.protobuf import json_format

from cri import api_pb2
from runtime.container.image_volumes import SubPathError, merged_directory, resolve_mounts
from runtime.container.spec import mounts_of
from runtime.errors import FailedPrecondition, InvalidArgument
from runtime.images.errors import ImageNotFound
from runtime.service import convert
from runtime.shim.rootfs import overlay_lowerdir


def image_mount(ref: str = "example.com/content:1", **fields: object) -> api_pb2.Mount:
    mount = api_pb2.Mount(container_path="/volume", image=api_pb2.ImageSpec(image=ref), readonly=True)
    for key, value in fields.items():
        setattr(mount, key, value)
    return mount


def config_with(*mounts: api_pb2.Mount) -> api_pb2.ContainerConfig:
    return api_pb2.ContainerConfig(mounts=list(mounts))


@dataclass
class FakeImage:
    id: str
    layer_dirs: list[Path] = field(default_factory=list)


def make_layers(tmp_path: Path, *trees: dict[str, str | None]) -> list[str]:
    """Layer directories bottom first; a tree maps a path to file content, None for a directory,
    or "->target" for a symlink. Returned top first, as the overlay stacks them."""
    dirs = []
    for index, tree in enumerate(trees):
        layer = tmp_path / f"layer{index}"
        layer.mkdir()
        for path, content in tree.items():
            target = layer / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if content is None:
                target.mkdir(exist_ok=True)
            elif content.startswith("->"):
                os.symlink(content[2:], target)
            else:
                target.write_text(content)
        dirs.append(str(layer))
    return list(reversed(dirs))


# ----------------------------------------------------------------------------- mounts_of
def test_an_image_mount_becomes_a_read_only_image_volume_entry() -> None:
    [entry] = mounts_of(config_with(image_mount(image_sub_path="etc", propagation=api_pb2.PROPAGATION_PRIVATE)))
    assert entry == {"image": "example.com/content:1", "image_sub_path": "etc", "destination": "/volume",
                     "readonly": True, "propagation": "private"}


def test_an_image_mount_with_a_host_path_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="host_path must be empty"):
        mounts_of(config_with(image_mount(host_path="/srv")))


def test_a_writable_image_mount_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="read-only"):
        mounts_of(config_with(image_mount(readonly=False)))


def test_an_absolute_image_sub_path_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="path escapes from parent"):
        mounts_of(config_with(image_mount(image_sub_path="/etc")))


def test_an_image_sub_path_without_an_image_is_invalid() -> None:
    mount = api_pb2.Mount(container_path="/data", host_path="/srv", image_sub_path="etc")
    with pytest.raises(InvalidArgument, match="only valid for an image volume"):
        mounts_of(config_with(mount))


def test_errors_name_the_image_volume_failure_reason() -> None:
    with pytest.raises(InvalidArgument, match="^ImageVolumeMountFailed: "):
        mounts_of(config_with(image_mount(readonly=False)))


def test_host_path_mounts_are_unchanged() -> None:
    mount = api_pb2.Mount(container_path="/data/", host_path="/srv//x", readonly=True)
    assert mounts_of(config_with(mount)) == [
        {"source": "/srv/x", "destination": "/data", "readonly": True, "propagation": "private"}]


# ----------------------------------------------------------------------------- merged_directory
def test_the_root_merges_every_layer(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"a": "1"}, {"b": "2"})
    assert merged_directory(layers, "") == layers


def test_a_sub_path_merges_the_layers_that_hold_that_directory(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/a": "1"}, {"usr/b": "2"}, {"etc/c": "3"})
    assert merged_directory(layers, "etc") == [os.path.join(layers[0], "etc"), os.path.join(layers[2], "etc")]


def test_dot_components_and_trailing_slashes_are_ignored(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/ssl/x": "1"})
    assert merged_directory(layers, "./etc//ssl/.") == [os.path.join(layers[0], "etc", "ssl")]


def test_dot_dot_inside_the_image_is_allowed(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/x": "1", "usr/y": "2"})
    assert merged_directory(layers, "etc/../usr") == [os.path.join(layers[0], "usr")]


def test_dot_dot_above_the_image_root_escapes(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/x": "1"})
    with pytest.raises(SubPathError, match="path escapes from parent"):
        merged_directory(layers, "etc/../../..")


def test_a_missing_sub_path_is_no_such_file_or_directory(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/x": "1"})
    with pytest.raises(SubPathError, match="no such file or directory"):
        merged_directory(layers, "not-existing")


def test_a_file_sub_path_is_refused(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/hostname": "box"})
    with pytest.raises(SubPathError, match="only directory subpath is supported"):
        merged_directory(layers, "etc/hostname")


def test_a_file_in_the_middle_of_a_sub_path_is_not_a_directory(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/hostname": "box"})
    with pytest.raises(SubPathError, match="not a directory"):
        merged_directory(layers, "etc/hostname/x")


def test_a_relative_symlink_is_followed_inside_the_image(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"data/real/x": "1", "link": "->data/real"})
    assert merged_directory(layers, "link") == [os.path.join(layers[0], "data", "real")]


def test_a_symlink_with_dot_dot_resolves_against_its_own_directory(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"data/real/x": "1", "other/up": "->../data"})
    assert merged_directory(layers, "other/up/real") == [os.path.join(layers[0], "data", "real")]


def test_an_absolute_symlink_escapes(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"bin/busybox": "elf", "bin/sh": "->/bin/busybox"})
    with pytest.raises(SubPathError, match="path escapes from parent"):
        merged_directory(layers, "bin/sh")


def test_a_symlink_climbing_above_the_root_escapes(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/x": "1", "up": "->../../etc"})
    with pytest.raises(SubPathError, match="path escapes from parent"):
        merged_directory(layers, "up")


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"a": "->b", "b": "->a"})
    with pytest.raises(SubPathError, match="too many levels of symbolic links"):
        merged_directory(layers, "a")


def test_a_file_in_an_upper_layer_hides_a_lower_directory(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/x": "1"}, {"etc": "now a file"})
    with pytest.raises(SubPathError, match="only directory subpath"):
        merged_directory(layers, "etc")


def test_a_lower_file_below_an_upper_directory_ends_the_merge(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/x": "1"}, {"etc": "a file"}, {"etc/y": "2"})
    assert merged_directory(layers, "etc") == [os.path.join(layers[0], "etc")]


# ----------------------------------------------------------------------------- resolve_mounts
def test_resolve_mounts_adds_the_overlay_lower_dirs_and_reports_the_images(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/a": "1"}, {"etc/b": "2"})
    image = FakeImage("sha256:" + "a" * 64, [Path(p) for p in reversed(layers)])
    mounts = mounts_of(config_with(image_mount(image_sub_path="etc")))
    used = resolve_mounts(mounts, lambda ref: image, str(tmp_path / "empty"))
    assert used == [image.id]
    assert mounts[0]["lower"] == [os.path.join(layers[0], "etc"), os.path.join(layers[1], "etc")]
    assert mounts[0]["image_id"] == image.id


def test_a_single_layer_gets_an_empty_bottom_layer_for_overlayfs(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/a": "1"})
    image = FakeImage("sha256:" + "b" * 64, [Path(layers[0])])
    mounts = mounts_of(config_with(image_mount()))
    resolve_mounts(mounts, lambda ref: image, str(tmp_path / "empty"))
    assert mounts[0]["lower"] == [layers[0], str(tmp_path / "empty")]
    assert os.listdir(tmp_path / "empty") == []


def test_an_image_used_twice_is_reported_once(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"a": "1"}, {"b": "2"})
    image = FakeImage("sha256:" + "c" * 64, [Path(p) for p in reversed(layers)])
    second = image_mount()
    second.container_path = "/volume-1"
    mounts = mounts_of(config_with(image_mount(), second))
    assert resolve_mounts(mounts, lambda ref: image, str(tmp_path / "empty")) == [image.id]
    assert mounts[0]["lower"] == mounts[1]["lower"] == layers


def test_an_image_that_is_not_present_is_a_failed_precondition(tmp_path: Path) -> None:
    def lookup(ref: str) -> FakeImage:
        raise ImageNotFound(f"image {ref!r} not found")

    mounts = mounts_of(config_with(image_mount("localhost/invalid")))
    with pytest.raises(FailedPrecondition, match="ImageVolumeMountFailed: .*'/volume'.*not present on this node"):
        resolve_mounts(mounts, lookup, str(tmp_path / "empty"))


def test_a_bad_sub_path_names_the_volume(tmp_path: Path) -> None:
    layers = make_layers(tmp_path, {"etc/a": "1"}, {"b": "2"})
    image = FakeImage("sha256:" + "d" * 64, [Path(p) for p in reversed(layers)])
    mounts = mounts_of(config_with(image_mount(image_sub_path="nope")))
    with pytest.raises(SubPathError, match="'/volume'.*no such file or directory"):
        resolve_mounts(mounts, lambda ref: image, str(tmp_path / "empty"))


def test_an_image_with_more_layers_than_one_overlay_takes_is_refused_at_create(tmp_path: Path) -> None:
    layer = tmp_path / ("layer-with-a-long-name-" + "x" * 180)
    layer.mkdir()
    image = FakeImage("sha256:" + "f" * 64, [layer] * 30)  # 30 lower dirs of ~230 bytes: past a page
    mounts = mounts_of(config_with(image_mount()))
    with pytest.raises(FailedPrecondition, match="too many layers"):
        resolve_mounts(mounts, lambda ref: image, str(tmp_path / "empty"))


def test_host_path_mounts_are_left_alone(tmp_path: Path) -> None:
    mounts = mounts_of(config_with(api_pb2.Mount(container_path="/data", host_path="/srv")))

    def lookup(ref: str) -> FakeImage:
        raise AssertionError("no image should be looked up")

    assert resolve_mounts(mounts, lookup, str(tmp_path / "empty")) == []
    assert "lower" not in mounts[0]


# ----------------------------------------------------------------------------- overlay option
def test_overlay_lowerdir_escapes_separators() -> None:
    assert overlay_lowerdir(["/a/b", "/c:d,e\\f"]) == "/a/b:/c\\:d\\,e\\\\f"


# ----------------------------------------------------------------------------- ContainerStatus
def status_record(config: api_pb2.ContainerConfig, spec_mounts: list[dict]) -> dict:
    # A container of its own each time: a container's status is derived once per container.
    return {"id": secrets.token_hex(32), "sandbox_id": "s" * 64, "state": "CONTAINER_CREATED", "created_at": 1,
            "config": json_format.MessageToDict(config), "spec": {"mounts": spec_mounts}}


def test_container_status_names_an_image_volume_by_the_image_id_mounted() -> None:
    config = config_with(image_mount("example.com/content:1", image_sub_path="etc"),
                         api_pb2.Mount(container_path="/data", host_path="/srv"))
    spec_mounts = [{"image": "example.com/content:1", "image_id": "sha256:" + "e" * 64},
                   {"source": "/srv", "destination": "/data"}]
    image, host = convert.container_status(status_record(config, spec_mounts)).mounts
    assert image.image.image == "sha256:" + "e" * 64
    assert image.image.user_specified_image == "example.com/content:1"
    assert image.image_sub_path == "etc" and image.readonly
    assert host.host_path == "/srv" and not host.HasField("image")


def test_container_status_keeps_the_mounts_of_a_record_without_a_spec() -> None:
    config = config_with(image_mount("example.com/content:1"))
    [mount] = convert.container_status(status_record(config, [])).mounts
    assert mount.image.image == "example.com/content:1"
