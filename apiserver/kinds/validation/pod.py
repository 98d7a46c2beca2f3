"""Pod spec validation (``ValidatePodSpec`` upstream), used for Pods and every pod template.

Covers what clients commonly get wrong: containers (name, image, ports, env, resources, probes,
volume mounts), volumes, and the spec-wide policies. ``validate_pod_update`` enforces upstream's
rule that a running pod's spec is immutable except images, activeDeadlineSeconds and added
tolerations.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from apiserver.kinds.validation.affinity import validate_affinity
from apiserver.kinds.validation.common import (
    iana_svc_name_errors,
    non_negative,
    port_in_range,
    positive,
    validate_enum,
    validate_label_selector,
    validate_labels,
    validate_port_num_or_name,
    validate_resource_list,
)
from apiserver.kinds.validation.errors import (
    Cause,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    required,
)
from client.labels import regex_error, validate_dns1123_label, validate_dns1123_subdomain
from client.quantity import QuantityError, parse_quantity

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
TOLERATION_OPERATORS = ("Equal", "Exists")
TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")

VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi",
    "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI",
    "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
    "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
)

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
ENV_NAME_ERR = ("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
                "or '.', and must not start with a digit")


def _env_name_errors(name: str) -> list[str]:
    if _ENV_NAME.match(name):
        return []
    return [regex_error(ENV_NAME_ERR, "[-._a-zA-Z][-._a-zA-Z0-9]*", "my.env-name", "MY_ENV.NAME", "MyEnvName1")]


def _validate_ports(ports: Any, field: str, port_names: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    if not isinstance(ports, list):
        return [] if ports is None else [invalid(field, ports, "must be a list")]
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        f = f"{field}[{i}]"
        if not isinstance(port, dict):
            causes.append(invalid(f, port, "must be an object"))
            continue
        name = port.get("name")
        if name:
            causes += [invalid(f"{f}.name", name, m) for m in iana_svc_name_errors(name)]
            if name in port_names:
                causes.append(duplicate(f"{f}.name", name))
            port_names.add(name)
        if port.get("containerPort") is None:
            causes.append(required(f"{f}.containerPort"))
        else:
            causes += port_in_range(port.get("containerPort"), f"{f}.containerPort")
        if port.get("hostPort") not in (None, 0):
            causes += port_in_range(port.get("hostPort"), f"{f}.hostPort")
        causes += validate_enum(port.get("protocol"), f"{f}.protocol", PROTOCOLS)
        key = (port.get("containerPort"), port.get("protocol"))
        if port.get("hostPort"):
            if key in seen:
                causes.append(duplicate(f, f"{key[0]}/{key[1]}"))
            seen.add(key)
    return causes


def _validate_env(env: Any, field: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, var in enumerate(env if isinstance(env, list) else []):
        f = f"{field}[{i}]"
        if not isinstance(var, dict):
            causes.append(invalid(f, var, "must be an object"))
            continue
        name = var.get("name")
        if not name:
            causes.append(required(f"{f}.name"))
        else:
            causes += [invalid(f"{f}.name", name, m) for m in _env_name_errors(name)]
        value_from = var.get("valueFrom")
        if value_from is not None:
            if var.get("value"):
                causes.append(invalid(f"{f}.valueFrom", "", "may not be specified when `value` is not empty"))
            sources = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
                       if isinstance(value_from, dict) and value_from.get(k) is not None]
            if len(sources) != 1:
                causes.append(invalid(f"{f}.valueFrom", "",
                                      "may not have more than one field specified at a time" if sources
                                      else "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                           "`configMapKeyRef` or `secretKeyRef`"))
            for ref in ("configMapKeyRef", "secretKeyRef"):
                sel = value_from.get(ref) if isinstance(value_from, dict) else None
                if isinstance(sel, dict) and not sel.get("key"):
                    causes.append(required(f"{f}.valueFrom.{ref}.key"))
    return causes


def _validate_resources(resources: Any, field: str) -> list[Cause]:
    if not isinstance(resources, dict):
        return []
    causes = validate_resource_list(resources.get("limits"), f"{field}.limits")
    causes += validate_resource_list(resources.get("requests"), f"{field}.requests")
    if causes:
        return causes
    limits = resources.get("limits") or {}
    for name, request in (resources.get("requests") or {}).items():
        if name not in limits:
            continue
        try:
            if parse_quantity(request) > parse_quantity(limits[name]):
                causes.append(invalid(f"{field}.requests", str(request),
                                      f"must be less than or equal to {name} limit of {limits[name]}"))
        except QuantityError:
            pass
    return causes


def _validate_probe(probe: Any, field: str) -> list[Cause]:
    if not isinstance(probe, dict):
        return []
    handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(h) is not None]
    causes: list[Cause] = []
    if not handlers:
        causes.append(required(field, "must specify a handler type"))
    elif len(handlers) > 1:
        causes.append(forbidden(f"{field}.{handlers[1]}", "may not specify more than 1 handler type"))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        causes += non_negative(probe.get(key), f"{field}.{key}")
    http = probe.get("httpGet")
    if isinstance(http, dict):
        causes += validate_port_num_or_name(http.get("port"), f"{field}.httpGet.port")
    tcp = probe.get("tcpSocket")
    if isinstance(tcp, dict):
        causes += validate_port_num_or_name(tcp.get("port"), f"{field}.tcpSocket.port")
    return causes


def _validate_container(c: Any, field: str, volumes: set[str], names: set[str],
                        port_names: set[str], init: bool) -> list[Cause]:
    if not isinstance(c, dict):
        return [invalid(field, c, "must be an object")]
    causes: list[Cause] = []
    name = c.get("name")
    if not name:
        causes.append(required(f"{field}.name"))
    else:
        causes += [invalid(f"{field}.name", name, m) for m in validate_dns1123_label(name)]
        if name in names:
            causes.append(duplicate(f"{field}.name", name))
        names.add(name)
    image = c.get("image")
    if not image or (isinstance(image, str) and not image.strip()):
        causes.append(required(f"{field}.image"))
    elif isinstance(image, str) and image != image.strip():
        causes.append(invalid(f"{field}.image", image, "must not have leading or trailing whitespace"))
    causes += validate_enum(c.get("imagePullPolicy"), f"{field}.imagePullPolicy", PULL_POLICIES,
                            allow_empty=True)
    causes += validate_enum(c.get("terminationMessagePolicy"), f"{field}.terminationMessagePolicy",
                            TERMINATION_MESSAGE_POLICIES, allow_empty=True)
    causes += _validate_ports(c.get("ports"), f"{field}.ports", port_names)
    causes += _validate_env(c.get("env"), f"{field}.env")
    causes += _validate_resources(c.get("resources"), f"{field}.resources")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if c.get(probe) is None:
            continue
        if init and c.get("restartPolicy") != "Always":
            causes.append(forbidden(f"{field}.{probe}", "may not be set for init containers without "
                                                        "restartPolicy=Always"))
            continue
        causes += _validate_probe(c.get(probe), f"{field}.{probe}")
        if probe in ("livenessProbe", "startupProbe") and (c[probe] or {}).get("successThreshold") not in (None, 1):
            causes.append(invalid(f"{field}.{probe}.successThreshold", c[probe]["successThreshold"],
                                  "must be 1"))
    if init:
        causes += validate_enum(c.get("restartPolicy"), f"{field}.restartPolicy", ("Always",), allow_empty=True)
    elif c.get("restartPolicy") is not None:
        causes.append(forbidden(f"{field}.restartPolicy", "may not be set for non-init containers"))
    mount_paths: set[str] = set()
    for i, mount in enumerate(c.get("volumeMounts") or []):
        f = f"{field}.volumeMounts[{i}]"
        if not isinstance(mount, dict):
            causes.append(invalid(f, mount, "must be an object"))
            continue
        mname = mount.get("name")
        if not mname:
            causes.append(required(f"{f}.name"))
        elif mname not in volumes:
            causes.append(not_found(f"{f}.name", mname))
        path = mount.get("mountPath")
        if not path:
            causes.append(required(f"{f}.mountPath"))
        elif path in mount_paths:
            causes.append(invalid(f"{f}.mountPath", path, "must be unique"))
        else:
            mount_paths.add(path)
    return causes


def _validate_volumes(volumes: Any, field: str) -> tuple[list[Cause], set[str]]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, vol in enumerate(volumes if isinstance(volumes, list) else []):
        f = f"{field}[{i}]"
        if not isinstance(vol, dict):
            causes.append(invalid(f, vol, "must be an object"))
            continue
        name = vol.get("name")
        if not name:
            causes.append(required(f"{f}.name"))
        else:
            causes += [invalid(f"{f}.name", name, m) for m in validate_dns1123_label(name)]
            if name in names:
                causes.append(duplicate(f"{f}.name", name))
            names.add(name)
        sources = [s for s in VOLUME_SOURCES if vol.get(s) is not None]
        if not sources:
            causes.append(required(f, "must specify a volume type"))
        elif len(sources) > 1:
            causes.append(forbidden(f"{f}.{sources[1]}", "may not specify more than 1 volume type"))
        host_path = vol.get("hostPath")
        if isinstance(host_path, dict) and not host_path.get("path"):
            causes.append(required(f"{f}.hostPath.path"))
        for ref, key in (("configMap", "name"), ("persistentVolumeClaim", "claimName")):
            src = vol.get(ref)
            if isinstance(src, dict) and not src.get(key) and ref == "persistentVolumeClaim":
                causes.append(required(f"{f}.{ref}.{key}"))
        secret = vol.get("secret")
        if isinstance(secret, dict) and not secret.get("secretName"):
            causes.append(required(f"{f}.secret.secretName"))
    return causes, names


def _validate_tolerations(tolerations: Any, field: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, t in enumerate(tolerations if isinstance(tolerations, list) else []):
        f = f"{field}[{i}]"
        if not isinstance(t, dict):
            causes.append(invalid(f, t, "must be an object"))
            continue
        op = t.get("operator") or "Equal"
        causes += validate_enum(t.get("operator"), f"{f}.operator", TOLERATION_OPERATORS, allow_empty=True)
        key = t.get("key") or ""
        if key:
            causes += validate_labels({key: "x"}, f"{f}.key")
        elif op != "Exists":
            causes.append(invalid(f"{f}.operator", op, "operator must be Exists when `key` is empty, which "
                                                        "means \"match all values and all keys\""))
        if op == "Exists" and t.get("value"):
            causes.append(invalid(f"{f}.operator", t.get("value"),
                                  "value must be empty when `operator` is 'Exists'"))
        causes += validate_enum(t.get("effect"), f"{f}.effect", TAINT_EFFECTS, allow_empty=True)
        if t.get("tolerationSeconds") is not None and t.get("effect") != "NoExecute":
            causes.append(invalid(f"{f}.effect", t.get("effect"),
                                  "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    return causes


def validate_pod_spec(spec: Any, field: str = "spec") -> list[Cause]:
    if not isinstance(spec, dict):
        return [required(field)]
    causes, volume_names = _validate_volumes(spec.get("volumes"), f"{field}.volumes")
    names: set[str] = set()
    port_names: set[str] = set()
    containers = spec.get("containers")
    if not containers:
        causes.append(required(f"{field}.containers"))
    elif not isinstance(containers, list):
        causes.append(invalid(f"{field}.containers", containers, "must be a list"))
    else:
        for i, c in enumerate(containers):
            causes += _validate_container(c, f"{field}.containers[{i}]", volume_names, names, port_names, False)
    for i, c in enumerate(spec.get("initContainers") or []):
        causes += _validate_container(c, f"{field}.initContainers[{i}]", volume_names, names, set(), True)
    causes += validate_enum(spec.get("restartPolicy"), f"{field}.restartPolicy", RESTART_POLICIES,
                            allow_empty=True)
    causes += validate_enum(spec.get("dnsPolicy"), f"{field}.dnsPolicy", DNS_POLICIES, allow_empty=True)
    if spec.get("dnsPolicy") == "None" and not spec.get("dnsConfig"):
        causes.append(required(f"{field}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
    causes += non_negative(spec.get("terminationGracePeriodSeconds"), f"{field}.terminationGracePeriodSeconds")
    causes += positive(spec.get("activeDeadlineSeconds"), f"{field}.activeDeadlineSeconds")
    causes += validate_labels(spec.get("nodeSelector"), f"{field}.nodeSelector")
    causes += _validate_tolerations(spec.get("tolerations"), f"{field}.tolerations")
    causes += validate_affinity(spec.get("affinity"), f"{field}.affinity")
    for key in ("hostname", "subdomain"):
        value = spec.get(key)
        if value:
            causes += [invalid(f"{field}.{key}", value, m) for m in validate_dns1123_label(value)]
    for key in ("serviceAccountName", "nodeName"):
        value = spec.get(key)
        if value:
            causes += [invalid(f"{field}.{key}", value, m) for m in validate_dns1123_subdomain(value)]
    for i, tsc in enumerate(spec.get("topologySpreadConstraints") or []):
        if isinstance(tsc, dict):
            f = f"{field}.topologySpreadConstraints[{i}]"
            if not isinstance(tsc.get("maxSkew"), int) or tsc.get("maxSkew", 0) <= 0:
                causes.append(invalid(f"{f}.maxSkew", tsc.get("maxSkew"), "must be greater than zero"))
            if not tsc.get("topologyKey"):
                causes.append(required(f"{f}.topologyKey", "can not be empty"))
            causes += validate_enum(tsc.get("whenUnsatisfiable"), f"{f}.whenUnsatisfiable",
                                    ("DoNotSchedule", "ScheduleAnyway"))
            causes += validate_label_selector(tsc.get("labelSelector"), f"{f}.labelSelector")
    return causes


def validate_pod_template(template: Any, field: str, restart_policies: tuple[str, ...] | None = None,
                          ) -> list[Cause]:
    """A pod template inside a workload; ``restart_policies`` narrows what the workload allows."""
    if not isinstance(template, dict):
        return [required(field)]
    meta = template.get("metadata") or {}
    causes = validate_labels(meta.get("labels"), f"{field}.metadata.labels")
    causes += validate_pod_spec(template.get("spec"), f"{field}.spec")
    spec = template.get("spec")
    if restart_policies and isinstance(spec, dict):
        policy = spec.get("restartPolicy")
        if not policy:
            causes.append(required(f"{field}.spec.restartPolicy", "valid values: "
                                   + ", ".join(f'"{p}"' for p in restart_policies)))
        elif policy not in restart_policies:
            causes.append(not_supported(f"{field}.spec.restartPolicy", policy, restart_policies))
    return causes


_MUTABLE_POD_FIELDS_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
    "previously negative)"
)


def validate_pod_update(new: dict, old: dict) -> list[Cause]:
    """Only images, a shorter activeDeadlineSeconds and added tolerations may change in a pod's spec."""
    new_spec = copy.deepcopy(new.get("spec") or {})
    old_spec = copy.deepcopy(old.get("spec") or {})
    causes: list[Cause] = []
    old_deadline = old_spec.get("activeDeadlineSeconds")
    new_deadline = new_spec.get("activeDeadlineSeconds")
    if old_deadline is not None and (new_deadline is None or new_deadline > old_deadline):
        causes.append(invalid("spec.activeDeadlineSeconds", new_deadline,
                              "must be less than or equal to previous value"))
    old_tolerations = old_spec.get("tolerations") or []
    new_tolerations = new_spec.get("tolerations") or []
    if any(t not in new_tolerations for t in old_tolerations):
        causes.append(forbidden("spec.tolerations", "existing toleration can not be modified except its "
                                                     "tolerationSeconds"))
    for spec in (new_spec, old_spec):
        spec.pop("activeDeadlineSeconds", None)
        spec.pop("tolerations", None)
        for key in ("containers", "initContainers"):
            for c in spec.get(key) or []:
                if isinstance(c, dict):
                    c.pop("image", None)
    if new_spec != old_spec:
        causes.append(forbidden("spec", _MUTABLE_POD_FIELDS_MESSAGE))
    for key in ("containers", "initContainers"):
        for i, c in enumerate((new.get("spec") or {}).get(key) or []):
            if isinstance(c, dict) and not c.get("image"):
                causes.append(required(f"spec.{key}[{i}].image"))
    return causes
