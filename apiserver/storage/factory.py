"""Turn a ``--datastore`` value into a Store, so callers never import a backend directly."""

from __future__ import annotations

from pathlib import Path

from apiserver.storage.interface import StorageError, Store


def parse_etcd_endpoints(datastore: str) -> list[tuple[str, int]]:
    """Split "etcd://host:port[,host:port...]" into (host, port) pairs, rejecting malformed ones."""
    rest = datastore.removeprefix("etcd://")
    endpoints: list[tuple[str, int]] = []
    for part in rest.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StorageError(f"bad etcd endpoint {part!r} in {datastore!r}: want host:port")
        endpoints.append((host.strip("[]"), int(port)))
    return endpoints


def open_store(datastore: str, data_dir: Path) -> Store:
    if datastore == "sqlite":
        from apiserver.storage.sqlite import SQLiteStore

        # No background compaction here: the apiserver compacts, as it does on etcd.
        return SQLiteStore(Path(data_dir) / "state.db", compact_interval=None)
    if datastore.startswith("etcd://"):
        from apiserver.storage.etcd import EtcdStore

        return EtcdStore(parse_etcd_endpoints(datastore))
    raise StorageError(f"unknown datastore {datastore!r}: use 'sqlite' or 'etcd://host:port[,host:port]'")
