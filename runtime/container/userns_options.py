"""What the kubelet asks for a pod with ``hostUsers: false`` (KEP-127), checked as containerd checks it.

``NamespaceOption.userns_options`` absent or mode NODE means the host's user namespace; mode
POD means the pod gets a user namespace of its own, shared by all its containers, with exactly
one UID and one GID mapping (``IDMapping`` host_id, container_id, length). Like containerd we
take one line per map (it is what the kubelet sends: one range of 65536 or a multiple), and the
range must map container ID 0: a pod whose root is unmapped cannot own its own files. We also
refuse a range that maps host ID 0 (the pod's users would include host root, which is what a user
namespace is meant to prevent) and ranges that overflow the 32-bit ID space. CONTAINER and TARGET
are not user namespace modes. A pod in its own user namespace cannot share the host's network,
pid or IPC namespace (Kubernetes forbids hostUsers: false with hostNetwork, hostPID, hostIPC);
its containers must ask for the same user namespace as their sandbox, and none of their volumes
may ask for Bidirectional propagation (see ``check_mounts_for_pod``).

Mappings leave here as plain data, ``{"uids": [...], "gids": [...]}`` with each mapping a dict
``{"container_id", "host_id", "length"}``, the shape the holder and the shim take. A volume
``Mount`` may carry its own ``uidMappings``/``gidMappings``: then the runtime bind-mounts it
idmapped with them (as containerd passes them to the OCI runtime); those may have several lines.
"""

from __future__ import annotations

from collections.abc import Iterable

from cri import api_pb2
from runtime.errors import InvalidArgument
from runtime.linux.idmap import MAX_ID

MAX_MOUNT_MAP_LINES = 340  # the kernel's limit for one uid_map


def as_dicts(mappings: Iterable[api_pb2.IDMapping]) -> list[dict]:
    return [{"container_id": m.container_id, "host_id": m.host_id, "length": m.length} for m in mappings]


def check_ranges(mappings: list[dict], what: str) -> None:
    """Each line maps at least one ID, stays inside the 32-bit ID space, and no two lines overlap
    inside or outside (the kernel would refuse the map; say so before anything is made)."""
    for m in mappings:
        if m["length"] < 1:
            raise InvalidArgument(f"{what}: mapping {_show(m)} has length 0; it must map at least one ID")
        for side in ("container_id", "host_id"):
            if m[side] + m["length"] - 1 > MAX_ID:
                raise InvalidArgument(f"{what}: mapping {_show(m)} runs past the largest ID {MAX_ID}")
    for side in ("container_id", "host_id"):
        spans = sorted((m[side], m[side] + m["length"], m) for m in mappings)
        for (_, end, first), (start, _, second) in zip(spans, spans[1:], strict=False):
            if start < end:
                raise InvalidArgument(f"{what}: mappings {_show(first)} and {_show(second)} overlap")


def _show(m: dict) -> str:
    return f"container {m['container_id']} -> host {m['host_id']} (length {m['length']})"


def _pod_map(mappings: Iterable[api_pb2.IDMapping], kind: str, where: str) -> list[dict]:
    lines = as_dicts(mappings)
    what = f"{where}: user namespace {kind} mapping"
    if len(lines) != 1:
        raise InvalidArgument(f"{what}: exactly one mapping line is supported, got {len(lines)}")
    check_ranges(lines, what)
    line = lines[0]
    if line["container_id"] != 0:
        raise InvalidArgument(f"{what}: {_show(line)} does not map container ID 0; the pod's root must be mapped")
    if line["host_id"] == 0:
        raise InvalidArgument(f"{what}: {_show(line)} maps host ID 0; a pod's user namespace must not include host root")
    return lines


def pod_user_namespace(options: api_pb2.NamespaceOption, where: str) -> dict | None:
    """The pod's user namespace maps, or None for the host's. Raises InvalidArgument."""
    if not options.HasField("userns_options"):
        return None
    userns = options.userns_options
    mode = userns.mode
    if mode == api_pb2.NODE:
        if userns.uids or userns.gids:
            raise InvalidArgument(f"{where}: user namespace mode NODE takes no mappings "
                                  f"(got {len(userns.uids)} UID and {len(userns.gids)} GID mappings)")
        return None
    if mode != api_pb2.POD:
        name = api_pb2.NamespaceMode.Name(mode) if mode in api_pb2.NamespaceMode.values() else str(mode)
        raise InvalidArgument(f"{where}: user namespace mode {name} is not supported; use POD with mappings "
                              "(hostUsers: false) or NODE")
    if not userns.uids or not userns.gids:
        raise InvalidArgument(f"{where}: user namespace mode POD needs one UID and one GID mapping "
                              f"(got {len(userns.uids)} and {len(userns.gids)})")
    mapping = {"uids": _pod_map(userns.uids, "UID", where), "gids": _pod_map(userns.gids, "GID", where)}
    for field in ("network", "pid", "ipc"):
        if getattr(options, field) == api_pb2.NODE:
            raise InvalidArgument(f"{where}: a pod in its own user namespace cannot use the host's {field} "
                                  "namespace (hostUsers: false excludes hostNetwork, hostPID and hostIPC)")
    return mapping


def check_same_as_sandbox(container: dict | None, sandbox: dict | None) -> None:
    """A container joins its pod's user namespace: it must ask for exactly that one."""
    def show(m: dict | None) -> str:
        return "the host's" if m is None else f"UIDs {m['uids']}, GIDs {m['gids']}"
    ours = None if container is None else {"uids": container["uids"], "gids": container["gids"]}
    theirs = None if sandbox is None else {"uids": sandbox["uids"], "gids": sandbox["gids"]}
    if ours != theirs:
        raise InvalidArgument(f"container: user namespace ({show(ours)}) differs from its sandbox's ({show(theirs)})")


def mount_idmap(mount: api_pb2.Mount) -> dict | None:
    """The idmapping a volume mount asks for, or None. Both maps or neither, as runc requires."""
    uids, gids = as_dicts(mount.uidMappings), as_dicts(mount.gidMappings)
    if not uids and not gids:
        return None
    what = f"mount {mount.container_path!r}"
    if not uids or not gids:
        raise InvalidArgument(f"{what}: an idmapped mount needs both uidMappings and gidMappings "
                              f"(got {len(uids)} and {len(gids)})")
    for kind, lines in (("UID", uids), ("GID", gids)):
        if len(lines) > MAX_MOUNT_MAP_LINES:
            raise InvalidArgument(f"{what}: at most {MAX_MOUNT_MAP_LINES} {kind} mapping lines, got {len(lines)}")
        check_ranges(lines, f"{what} {kind} mapping")
    return {"uids": uids, "gids": gids}


def check_mounts_for_pod(mounts: list[dict], pod: dict | None) -> None:
    """Bidirectional propagation cannot work from a pod's own user namespace: its containers'
    mount namespaces are less privileged than the host's, and there the kernel turns every
    shared mount into a slave, so mounts made inside would never reach the host. Say so."""
    if pod is None:
        return
    for m in mounts:
        if m.get("propagation") == "rshared":
            raise InvalidArgument(f"mount {m['destination']!r}: Bidirectional propagation is not possible in a pod "
                                  "with its own user namespace (hostUsers: false); use HostToContainer")
