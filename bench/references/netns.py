"""Named network namespaces for reference daemons, made and removed with iproute2.

Daemons are started inside them with `nsenter --net=/run/netns/NAME` (never `ip netns exec`,
which also remounts /sys and so hides the cgroup mounts a runtime needs). Names start with
`kybt-` plus a random suffix so parallel runs never collide and leftovers are recognisable.
"""

from __future__ import annotations

import os
import secrets
import subprocess

NETNS_DIR = "/run/netns"


class NetnsError(RuntimeError):
    """An `ip netns` command failed; the message carries its stderr."""


def unique_name(prefix: str) -> str:
    """`kybt-<prefix>-<6 hex>`, short enough for interface names derived from it."""
    return f"kybt-{prefix}-{secrets.token_hex(3)}"


def create(name: str) -> str:
    """Create the namespace with its loopback up; return its /run/netns path."""
    for cmd in (["ip", "netns", "add", name], ["ip", "-n", name, "link", "set", "lo", "up"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise NetnsError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return os.path.join(NETNS_DIR, name)


def delete(name: str) -> None:
    """Remove the namespace if it exists (its interfaces go with it)."""
    if os.path.exists(os.path.join(NETNS_DIR, name)):
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def nsenter_prefix(name: str) -> list[str]:
    """The argv prefix that runs a command in the namespace's network only."""
    return ["nsenter", f"--net={os.path.join(NETNS_DIR, name)}"]
