"""Records on disk -> CRI messages. Records keep the CRI configs as JSON (json_format), so
metadata, labels, annotations, image specs and mounts round-trip exactly as the caller sent them.

A config never changes once its sandbox or container is created, and json_format's parser is
slow (a status built for every container of a pod on every event parsed each config again), so
parsed configs are kept in a bounded cache keyed by the config's JSON text. So is the part of a
container's status that follows from its config and create-time record (keyed by the container's
id and creation time, which no other container shares). They are shared: callers read them and
copy what they change.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from cri import api_pb2

CONFIG_CACHE_SIZE = 4096
_configs: OrderedDict[tuple, Message] = OrderedDict()
_configs_lock = threading.Lock()
M = TypeVar("M", bound=Message)


def _cached(key: tuple, build: Callable[[], M]) -> M:
    """The message kept under ``key``, built and kept (the least recently used dropped) if absent."""
    with _configs_lock:
        cached = _configs.get(key)
        if cached is not None:
            _configs.move_to_end(key)
            return cached  # type: ignore[return-value]
    message = build()
    with _configs_lock:
        _configs[key] = message
        while len(_configs) > CONFIG_CACHE_SIZE:
            _configs.popitem(last=False)
    return message


def _parsed_config(record: dict, message_type: type[M]) -> M:
    # Keyed by the config's own JSON: exact whatever the record, and still a fraction of a parse.
    key = (message_type.DESCRIPTOR.full_name, json.dumps(record["config"], sort_keys=True))
    return _cached(key, lambda: json_format.ParseDict(record["config"], message_type(), ignore_unknown_fields=True))


def sandbox_config(record: dict) -> api_pb2.PodSandboxConfig:
    """The sandbox's config as created; shared, do not change it."""
    return _parsed_config(record, api_pb2.PodSandboxConfig)


def container_config(record: dict) -> api_pb2.ContainerConfig:
    """The container's config as created; shared, do not change it."""
    return _parsed_config(record, api_pb2.ContainerConfig)


def pod_sandbox(record: dict) -> api_pb2.PodSandbox:
    config = sandbox_config(record)
    return api_pb2.PodSandbox(
        id=record["id"],
        metadata=config.metadata,
        state=api_pb2.PodSandboxState.Value(record["state"]),
        created_at=record["created_at"],
        labels=config.labels,
        annotations=config.annotations,
        runtime_handler=record.get("runtime_handler", ""),
    )


def pod_sandbox_status(record: dict) -> api_pb2.PodSandboxStatus:
    config = sandbox_config(record)
    options = config.linux.security_context.namespace_options
    # A stopped sandbox's address went back to the pool and may be another pod's now: none is
    # reported, as containerd reports none once the network namespace is closed.
    ready = record["state"] == api_pb2.PodSandboxState.Name(api_pb2.SANDBOX_READY)
    network = api_pb2.PodSandboxNetworkStatus(ip=record.get("ip", "") if ready else "")
    return api_pb2.PodSandboxStatus(
        id=record["id"],
        metadata=config.metadata,
        state=api_pb2.PodSandboxState.Value(record["state"]),
        created_at=record["created_at"],
        network=network,
        linux=api_pb2.LinuxPodSandboxStatus(namespaces=api_pb2.Namespace(options=options)),
        labels=config.labels,
        annotations=config.annotations,
        runtime_handler=record.get("runtime_handler", ""),
    )


def sandbox_info(record: dict) -> dict[str, str]:
    info = {
        "pid": record["holder"]["pid"],
        "hostname": record.get("hostname"),
        "namespaces": record.get("namespaces"),
        "pidNamespace": record.get("pid_ns"),
        "cgroup": record.get("cgroup"),
        "shm": record.get("shm"),
        "hostNetwork": record.get("host_network"),
        "config": record["config"],
    }
    return {"info": json.dumps(info)}


def container(record: dict) -> api_pb2.Container:
    config = container_config(record)
    return api_pb2.Container(
        id=record["id"],
        pod_sandbox_id=record["sandbox_id"],
        metadata=config.metadata,
        image=config.image,
        image_ref=record.get("image_ref", ""),
        image_id=record.get("image_id", ""),
        state=api_pb2.ContainerState.Value(record["state"]),
        created_at=record["created_at"],
        labels=config.labels,
        annotations=config.annotations,
    )


def _reported_mounts(config: api_pb2.ContainerConfig, record: dict) -> list[api_pb2.Mount]:
    """The config's mounts, an image volume's image named by the id of the image mounted: the
    kubelet's image garbage collector counts the image in use by that id (as CRI-O reports it);
    the reference asked for stays in ``user_specified_image``."""
    mounts = [api_pb2.Mount() for _ in config.mounts]
    for copy, mount in zip(mounts, config.mounts, strict=True):
        copy.CopyFrom(mount)  # the config is shared (cached): change copies only
    resolved = [m.get("image_id", "") for m in (record.get("spec") or {}).get("mounts", [])]
    if len(resolved) != len(mounts):
        return mounts
    for mount, image_id in zip(mounts, resolved, strict=True):
        if mount.image.image and image_id and mount.image.image != image_id:
            if not mount.image.user_specified_image:
                mount.image.user_specified_image = mount.image.image
            mount.image.image = image_id
    return mounts


def _fixed_status(record: dict) -> api_pb2.ContainerStatus:
    """The part of a container's status that its record never changes after create: built
    once per container (every event carries the status of each of the pod's containers)."""
    key = ("status", record["id"], record["created_at"], record.get("image_ref", ""), record.get("image_id", ""),
           record.get("log_path", ""))
    return _cached(key, lambda: _build_fixed_status(record))


def _build_fixed_status(record: dict) -> api_pb2.ContainerStatus:
    config = container_config(record)
    return api_pb2.ContainerStatus(
        id=record["id"],
        metadata=config.metadata,
        created_at=record["created_at"],
        image=config.image,
        image_ref=record.get("image_ref", ""),
        image_id=record.get("image_id", ""),
        labels=config.labels,
        annotations=config.annotations,
        mounts=_reported_mounts(config, record),
        log_path=record.get("log_path", ""),
        stop_signal=config.stop_signal,
    )


def _resources(record: dict) -> api_pb2.LinuxContainerResources:
    """The container's resources as last updated (UpdateContainerResources changes them)."""
    raw = record.get("resources", {})
    key = ("resources", record["id"], json.dumps(raw, sort_keys=True))
    return _cached(key, lambda: json_format.ParseDict(raw, api_pb2.LinuxContainerResources(), ignore_unknown_fields=True))


def container_status(record: dict) -> api_pb2.ContainerStatus:
    # The identity the process really got (resolved in the container's /etc/passwd at start);
    # before the start, only what the config asked for numerically is known.
    resolved = record.get("resolved_user")
    if resolved:
        linux_user = api_pb2.LinuxContainerUser(uid=resolved["uid"], gid=resolved["gid"],
                                                supplemental_groups=resolved["additional_gids"])
    else:
        asked = record.get("user", {})
        linux_user = api_pb2.LinuxContainerUser(uid=int(asked.get("uid", 0) or 0), gid=int(asked.get("gid", 0) or 0))
    status = api_pb2.ContainerStatus()
    status.CopyFrom(_fixed_status(record))
    status.state = api_pb2.ContainerState.Value(record["state"])
    status.started_at = record.get("started_at", 0)
    status.finished_at = record.get("finished_at", 0)
    status.exit_code = record.get("exit_code", 0)
    status.reason = record.get("reason", "")
    status.message = record.get("message", "")
    status.resources.linux.CopyFrom(_resources(record))
    status.user.linux.CopyFrom(linux_user)
    return status


def container_info(record: dict, spec: dict | None) -> dict[str, str]:
    info = {
        "sandboxID": record["sandbox_id"],
        "pid": record.get("pid", 0),
        "shimPid": record.get("shim_pid", 0),
        "cgroup": record.get("cgroup"),
        "runtimeSpec": spec,
        "config": record["config"],
    }
    return {"info": json.dumps(info)}


def labels_match(labels: dict[str, str] | object, selector: dict[str, str] | object) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())  # type: ignore[attr-defined]
