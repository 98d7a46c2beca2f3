"""Key ranges, --datastore parsing and gRPC targets: the pure functions under both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from apiserver.storage.etcd import EtcdStore, grpc_target
from apiserver.storage.factory import open_store, parse_etcd_endpoints
from apiserver.storage.interface import StorageError
from apiserver.storage.keys import prefix_end, prefix_end_str, range_start
from apiserver.storage.sqlite import SQLiteStore


def test_prefix_end_increments_the_last_byte():
    assert prefix_end(b"/registry/pods/") == b"/registry/pods0"


def test_prefix_end_drops_trailing_ff_bytes():
    assert prefix_end(b"a\xff\xff") == b"b"


def test_prefix_end_of_all_ff_or_empty_means_no_upper_bound():
    assert prefix_end(b"\xff") == b""
    assert prefix_end(b"") == b""


def test_prefix_end_str_matches_the_byte_rule_for_ascii():
    assert prefix_end_str("/registry/pods/") == "/registry/pods0"
    assert prefix_end_str("") == ""


def test_range_start_uses_a_start_key_only_when_it_is_past_the_prefix():
    assert range_start("/p/", "") == "/p/"
    assert range_start("/p/", "/p/b") == "/p/b"
    assert range_start("/p/", "/a") == "/p/"


def test_etcd_endpoints_parse_into_host_port_pairs():
    assert parse_etcd_endpoints("etcd://127.0.0.1:2379,10.0.0.2:32379") == [
        ("127.0.0.1", 2379),
        ("10.0.0.2", 32379),
    ]
    assert parse_etcd_endpoints("etcd://[::1]:2379") == [("::1", 2379)]


@pytest.mark.parametrize("bad", ["etcd://", "etcd://host", "etcd://host:0", "etcd://host:x", "etcd://:2379"])
def test_malformed_etcd_endpoints_are_refused_with_the_culprit_named(bad):
    with pytest.raises(StorageError, match="bad etcd endpoint"):
        parse_etcd_endpoints(bad)


def test_open_store_picks_the_backend_from_the_datastore_value(tmp_path: Path):
    sqlite = open_store("sqlite", tmp_path)
    assert isinstance(sqlite, SQLiteStore)
    assert Path(sqlite.path).parent == tmp_path
    assert isinstance(open_store("etcd://127.0.0.1:2379", tmp_path), EtcdStore)


def test_open_store_refuses_an_unknown_datastore(tmp_path: Path):
    with pytest.raises(StorageError, match="unknown datastore"):
        open_store("mysql://x", tmp_path)


def test_grpc_target_lists_every_endpoint_so_the_channel_can_fail_over():
    assert grpc_target([("127.0.0.1", 1), ("127.0.0.2", 2)]) == "ipv4:127.0.0.1:1,127.0.0.2:2"
    assert grpc_target([("::1", 3)]) == "ipv6:[::1]:3"
