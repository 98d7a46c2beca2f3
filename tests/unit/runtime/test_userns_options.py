"""Which pod user namespace requests the runtime takes (KEP-127), decided as containerd decides."""

from __future__ import annotations

from typing import Any

import pytest

from cri import api_pb2
from runtime.container.userns_options import (
    check_ranges,
    check_same_as_sandbox,
    mount_idmap,
    pod_user_namespace,
)
from runtime.errors import InvalidArgument

POD_RANGE = {"container_id": 0, "host_id": 100000, "length": 65536}


def line(host: int = 100000, container: int = 0, length: int = 65536) -> api_pb2.IDMapping:
    return api_pb2.IDMapping(host_id=host, container_id=container, length=length)


def options(mode: Any = api_pb2.POD, uids: list | None = None, gids: list | None = None,
            **modes: Any) -> api_pb2.NamespaceOption:
    userns = api_pb2.UserNamespace(mode=mode, uids=[line()] if uids is None else uids,
                                   gids=[line()] if gids is None else gids)
    return api_pb2.NamespaceOption(userns_options=userns, **modes)


def test_no_userns_options_means_the_hosts_user_namespace() -> None:
    assert pod_user_namespace(api_pb2.NamespaceOption(), "sandbox") is None


def test_node_mode_means_the_hosts_user_namespace_and_takes_no_mappings() -> None:
    assert pod_user_namespace(options(api_pb2.NODE, uids=[], gids=[]), "sandbox") is None
    with pytest.raises(InvalidArgument, match="NODE takes no mappings"):
        pod_user_namespace(options(api_pb2.NODE), "sandbox")


def test_pod_mode_gives_one_uid_and_one_gid_line_as_plain_data() -> None:
    mapping = pod_user_namespace(options(gids=[line(host=300000)]), "sandbox")
    assert mapping == {"uids": [POD_RANGE], "gids": [dict(POD_RANGE, host_id=300000)]}


@pytest.mark.parametrize("mode", [api_pb2.CONTAINER, api_pb2.TARGET, 7])
def test_other_modes_are_not_user_namespace_modes(mode: int) -> None:
    with pytest.raises(InvalidArgument, match="is not supported"):
        pod_user_namespace(options(mode, uids=[], gids=[]), "sandbox")


@pytest.mark.parametrize(("uids", "gids", "message"), [
    ([], [], "needs one UID and one GID mapping"),
    ([line()], [], "needs one UID and one GID mapping"),
    ([line(), line(host=200000, container=65536)], [line()], "exactly one mapping line"),
    ([line(length=0)], [line()], "length 0"),
    ([line(container=1)], [line()], "does not map container ID 0"),
    ([line(host=0)], [line()], "maps host ID 0"),
    ([line(host=4294967295 - 10)], [line()], "runs past the largest ID"),
    ([line()], [line(container=5)], "GID mapping"),
])
def test_pod_mode_mappings_are_checked(uids: list, gids: list, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        pod_user_namespace(options(uids=uids, gids=gids), "sandbox")


@pytest.mark.parametrize("field", ["network", "pid", "ipc"])
def test_a_pod_in_its_own_user_namespace_cannot_share_host_namespaces(field: str) -> None:
    with pytest.raises(InvalidArgument, match=f"host's {field} namespace"):
        modes: dict[str, Any] = {field: api_pb2.NODE}
        pod_user_namespace(options(**modes), "sandbox")


def test_overlapping_lines_are_refused_inside_and_outside() -> None:
    with pytest.raises(InvalidArgument, match="overlap"):
        check_ranges([POD_RANGE, dict(POD_RANGE, container_id=100)], "m")
    with pytest.raises(InvalidArgument, match="overlap"):
        check_ranges([POD_RANGE, dict(POD_RANGE, container_id=65536, host_id=165535)], "m")
    check_ranges([POD_RANGE, dict(POD_RANGE, container_id=65536, host_id=165536)], "m")


def test_a_container_must_ask_for_its_sandboxs_user_namespace() -> None:
    pod = {"uids": [POD_RANGE], "gids": [POD_RANGE], "path": "/proc/1/ns/user"}
    check_same_as_sandbox({"uids": [POD_RANGE], "gids": [POD_RANGE]}, pod)
    check_same_as_sandbox(None, None)
    with pytest.raises(InvalidArgument, match="differs from its sandbox"):
        check_same_as_sandbox(None, pod)
    with pytest.raises(InvalidArgument, match="differs from its sandbox"):
        check_same_as_sandbox({"uids": [dict(POD_RANGE, host_id=1)], "gids": [POD_RANGE]}, pod)


def test_a_mount_without_mappings_is_a_plain_bind() -> None:
    assert mount_idmap(api_pb2.Mount(container_path="/v", host_path="/h")) is None


def test_a_mount_with_mappings_asks_for_an_idmapped_bind_with_both_maps() -> None:
    mount = api_pb2.Mount(container_path="/v", host_path="/h", uidMappings=[line(), line(host=500000, container=65536)],
                          gidMappings=[line()])
    assert mount_idmap(mount) == {"uids": [POD_RANGE, dict(POD_RANGE, host_id=500000, container_id=65536)],
                                  "gids": [POD_RANGE]}
    with pytest.raises(InvalidArgument, match="both uidMappings and gidMappings"):
        mount_idmap(api_pb2.Mount(container_path="/v", host_path="/h", uidMappings=[line()]))
    with pytest.raises(InvalidArgument, match="length 0"):
        mount_idmap(api_pb2.Mount(container_path="/v", host_path="/h", uidMappings=[line(length=0)], gidMappings=[line()]))
