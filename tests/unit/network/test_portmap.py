"""hostPort mappings: validation, canonical form, conflicts."""

from __future__ import annotations

import pytest

from runtime.network.errors import HostPortConflict, InvalidNetworkConfig
from runtime.network.portmap import PortMapping, check_conflicts, hostport_mappings, normalize


def test_mappings_without_a_host_port_need_no_rule() -> None:
    assert hostport_mappings([PortMapping("TCP", 80, 0)]) == []


def test_protocol_is_upper_cased_and_any_address_is_empty() -> None:
    assert normalize(PortMapping("udp", 53, 5353, "0.0.0.0")) == PortMapping("UDP", 53, 5353, "")


def test_a_loopback_host_ip_is_kept_as_given() -> None:
    assert normalize(PortMapping("TCP", 80, 8080, "127.0.0.1")) == PortMapping("TCP", 80, 8080, "127.0.0.1")


def test_a_loopback_host_ip_conflicts_with_any_address() -> None:
    with pytest.raises(HostPortConflict):
        hostport_mappings([PortMapping("TCP", 80, 8080), PortMapping("TCP", 81, 8080, "127.0.0.1")])


@pytest.mark.parametrize(
    "mapping",
    [
        PortMapping("ICMP", 80, 8080),
        PortMapping("TCP", 0, 8080),
        PortMapping("TCP", 80, 70000),
        PortMapping("TCP", 80, 8080, "not-an-ip"),
        PortMapping("TCP", 80, 8080, "::1"),
    ],
)
def test_invalid_mappings_are_rejected(mapping: PortMapping) -> None:
    with pytest.raises(InvalidNetworkConfig):
        hostport_mappings([mapping])


def test_same_port_twice_in_one_sandbox_conflicts() -> None:
    with pytest.raises(HostPortConflict):
        hostport_mappings([PortMapping("TCP", 80, 8080), PortMapping("TCP", 81, 8080, "10.0.0.1")])


def test_exact_duplicates_collapse() -> None:
    assert hostport_mappings([PortMapping("TCP", 80, 8080)] * 2) == [PortMapping("TCP", 80, 8080)]


def test_same_port_on_another_protocol_does_not_conflict() -> None:
    check_conflicts("b", [PortMapping("UDP", 80, 8080)], {"a": [PortMapping("TCP", 80, 8080)]})


def test_same_port_on_different_host_ips_does_not_conflict() -> None:
    check_conflicts(
        "b", [PortMapping("TCP", 80, 8080, "10.0.0.2")], {"a": [PortMapping("TCP", 80, 8080, "10.0.0.1")]}
    )


def test_any_address_conflicts_with_a_specific_one() -> None:
    with pytest.raises(HostPortConflict, match="already mapped to sandbox a"):
        check_conflicts(
            "b", [PortMapping("TCP", 80, 8080)], {"a": [PortMapping("TCP", 90, 8080, "10.0.0.1")]}
        )


def test_a_sandbox_does_not_conflict_with_itself() -> None:
    check_conflicts("a", [PortMapping("TCP", 80, 8080)], {"a": [PortMapping("TCP", 80, 8080)]})


def test_round_trips_through_dict() -> None:
    m = PortMapping("SCTP", 9, 9999, "10.1.2.3")
    assert PortMapping.from_dict(m.to_dict()) == m


def test_dicts_with_the_same_keys_are_accepted() -> None:
    given = [{"protocol": "TCP", "container_port": 80, "host_port": 8080, "host_ip": ""}]
    assert hostport_mappings(given) == [PortMapping("TCP", 80, 8080)]


def test_a_dict_missing_a_key_is_invalid() -> None:
    with pytest.raises(InvalidNetworkConfig, match="not a port mapping"):
        hostport_mappings([{"protocol": "TCP", "host_port": 8080}])
