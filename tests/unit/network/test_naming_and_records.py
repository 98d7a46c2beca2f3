"""Names derived from sandbox ids, and the attachment records on disk."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from runtime.network.attachments import Attachment, AttachmentStore, check_sandbox_id
from runtime.network.errors import InvalidNetworkConfig
from runtime.network.podnetwork import PodNetwork, bridge_mac, host_veth_name
from runtime.network.portmap import PortMapping


def test_host_veth_name_fits_ifnamsiz_and_is_stable() -> None:
    name = host_veth_name("a" * 64)
    assert len(name) == 15 and name.startswith("kyb")
    assert name == host_veth_name("a" * 64)
    assert name != host_veth_name("b" * 64)


def test_bridge_mac_is_locally_administered_unicast() -> None:
    first_octet = int(bridge_mac(ipaddress.IPv4Network("10.244.1.0/24")).split(":")[0], 16)
    assert first_octet & 0x02 and not first_octet & 0x01


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "a b", ".hidden", "x" * 129])
def test_sandbox_ids_that_could_escape_or_break_names_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidNetworkConfig):
        check_sandbox_id(bad)


def test_records_round_trip_and_delete_is_idempotent(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path)
    record = Attachment(
        "sb1", "10.244.1.2", "kyb0123456789ab", "/proc/1/ns/net", (PortMapping("TCP", 80, 8080),)
    )
    store.put(record)
    assert store.get("sb1") == record
    assert store.all() == [record]
    store.delete("sb1")
    store.delete("sb1")
    assert store.get("sb1") is None


def test_pod_cidr_must_lie_inside_the_cluster_cidr(tmp_path: Path) -> None:
    with pytest.raises(InvalidNetworkConfig, match="not inside cluster CIDR"):
        PodNetwork(tmp_path, "10.99.1.0/24", "10.244.0.0/16")


def test_bridge_name_longer_than_ifnamsiz_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidNetworkConfig):
        PodNetwork(tmp_path, "10.244.1.0/24", "10.244.0.0/16", bridge="a-very-long-bridge-name")


def test_routes_overlapping_our_own_pod_cidr_are_rejected_before_touching_the_kernel(tmp_path: Path) -> None:
    network = PodNetwork(tmp_path, "10.244.1.0/24", "10.244.0.0/16")
    with pytest.raises(InvalidNetworkConfig, match="own pod CIDR"):
        network.set_routes([("10.244.1.0/25", "192.168.0.2")])


def test_routes_with_two_gateways_for_one_cidr_are_rejected(tmp_path: Path) -> None:
    network = PodNetwork(tmp_path, "10.244.1.0/24", "10.244.0.0/16")
    with pytest.raises(InvalidNetworkConfig, match="two gateways"):
        network.set_routes([("10.244.2.0/24", "192.168.0.2"), ("10.244.2.0/24", "192.168.0.3")])


def test_error_message_says_what_was_attempted_and_the_errno() -> None:
    from runtime.network.errors import NetlinkError

    err = NetlinkError("create veth kyb1 in the node namespace", 17)
    assert err.errno == 17 and "create veth kyb1" in str(err) and "EEXIST" in str(err)
