"""The record of each sandbox's network attachment, one JSON file per sandbox.

The record is what detach needs to undo an attach without asking the kernel first (the pod's
namespace may be gone by then): the pod IP, the host-side veth name and the hostPort mappings.
It also is the registry of hostPorts in use, checked for conflicts under the reservation lock.
Records are written atomically before any kernel object is made, so after a crash at any point
a detach still finds everything that may exist. They are not flushed, so a machine crash may
tear one: a record that does not parse is set aside (renamed with ``.unreadable``), and the
others still serve; its sandbox is detached by name.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from runtime.network.errors import InvalidNetworkConfig, NetworkError, UnreadableAttachment
from runtime.network.ondisk import write_atomic
from runtime.network.portmap import PortMapping

UNREADABLE_SUFFIX = ".unreadable"
log = logging.getLogger(__name__)
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

    def _aside_path(self, sandbox_id: str) -> Path:
        return self.directory / f"{sandbox_id}.json{UNREADABLE_SUFFIX}"

    def get(self, sandbox_id: str) -> Attachment | None:
        """The record, None when there is none; ``UnreadableAttachment`` (once: the record is
        set aside) when it does not parse."""
        path = self._path(sandbox_id)
        try:
            return Attachment.from_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except OSError as e:
            raise NetworkError(f"read attachment record of {sandbox_id}", e.errno, detail=str(e)) from e
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            aside = self._aside_path(sandbox_id)
            try:
                os.replace(path, aside)
            except FileNotFoundError:
                pass  # another caller set it aside first
            log.error("attachment record unreadable, set aside", extra={"sandbox_id": sandbox_id, "kept_as": str(aside)})
            raise UnreadableAttachment(f"read attachment record of {sandbox_id}", detail=f"it does not parse ({e})") from e

    def put(self, attachment: Attachment) -> None:
        try:
            write_atomic(self._path(attachment.sandbox_id), attachment.to_json(), durable=False)
        except OSError as e:
            raise NetworkError(f"write attachment record of {attachment.sandbox_id}", e.errno) from e

    def delete(self, sandbox_id: str) -> None:
        _remove(self._path(sandbox_id), f"delete attachment record of {sandbox_id}")

    def set_aside(self) -> list[str]:
        """The sandboxes whose record was set aside as unreadable."""
        return sorted(p.name[: -len(".json" + UNREADABLE_SUFFIX)] for p in self.directory.glob("*.json" + UNREADABLE_SUFFIX))

    def was_set_aside(self, sandbox_id: str) -> bool:
        return self._aside_path(sandbox_id).exists()

    def forget_set_aside(self, sandbox_id: str) -> None:
        _remove(self._aside_path(sandbox_id), f"delete the set-aside attachment record of {sandbox_id}")

    def all(self) -> list[Attachment]:
        """Every readable record; one that does not parse is set aside and left out."""
        result = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                attachment = self.get(path.name[: -len(".json")])
            except UnreadableAttachment:
                continue
            if attachment is not None:
                result.append(attachment)
        return result


def _remove(path: Path, doing: str) -> None:
    """Remove a record file; one already gone is fine, any other failure says what was being done."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise NetworkError(doing, e.errno) from e

