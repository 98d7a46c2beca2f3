"""Recursive read-only mounts (CRI ``Mount.recursive_read_only``): which configs are accepted,
what the spec carries, and when the node cannot make them."""

from __future__ import annotations

import pytest

from cri import api_pb2
from runtime.container import spec
from runtime.container.spec import mounts_of
from runtime.errors import FailedPrecondition, InvalidArgument
from runtime.linux.idmap import recursive_readonly_supported


def config_with(**fields: object) -> api_pb2.ContainerConfig:
    mount = api_pb2.Mount(container_path="/data", host_path="/srv/data", **fields)  # type: ignore[arg-type]
    return api_pb2.ContainerConfig(mounts=[mount])


def test_a_read_only_private_mount_can_be_recursively_read_only() -> None:
    [entry] = mounts_of(config_with(readonly=True, recursive_read_only=True))
    assert entry == {"source": "/srv/data", "destination": "/data", "readonly": True, "propagation": "private",
                     "recursive_readonly": True}


def test_a_plain_mount_is_not_recursively_read_only() -> None:
    [entry] = mounts_of(config_with(readonly=True))
    assert "recursive_readonly" not in entry


def test_recursive_read_only_without_read_only_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="recursive_read_only needs readonly: true"):
        mounts_of(config_with(recursive_read_only=True))


@pytest.mark.parametrize("propagation", [api_pb2.PROPAGATION_HOST_TO_CONTAINER, api_pb2.PROPAGATION_BIDIRECTIONAL])
def test_recursive_read_only_with_propagation_is_invalid(propagation: int) -> None:
    with pytest.raises(InvalidArgument, match="needs private propagation"):
        mounts_of(config_with(readonly=True, recursive_read_only=True, propagation=propagation))


def test_a_kernel_without_mount_setattr_refuses_recursive_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec.idmap, "recursive_readonly_supported", lambda: False)
    with pytest.raises(FailedPrecondition, match="need Linux 5.12"):
        mounts_of(config_with(readonly=True, recursive_read_only=True))


@pytest.mark.parametrize(("release", "supported"), [
    ("5.11.22", False), ("5.12.0", True), ("6.1.0-18-amd64", True), ("4.19.0", False), ("weird", False),
])
def test_support_follows_the_kernel_release(release: str, supported: bool) -> None:
    assert recursive_readonly_supported(release) is supported
