"""Everything the sandbox and container managers share: stores, fork server, cgroups, images.

Built once by the daemon. Tests build one over a temporary root with the real kernel; the
pieces are plain attributes so a unit test can replace any of them with a fake.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.cgroups import CgroupDriver, driver_for_host
from runtime.forkserver_client import ForkServerClient
from runtime.linux.apparmor import AppArmorHost
from runtime.linux.syscalls import LibcKernel, last_capability
from runtime.state.store import RecordStore

log = logging.getLogger(__name__)


@dataclass
class RuntimeContext:
    root: Path
    sandboxes: RecordStore
    containers: RecordStore
    forkserver: ForkServerClient
    cgroups: CgroupDriver
    cgroup_root: str
    kernel: LibcKernel
    images: Any = None
    network: Any = None
    last_cap: int = field(default_factory=last_capability)
    apparmor: AppArmorHost = field(default_factory=lambda: AppArmorHost(enabled=False))

    @classmethod
    def create(cls, root: Path, cgroup_root: str = "/kyb", images: Any = None, network: Any = None) -> RuntimeContext:
        run = root / "run"
        run.mkdir(parents=True, exist_ok=True)
        run.chmod(0o700)
        return cls(
            root=root,
            sandboxes=RecordStore(root / "sandboxes", "sandbox"),
            containers=RecordStore(root / "containers", "container"),
            forkserver=ForkServerClient(str(run / "forkserver.sock"), str(run / "forkserver.log")),
            cgroups=driver_for_host(),
            cgroup_root="/" + cgroup_root.strip("/"),
            kernel=LibcKernel(),
            images=images,
            network=network,
            apparmor=AppArmorHost.detect(),
        )
