"""Records on disk -> CRI messages. Records keep the CRI configs as JSON (json_format), so
metadata, labels, annotations, image specs and mounts round-trip exactly as the caller sent them.
"""

from __future__ import annotations

import json

from google.protobuf import json_format

from cri import api_pb2


def sandbox_config(record: dict) -> api_pb2.PodSandboxConfig:
    return json_format.ParseDict(record["config"], api_pb2.PodSandboxConfig(), ignore_unknown_fields=True)


def container_config(record: dict) -> api_pb2.ContainerConfig:
    return json_format.ParseDict(record["config"], api_pb2.ContainerConfig(), ignore_unknown_fields=True)


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
    network = api_pb2.PodSandboxNetworkStatus(ip=record.get("ip", ""))
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
    mounts = list(config.mounts)
    resolved = [m.get("image_id", "") for m in (record.get("spec") or {}).get("mounts", [])]
    if len(resolved) != len(mounts):
        return mounts
    for mount, image_id in zip(mounts, resolved, strict=True):
        if mount.image.image and image_id and mount.image.image != image_id:
            if not mount.image.user_specified_image:
                mount.image.user_specified_image = mount.image.image
            mount.image.image = image_id
    return mounts


def container_status(record: dict) -> api_pb2.ContainerStatus:
    config = container_config(record)
    resources = json_format.ParseDict(record.get("resources", {}), api_pb2.LinuxContainerResources(),
                                      ignore_unknown_fields=True)
    # The identity the process really got (resolved in the container's /etc/passwd at start);
    # before the start, only what the config asked for numerically is known.
    resolved = record.get("resolved_user")
    if resolved:
        linux_user = api_pb2.LinuxContainerUser(uid=resolved["uid"], gid=resolved["gid"],
                                                supplemental_groups=resolved["additional_gids"])
    else:
        asked = record.get("user", {})
        linux_user = api_pb2.LinuxContainerUser(uid=int(asked.get("uid", 0) or 0), gid=int(asked.get("gid", 0) or 0))
    return api_pb2.ContainerStatus(
        id=record["id"],
        metadata=config.metadata,
        state=api_pb2.ContainerState.Value(record["state"]),
        created_at=record["created_at"],
        started_at=record.get("started_at", 0),
        finished_at=record.get("finished_at", 0),
        exit_code=record.get("exit_code", 0),
        image=config.image,
        image_ref=record.get("image_ref", ""),
        image_id=record.get("image_id", ""),
        reason=record.get("reason", ""),
        message=record.get("message", ""),
        labels=config.labels,
        annotations=config.annotations,
        mounts=_reported_mounts(config, record),
        log_path=record.get("log_path", ""),
        resources=api_pb2.ContainerResources(linux=resources),
        user=api_pb2.ContainerUser(linux=linux_user),
        stop_signal=config.stop_signal,
    )


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
