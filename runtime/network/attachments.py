"""The record of each sandbox's network attachment, one JSON file per sandbox.

The record is what detach needs to undo an attach without asking the kernel first (the pod's
namespace may be gone by then): the pod IP, the host-side veth name and the hostPort mappings.
It also is the registry of hostPorts in use, checked for conflicts under the reservation lock.
Records are written atomically before any kernel object is made, so after a crash at any point
a detach still finds everything that may exist.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from runtime.network.errors import InvalidNetworkConfig, NetworkError
from runtime.network.ondisk import write_atomic
from runtime.network.portmap import PortMapping

SANDBOX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_sandbox_id(sandbox_id: str) -> None:
    """Sandbox ids name files and iptables comments, so they must be plain tokens."""
    if not isinstance(sandbox_id, str) or not SANDBOX_ID.match(sandbox_id):
        raise InvalidNetworkConfig(
            "validate sandbox id",
            detail=f"{sandbox_id!r} must be 1-128 characters of letters, digits, '_', '.', '-'",
        )


@dataclass(frozen=True)
class Attachment:
    sandbox_id: str
    ip: str
    host_veth: str
    netns_path: str
    port_mappings: tuple[PortMapping, ...] = field(default_factory=tuple)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "sandbox_id": self.sandbox_id,
                "ip": self.ip,
                "host_veth": self.host_veth,
                "netns_path": self.netns_path,
                "port_mappings": [m.to_dict() for m in self.port_mappings],
            },
            indent=1,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Attachment:
        data = json.loads(raw)
        return cls(
            sandbox_id=data["sandbox_id"],
            ip=data["ip"],
            host_veth=data["host_veth"],
            netns_path=data.get("netns_path", ""),
            port_mappings=tuple(PortMapping.from_dict(m) for m in data.get("port_mappings", [])),
        )


class AttachmentStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise NetworkError(f"create attachment directory {directory}", e.errno) from e

    def _path(self, sandbox_id: str) -> Path:
        return self.directory / f"{sandbox_id}.json"

    def get(self, sandbox_id: str) -> Attachment | None:
        try:
            return Attachment.from_json(self._path(sandbox_id).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as e:
            raise NetworkError(
                f"read attachment record of {sandbox_id}", getattr(e, "errno", None), detail=str(e)
            ) from e

    def put(self, attachment: Attachment) -> None:
        try:
            write_atomic(self._path(attachment.sandbox_id), attachment.to_json(), durable=False)
        except OSError as e:
            raise NetworkError(f"write attachment record of {attachment.sandbox_id}", e.errno) from e

    def delete(self, sandbox_id: str) -> None:
        try:
            os.unlink(self._path(sandbox_id))
        except FileNotFoundError:
            pass
        except OSError as e:
            raise NetworkError(f"delete attachment record of {sandbox_id}", e.errno) from e

    def all(self) -> list[Attachment]:
        result = []
        for path in sorted(self.directory.glob("*.json")):
            attachment = self.get(path.name[: -len(".json")])
            if attachment is not None:
                result.append(attachment)
        return result
