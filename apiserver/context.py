"""The configuration of one apiserver and the long-lived parts every handler shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apiserver.allocation import NodeCIDRAllocator, ServiceAllocator
from apiserver.object_store import ObjectStore
from apiserver.storage.interface import Store
from apiserver.watch_cache import WatchCache


@dataclass
class ServerConfig:
    data_dir: Path
    datastore: str = "sqlite"
    bind: str = "127.0.0.1"
    advertise_address: str = ""  # the IP put in the kubernetes Endpoints; default: bind (or loopback)
    port: int = 6443
    service_cidr: str = "10.96.0.0/12"
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask: int = 24
    bookmark_interval: float = 60.0  # seconds between BOOKMARK events on an idle watch
    compaction_interval: float = 300.0  # 0 = never compact
    watch_cache_capacity: int = 2048
    max_watch_seconds: int = 1800  # when a watch asks for no timeout
    repair_delay: float = 30.0  # seconds between the two passes that free leaked allocations; 0 = off

    @property
    def kubeconfig_path(self) -> Path:
        return Path(self.data_dir) / "kubeconfig"


class APIContext:
    """Store, object layer, watch cache and allocators of one running apiserver."""

    def __init__(self, config: ServerConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.objects = ObjectStore(store)
        self.cache = WatchCache(store, config.watch_cache_capacity)
        self.services = ServiceAllocator(store, config.service_cidr)
        self.nodes = NodeCIDRAllocator(store, config.cluster_cidr, config.node_cidr_mask)
        self.ready = False
