"""Parsed CRI configs are cached (runtime.service.convert): a cached config is never changed by
building a status from it, and different configs never share an entry."""

from __future__ import annotations

import secrets

from google.protobuf import json_format

from cri import api_pb2
from runtime.service import convert


def record(config: api_pb2.ContainerConfig, **extra: object) -> dict:
    return {"id": secrets.token_hex(32), "sandbox_id": "s" * 64, "state": "CONTAINER_RUNNING", "created_at": 1,
            "config": json_format.MessageToDict(config), **extra}


def config(image: str, *mounts: api_pb2.Mount) -> api_pb2.ContainerConfig:
    return api_pb2.ContainerConfig(metadata=api_pb2.ContainerMetadata(name="c"),
                                   image=api_pb2.ImageSpec(image=image), mounts=list(mounts))


def test_the_same_config_is_parsed_once() -> None:
    first = record(config("busybox:1"))
    assert convert.container_config(first) is convert.container_config(dict(first))


def test_records_with_the_same_id_but_different_configs_get_their_own() -> None:
    one, other = record(config("busybox:1")), record(config("busybox:2"))
    other["id"] = one["id"]
    assert convert.container_config(one).image.image == "busybox:1"
    assert convert.container_config(other).image.image == "busybox:2"


def test_reporting_an_image_volume_by_id_leaves_the_cached_config_as_created() -> None:
    mount = api_pb2.Mount(container_path="/data", image=api_pb2.ImageSpec(image="example.com/content:1"))
    stored = record(config("busybox:1", mount), spec={"mounts": [{"image_id": "sha256:" + "a" * 64}]})
    [reported] = convert.container_status(stored).mounts
    assert reported.image.image == "sha256:" + "a" * 64
    assert reported.image.user_specified_image == "example.com/content:1"
    assert convert.container_config(stored).mounts[0].image.image == "example.com/content:1"


def test_a_status_follows_the_records_state_exit_and_resources() -> None:
    stored = record(config("busybox:1"), resources={"cpuShares": "512"})
    before = convert.container_status(stored)
    stored.update(state="CONTAINER_EXITED", exit_code=3, reason="Error", finished_at=7,
                  resources={"cpuShares": "256"})
    after = convert.container_status(stored)
    assert (before.state, before.exit_code, before.resources.linux.cpu_shares) == (api_pb2.CONTAINER_RUNNING, 0, 512)
    assert (after.state, after.exit_code, after.reason, after.finished_at) == (api_pb2.CONTAINER_EXITED, 3, "Error", 7)
    assert after.resources.linux.cpu_shares == 256


def test_changing_a_returned_status_does_not_change_the_next() -> None:
    stored = record(config("busybox:1"), labels={})
    first = convert.container_status(stored)
    first.labels["changed"] = "yes"
    first.image.image = "other"
    second = convert.container_status(stored)
    assert "changed" not in second.labels and second.image.image == "busybox:1"
