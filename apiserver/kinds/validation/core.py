"""Validation of the core/v1 kinds other than Pod: Service, ConfigMap, Secret, Namespace, Node, ..."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Any

from apiserver.kinds.validation.common import (
    get_path,
    port_in_range,
    validate_enum,
    validate_ip,
    validate_labels,
    validate_port_num_or_name,
    validate_quantity,
    validate_resource_list,
)
from apiserver.kinds.validation.errors import (
    Cause,
    duplicate,
    forbidden,
    immutable,
    invalid,
    required,
    too_long,
)
from apiserver.kinds.validation.pod import VOLUME_SOURCES
from client.labels import regex_error, validate_dns1123_label, validate_dns1123_subdomain

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
SERVICE_PROTOCOLS = ("SCTP", "TCP", "UDP")
SESSION_AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILY_POLICIES = ("SingleStack", "PreferDualStack", "RequireDualStack")
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
VOLUME_MODES = ("Block", "Filesystem")
MAX_CONFIG_SIZE = 1024 * 1024

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIG_KEY_ERR = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"


def config_key_errors(key: str) -> list[str]:
    errs = []
    if len(key) > 253:
        errs.append("must be no more than 253 characters")
    if not _CONFIG_KEY.match(key):
        errs.append(regex_error(CONFIG_KEY_ERR, "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name"))
    if key in (".", ".."):
        errs.append(f"must not be '{key}'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


# ---------------------------------------------------------------------------------------------
# Service


def validate_service(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    causes: list[Cause] = []
    svc_type = spec.get("type") or "ClusterIP"
    causes += validate_enum(spec.get("type"), "spec.type", SERVICE_TYPES, allow_empty=True)
    cluster_ip = spec.get("clusterIP") or ""
    headless = cluster_ip == "None"
    ports = spec.get("ports") or []
    if svc_type == "ExternalName":
        name = spec.get("externalName") or ""
        if not name:
            causes.append(required("spec.externalName"))
        else:
            causes += [invalid("spec.externalName", name, m)
                       for m in validate_dns1123_subdomain(name.rstrip("."))]
        if cluster_ip:
            causes.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
    elif not ports and not headless:
        causes.append(required("spec.ports"))
    if cluster_ip and not headless and validate_ip(cluster_ip, ""):
        causes.append(invalid("spec.clusterIPs[0]", cluster_ip, "must be empty, 'None', or a valid IP address"))
    names: set[str] = set()
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports if isinstance(ports, list) else []):
        f = f"spec.ports[{i}]"
        if not isinstance(port, dict):
            causes.append(invalid(f, port, "must be an object"))
            continue
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            causes.append(required(f"{f}.name"))
        elif name:
            causes += [invalid(f"{f}.name", name, m) for m in _service_port_name_errors(name)]
            if name in names:
                causes.append(duplicate(f"{f}.name", name))
            names.add(name)
        causes += port_in_range(port.get("port"), f"{f}.port")
        causes += validate_enum(port.get("protocol"), f"{f}.protocol", SERVICE_PROTOCOLS)
        key = (port.get("port"), port.get("protocol"))
        if key in seen:
            causes.append(duplicate(f, {"port": key[0], "protocol": key[1]}))
        seen.add(key)
        if port.get("targetPort") is not None and svc_type != "ExternalName":
            causes += validate_port_num_or_name(port.get("targetPort"), f"{f}.targetPort")
        node_port = port.get("nodePort")
        if node_port not in (None, 0):
            if svc_type not in ("NodePort", "LoadBalancer"):
                causes.append(forbidden(f"{f}.nodePort", f"may not be used when `type` is '{svc_type}'"))
            else:
                causes += port_in_range(node_port, f"{f}.nodePort")
    causes += validate_enum(spec.get("sessionAffinity"), "spec.sessionAffinity", SESSION_AFFINITIES,
                            allow_empty=True)
    timeout = get_path(spec, "sessionAffinityConfig", "clientIP", "timeoutSeconds")
    if timeout is not None and (not isinstance(timeout, int) or not 0 < timeout <= 86400):
        causes.append(invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                              "must be greater than 0 and less than 86400"))
    causes += validate_labels(spec.get("selector"), "spec.selector")
    if spec.get("externalTrafficPolicy"):
        if svc_type not in ("NodePort", "LoadBalancer"):
            causes.append(invalid("spec.externalTrafficPolicy", spec["externalTrafficPolicy"],
                                  "may only be set for services with type NodePort or LoadBalancer"))
        else:
            causes += validate_enum(spec["externalTrafficPolicy"], "spec.externalTrafficPolicy", TRAFFIC_POLICIES)
    causes += validate_enum(spec.get("internalTrafficPolicy"), "spec.internalTrafficPolicy", TRAFFIC_POLICIES,
                            allow_empty=True)
    causes += validate_enum(spec.get("ipFamilyPolicy"), "spec.ipFamilyPolicy", IP_FAMILY_POLICIES,
                            allow_empty=True)
    for i, ip in enumerate(spec.get("externalIPs") or []):
        causes += validate_ip(ip, f"spec.externalIPs[{i}]")
    if old is not None:
        old_ip = get_path(old, "spec", "clusterIP") or ""
        old_type = get_path(old, "spec", "type") or "ClusterIP"
        if old_ip and old_type != "ExternalName" and svc_type != "ExternalName" and cluster_ip != old_ip:
            causes.append(immutable("spec.clusterIPs[0]", cluster_ip))
    return causes


def _service_port_name_errors(name: str) -> list[str]:
    # Service port names are DNS labels; the IANA rules apply only to container ports.
    return validate_dns1123_label(name)


# ---------------------------------------------------------------------------------------------
# ConfigMap and Secret


def _validate_data_keys(obj: dict, fields: tuple[str, ...]) -> tuple[list[Cause], int]:
    causes: list[Cause] = []
    seen: set[str] = set()
    size = 0
    for field in fields:
        data = obj.get(field)
        if data is None:
            continue
        if not isinstance(data, dict):
            causes.append(invalid(field, data, "must be a map of keys to strings"))
            continue
        for key, value in data.items():
            causes += [invalid(f"{field}[{key}]", key, m) for m in config_key_errors(key)]
            if key in seen:
                causes.append(invalid(f"{field}[{key}]", key, "duplicate of key present in " + fields[0]))
            seen.add(key)
            size += len(value) if isinstance(value, str) else 0
    return causes, size


def _validate_immutable_data(obj: dict, old: dict | None, fields: tuple[str, ...]) -> list[Cause]:
    if old is None or old.get("immutable") is not True:
        return []
    causes = []
    if obj.get("immutable") is not True:
        causes.append(forbidden("immutable", "field is immutable when `immutable` is set"))
    for field in fields:
        if (obj.get(field) or {}) != (old.get(field) or {}):
            causes.append(forbidden(field, "field is immutable when `immutable` is set"))
    return causes


def validate_config_map(obj: dict, old: dict | None) -> list[Cause]:
    causes, size = _validate_data_keys(obj, ("data", "binaryData"))
    for key, value in (obj.get("binaryData") or {}).items():
        if isinstance(value, str) and not _is_base64(value):
            causes.append(invalid(f"binaryData[{key}]", "<binary>", "must be base64-encoded"))
    if size > MAX_CONFIG_SIZE:
        causes.append(too_long("", MAX_CONFIG_SIZE))
    return causes + _validate_immutable_data(obj, old, ("data", "binaryData"))


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def validate_secret(obj: dict, old: dict | None) -> list[Cause]:
    causes, _ = _validate_data_keys(obj, ("data", "stringData"))
    size = 0
    for key, value in (obj.get("data") or {}).items():
        if isinstance(value, str):
            if not _is_base64(value):
                causes.append(invalid(f"data[{key}]", "<secret contents redacted>",
                                      "illegal base64 data in secret value"))
            size += len(value) * 3 // 4
    if size > MAX_CONFIG_SIZE:
        causes.append(too_long("data", MAX_CONFIG_SIZE))
    secret_type = obj.get("type") or "Opaque"
    keys = set(obj.get("data") or {}) | set(obj.get("stringData") or {})
    for key in _SECRET_REQUIRED_KEYS.get(secret_type, ()):
        if key not in keys:
            causes.append(required(f"data[{key}]"))
    if secret_type == "kubernetes.io/service-account-token":
        if not get_path(obj, "metadata", "annotations", "kubernetes.io/service-account.name"):
            causes.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    if secret_type == "kubernetes.io/basic-auth" and not keys & {"username", "password"}:
        causes.append(required("data[username]"))
    if secret_type == "kubernetes.io/ssh-auth" and "ssh-privatekey" not in keys:
        causes.append(required("data[ssh-privatekey]"))
    if old is not None:
        if (old.get("type") or "Opaque") != secret_type:
            causes.append(immutable("type", secret_type))
        causes += _validate_immutable_data(obj, old, ("data",))
    return causes


# ---------------------------------------------------------------------------------------------
# Namespace, Node, Endpoints, Event, ServiceAccount


def validate_namespace(obj: dict, old: dict | None) -> list[Cause]:
    causes = []
    for i, fin in enumerate(get_path(obj, "spec", "finalizers") or []):
        if not isinstance(fin, str) or not fin:
            causes.append(invalid(f"spec.finalizers[{i}]", fin, "must be a non-empty string"))
    return causes


def validate_node(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    for i, taint in enumerate(spec.get("taints") or []):
        f = f"spec.taints[{i}]"
        if not isinstance(taint, dict):
            causes.append(invalid(f, taint, "must be an object"))
            continue
        if not taint.get("key"):
            causes.append(required(f"{f}.key"))
        else:
            causes += validate_labels({taint["key"]: taint.get("value") or ""}, f"{f}.key")
        causes += validate_enum(taint.get("effect"), f"{f}.effect", ("NoExecute", "NoSchedule", "PreferNoSchedule"))
    for cidr_field in ("podCIDR",):
        cidr = spec.get(cidr_field)
        if cidr:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                causes.append(invalid(f"spec.{cidr_field}", cidr, "must be a valid CIDR"))
    if old is not None:
        old_cidr = get_path(old, "spec", "podCIDR")
        if old_cidr and spec.get("podCIDR") != old_cidr:
            causes.append(forbidden("spec.podCIDR", "node updates may not change podCIDR except from \"\" "
                                                    "to valid"))
    status = obj.get("status") or {}
    causes += validate_resource_list(status.get("capacity"), "status.capacity")
    causes += validate_resource_list(status.get("allocatable"), "status.allocatable")
    return causes


def validate_endpoints(obj: dict, old: dict | None) -> list[Cause]:
    causes: list[Cause] = []
    for i, subset in enumerate(obj.get("subsets") or []):
        f = f"subsets[{i}]"
        if not isinstance(subset, dict):
            causes.append(invalid(f, subset, "must be an object"))
            continue
        for kind in ("addresses", "notReadyAddresses"):
            for j, addr in enumerate(subset.get(kind) or []):
                causes += validate_ip((addr or {}).get("ip"), f"{f}.{kind}[{j}].ip")
        ports = subset.get("ports") or []
        for j, port in enumerate(ports):
            pf = f"{f}.ports[{j}]"
            if len(ports) > 1 and not (port or {}).get("name"):
                causes.append(required(f"{pf}.name"))
            causes += port_in_range((port or {}).get("port"), f"{pf}.port")
            causes += validate_enum((port or {}).get("protocol"), f"{pf}.protocol", SERVICE_PROTOCOLS)
    return causes


def validate_event(obj: dict, old: dict | None) -> list[Cause]:
    causes: list[Cause] = []
    involved = obj.get("involvedObject")
    if not isinstance(involved, dict):
        return [required("involvedObject")]
    ns = get_path(obj, "metadata", "namespace")
    if involved.get("namespace") and ns and involved["namespace"] != ns:
        causes.append(invalid("involvedObject.namespace", involved["namespace"],
                              "does not match event.namespace"))
    if obj.get("type") not in (None, "", "Normal", "Warning"):
        causes.append(invalid("type", obj["type"], "has invalid value"))
    return causes


def validate_service_account(obj: dict, old: dict | None) -> list[Cause]:
    return []


# ---------------------------------------------------------------------------------------------
# storage and quotas


def validate_persistent_volume(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    causes: list[Cause] = []
    modes = spec.get("accessModes") or []
    if not modes:
        causes.append(required("spec.accessModes"))
    for mode in modes:
        causes += validate_enum(mode, "spec.accessModes", ACCESS_MODES)
    capacity = spec.get("capacity") or {}
    if "storage" not in capacity:
        causes.append(required("spec.capacity", "must specify storage"))
    causes += validate_resource_list(capacity, "spec.capacity")
    causes += validate_enum(spec.get("persistentVolumeReclaimPolicy"), "spec.persistentVolumeReclaimPolicy",
                            RECLAIM_POLICIES, allow_empty=True)
    causes += validate_enum(spec.get("volumeMode"), "spec.volumeMode", VOLUME_MODES, allow_empty=True)
    sources = [s for s in VOLUME_SOURCES + ("local",) if spec.get(s) is not None]
    if not sources:
        causes.append(required("spec", "must specify a volume type"))
    elif len(sources) > 1:
        causes.append(forbidden(f"spec.{sources[1]}", "may not specify more than 1 volume type"))
    if isinstance(spec.get("hostPath"), dict) and not spec["hostPath"].get("path"):
        causes.append(required("spec.hostPath.path"))
    return causes


def validate_persistent_volume_claim(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    causes: list[Cause] = []
    if not spec.get("accessModes"):
        causes.append(required("spec.accessModes", "at least 1 access mode is required"))
    for mode in spec.get("accessModes") or []:
        causes += validate_enum(mode, "spec.accessModes", ACCESS_MODES)
    requests = get_path(spec, "resources", "requests") or {}
    if "storage" not in requests:
        causes.append(required("spec.resources[storage]"))
    else:
        causes += validate_quantity(requests["storage"], "spec.resources[storage]")
    causes += validate_enum(spec.get("volumeMode"), "spec.volumeMode", VOLUME_MODES, allow_empty=True)
    if old is not None and old.get("spec"):
        # Upstream lets a claim grow its storage request and a binder fill in volumeName once.
        ignored = {"resources"} if old["spec"].get("volumeName") else {"resources", "volumeName"}
        old_spec = {k: v for k, v in old["spec"].items() if k not in ignored}
        new_spec = {k: v for k, v in spec.items() if k not in ignored}
        if new_spec != old_spec:
            causes.append(forbidden("spec", "spec is immutable after creation except resources.requests and "
                                            "volumeAttributesClassName for bound claims"))
    return causes


def validate_resource_quota(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = validate_resource_list(spec.get("hard"), "spec.hard")
    for i, scope in enumerate(spec.get("scopes") or []):
        causes += validate_enum(scope, f"spec.scopes[{i}]", (
            "BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass",
            "Terminating"))
    return causes


def validate_limit_range(obj: dict, old: dict | None) -> list[Cause]:
    causes: list[Cause] = []
    for i, item in enumerate(get_path(obj, "spec", "limits") or []):
        f = f"spec.limits[{i}]"
        if not isinstance(item, dict):
            causes.append(invalid(f, item, "must be an object"))
            continue
        causes += validate_enum(item.get("type"), f"{f}.type", ("Container", "PersistentVolumeClaim", "Pod"))
        for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            causes += validate_resource_list(item.get(key), f"{f}.{key}")
    return causes

