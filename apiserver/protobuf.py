"""Decoding the Kubernetes protobuf request bodies kubectl's typed clients send.

Since client-go 1.31 the built-in typed clients (``kubectl create deployment``, ``create
configmap``, ``create secret``, ``create job``, ``drain``'s evictions, ...) encode request
bodies as ``application/vnd.kubernetes.protobuf``: the magic ``k8s\\0`` followed by a
``runtime.Unknown`` envelope {typeMeta{apiVersion, kind}, raw} whose ``raw`` is the object in
the field numbering of k8s.io/api's generated protobuf. There is no fallback to JSON in the
client, so the server has to read it.

This module decodes the wire format generically and names fields through a table of the
messages those commands produce (field numbers are the published wire contract of
Kubernetes 1.32). Two Go encoder habits shape the result: non-pointer scalars are always
written, so zero values of fields that JSON would omit are dropped (except fields that are
pointers upstream, where zero is meaningful); and non-pointer structs are always written, so an
empty nested message stays an empty object. A field number the table does not know makes the
whole request fail with 415 and a message naming the field, rather than losing data silently.
"""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime
from typing import Any

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


class ProtobufError(ValueError):
    """A body that is not valid protobuf, or uses fields this server does not know."""


# Field types: "s" string, "b" bool, "i" integer, "y" bytes (base64 in JSON), "t" metav1.Time,
# "q" resource.Quantity, "x" IntOrString, "ss" map<string,string>, "sy" map<string,bytes>,
# "sq" map<string,Quantity>, any other name = a message in MESSAGES. A trailing "*" = repeated,
# a trailing "!" = a pointer upstream (a zero value is kept).
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "ObjectMeta": {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"), 4: ("selfLink", "s"),
                   5: ("uid", "s"), 6: ("resourceVersion", "s"), 7: ("generation", "i"),
                   8: ("creationTimestamp", "t"), 9: ("deletionTimestamp", "t"),
                   10: ("deletionGracePeriodSeconds", "i!"), 11: ("labels", "ss"), 12: ("annotations", "ss"),
                   13: ("ownerReferences", "OwnerReference*"), 14: ("finalizers", "s*")},
    "OwnerReference": {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"), 5: ("apiVersion", "s"),
                       6: ("controller", "b!"), 7: ("blockOwnerDeletion", "b!")},
    "LabelSelector": {1: ("matchLabels", "ss"), 2: ("matchExpressions", "LabelSelectorRequirement*")},
    "LabelSelectorRequirement": {1: ("key", "s"), 2: ("operator", "s"), 3: ("values", "s*")},
    # core/v1
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "ss"), 3: ("binaryData", "sy"), 4: ("immutable", "b!")},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "sy"), 3: ("type", "s"), 4: ("stringData", "ss"),
               5: ("immutable", "b!")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"), 3: ("status", "Status0")},
    "NamespaceSpec": {1: ("finalizers", "s*")},
    "ServiceAccount": {1: ("metadata", "ObjectMeta"), 2: ("secrets", "ObjectReference*"),
                       3: ("imagePullSecrets", "LocalObjectReference*"), 4: ("automountServiceAccountToken", "b!")},
    "ObjectReference": {1: ("kind", "s"), 2: ("namespace", "s"), 3: ("name", "s"), 4: ("uid", "s"),
                        5: ("apiVersion", "s"), 6: ("resourceVersion", "s"), 7: ("fieldPath", "s")},
    "LocalObjectReference": {1: ("name", "s")},
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec"), 3: ("status", "Status0")},
    "ServiceSpec": {1: ("ports", "ServicePort*"), 2: ("selector", "ss"), 3: ("clusterIP", "s"), 4: ("type", "s"),
                    5: ("externalIPs", "s*"), 7: ("sessionAffinity", "s"), 8: ("loadBalancerIP", "s"),
                    9: ("loadBalancerSourceRanges", "s*"), 10: ("externalName", "s"),
                    11: ("externalTrafficPolicy", "s"), 12: ("healthCheckNodePort", "i"),
                    13: ("publishNotReadyAddresses", "b"), 17: ("ipFamilyPolicy", "s"), 18: ("clusterIPs", "s*"),
                    14: ("sessionAffinityConfig", "SessionAffinityConfig"), 19: ("ipFamilies", "s*"),
                    20: ("allocateLoadBalancerNodePorts", "b!"),
                    21: ("loadBalancerClass", "s"), 22: ("internalTrafficPolicy", "s")},
    "SessionAffinityConfig": {1: ("clientIP", "ClientIPConfig")},
    "ClientIPConfig": {1: ("timeoutSeconds", "i!")},
    "ServicePort": {1: ("name", "s"), 2: ("protocol", "s"), 3: ("port", "i!"), 4: ("targetPort", "x"),
                    5: ("nodePort", "i"), 6: ("appProtocol", "s")},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "PodSpec": {1: ("volumes", "Volume*"), 2: ("containers", "Container*"), 3: ("restartPolicy", "s"),
                4: ("terminationGracePeriodSeconds", "i!"), 5: ("activeDeadlineSeconds", "i!"),
                6: ("dnsPolicy", "s"), 7: ("nodeSelector", "ss"), 8: ("serviceAccountName", "s"),
                9: ("serviceAccount", "s"), 10: ("nodeName", "s"), 11: ("hostNetwork", "b"), 12: ("hostPID", "b"),
                13: ("hostIPC", "b"), 14: ("securityContext", "PodSecurityContext"),
                15: ("imagePullSecrets", "LocalObjectReference*"), 16: ("hostname", "s"),
                17: ("subdomain", "s"), 19: ("schedulerName", "s"), 20: ("initContainers", "Container*"),
                21: ("automountServiceAccountToken", "b!"), 22: ("tolerations", "Toleration*"),
                24: ("priorityClassName", "s"), 25: ("priority", "i!"), 27: ("shareProcessNamespace", "b!"),
                29: ("runtimeClassName", "s"), 30: ("enableServiceLinks", "b!"), 31: ("preemptionPolicy", "s"),
                35: ("setHostnameAsFQDN", "b!"), 37: ("hostUsers", "b!")},
    "Container": {1: ("name", "s"), 2: ("image", "s"), 3: ("command", "s*"), 4: ("args", "s*"),
                  5: ("workingDir", "s"), 6: ("ports", "ContainerPort*"), 7: ("env", "EnvVar*"),
                  8: ("resources", "ResourceRequirements"), 9: ("volumeMounts", "VolumeMount*"),
                  10: ("livenessProbe", "Probe"), 11: ("readinessProbe", "Probe"), 12: ("lifecycle", "Lifecycle"),
                  13: ("terminationMessagePath", "s"), 14: ("imagePullPolicy", "s"),
                  15: ("securityContext", "SecurityContext"), 16: ("stdin", "b"),
                  17: ("stdinOnce", "b"), 18: ("tty", "b"), 19: ("envFrom", "EnvFromSource*"),
                  20: ("terminationMessagePolicy", "s"), 22: ("startupProbe", "Probe"), 24: ("restartPolicy", "s")},
    "Probe": {1: ("", "ProbeHandler"), 2: ("initialDelaySeconds", "i"), 3: ("timeoutSeconds", "i"),
              4: ("periodSeconds", "i"), 5: ("successThreshold", "i"), 6: ("failureThreshold", "i"),
              7: ("terminationGracePeriodSeconds", "i!")},
    "ProbeHandler": {1: ("exec", "ExecAction"), 2: ("httpGet", "HTTPGetAction"), 3: ("tcpSocket", "TCPSocketAction"),
                     4: ("grpc", "GRPCAction")},
    "Lifecycle": {1: ("postStart", "LifecycleHandler"), 2: ("preStop", "LifecycleHandler")},
    "LifecycleHandler": {1: ("exec", "ExecAction"), 2: ("httpGet", "HTTPGetAction"),
                         3: ("tcpSocket", "TCPSocketAction"), 4: ("sleep", "SleepAction")},
    "ExecAction": {1: ("command", "s*")},
    "HTTPGetAction": {1: ("path", "s"), 2: ("port", "x"), 3: ("host", "s"), 4: ("scheme", "s"),
                      5: ("httpHeaders", "HTTPHeader*")},
    "HTTPHeader": {1: ("name", "s"), 2: ("value", "s")},
    "TCPSocketAction": {1: ("port", "x"), 2: ("host", "s")},
    "GRPCAction": {1: ("port", "i!"), 2: ("service", "s!")},
    "SleepAction": {1: ("seconds", "i!")},
    "EnvFromSource": {1: ("prefix", "s"), 2: ("configMapRef", "ConfigMapEnvSource"),
                      3: ("secretRef", "SecretEnvSource")},
    "ConfigMapEnvSource": {1: ("", "LocalObjectReference"), 2: ("optional", "b!")},
    "SecretEnvSource": {1: ("", "LocalObjectReference"), 2: ("optional", "b!")},
    "EnvVarSource": {1: ("fieldRef", "ObjectFieldSelector"), 2: ("resourceFieldRef", "ResourceFieldSelector"),
                     3: ("configMapKeyRef", "ConfigMapKeySelector"), 4: ("secretKeyRef", "SecretKeySelector")},
    "ObjectFieldSelector": {1: ("apiVersion", "s"), 2: ("fieldPath", "s")},
    "ResourceFieldSelector": {1: ("containerName", "s"), 2: ("resource", "s"), 3: ("divisor", "q")},
    "ConfigMapKeySelector": {1: ("", "LocalObjectReference"), 2: ("key", "s"), 3: ("optional", "b!")},
    "SecretKeySelector": {1: ("", "LocalObjectReference"), 2: ("key", "s"), 3: ("optional", "b!")},
    "PodSecurityContext": {1: ("seLinuxOptions", "SELinuxOptions"), 2: ("runAsUser", "i!"), 3: ("runAsNonRoot", "b!"),
                           4: ("supplementalGroups", "i*"), 5: ("fsGroup", "i!"), 6: ("runAsGroup", "i!"),
                           7: ("sysctls", "Sysctl*"), 8: ("windowsOptions", "WindowsSecurityContextOptions"),
                           9: ("fsGroupChangePolicy", "s"), 10: ("seccompProfile", "SeccompProfile"),
                           11: ("appArmorProfile", "AppArmorProfile"), 12: ("supplementalGroupsPolicy", "s"),
                           13: ("seLinuxChangePolicy", "s")},
    "SecurityContext": {1: ("capabilities", "Capabilities"), 2: ("privileged", "b!"),
                        3: ("seLinuxOptions", "SELinuxOptions"), 4: ("runAsUser", "i!"), 5: ("runAsNonRoot", "b!"),
                        6: ("readOnlyRootFilesystem", "b!"), 7: ("allowPrivilegeEscalation", "b!"),
                        8: ("runAsGroup", "i!"), 9: ("procMount", "s"),
                        10: ("windowsOptions", "WindowsSecurityContextOptions"),
                        11: ("seccompProfile", "SeccompProfile"), 12: ("appArmorProfile", "AppArmorProfile")},
    "Capabilities": {1: ("add", "s*"), 2: ("drop", "s*")},
    "SELinuxOptions": {1: ("user", "s"), 2: ("role", "s"), 3: ("type", "s"), 4: ("level", "s")},
    "SeccompProfile": {1: ("type", "s"), 2: ("localhostProfile", "s")},
    "AppArmorProfile": {1: ("type", "s"), 2: ("localhostProfile", "s")},
    "Sysctl": {1: ("name", "s"), 2: ("value", "s")},
    "WindowsSecurityContextOptions": {1: ("gmsaCredentialSpecName", "s"), 2: ("gmsaCredentialSpec", "s"),
                                      3: ("runAsUserName", "s"), 4: ("hostProcess", "b!")},
    "ContainerPort": {1: ("name", "s"), 2: ("hostPort", "i"), 3: ("containerPort", "i!"), 4: ("protocol", "s"),
                      5: ("hostIP", "s")},
    "EnvVar": {1: ("name", "s"), 2: ("value", "s"), 3: ("valueFrom", "EnvVarSource")},
    "ResourceRequirements": {1: ("limits", "sq"), 2: ("requests", "sq")},
    "VolumeMount": {1: ("name", "s"), 2: ("readOnly", "b"), 3: ("mountPath", "s"), 4: ("subPath", "s"),
                    5: ("mountPropagation", "s"), 6: ("subPathExpr", "s")},
    "Volume": {1: ("name", "s"), 2: ("", "VolumeSource")},  # VolumeSource is inlined in JSON
    "VolumeSource": {1: ("hostPath", "HostPathVolumeSource"), 2: ("emptyDir", "EmptyDirVolumeSource"),
                     6: ("secret", "SecretVolumeSource"), 19: ("configMap", "ConfigMapVolumeSource")},
    "HostPathVolumeSource": {1: ("path", "s"), 2: ("type", "s")},
    "EmptyDirVolumeSource": {1: ("medium", "s"), 2: ("sizeLimit", "q")},
    "SecretVolumeSource": {1: ("secretName", "s"), 3: ("defaultMode", "i!"), 4: ("optional", "b!")},
    "ConfigMapVolumeSource": {1: ("", "LocalObjectReference"), 3: ("defaultMode", "i!"), 4: ("optional", "b!")},
    "Toleration": {1: ("key", "s"), 2: ("operator", "s"), 3: ("value", "s"), 4: ("effect", "s"),
                   5: ("tolerationSeconds", "i!")},
    # apps/v1
    "Deployment": {1: ("metadata", "ObjectMeta"), 2: ("spec", "DeploymentSpec"), 3: ("status", "Status0")},
    "DeploymentSpec": {1: ("replicas", "i!"), 2: ("selector", "LabelSelector"), 3: ("template", "PodTemplateSpec"),
                       4: ("strategy", "DeploymentStrategy"), 5: ("minReadySeconds", "i"),
                       6: ("revisionHistoryLimit", "i!"), 7: ("paused", "b"), 9: ("progressDeadlineSeconds", "i!")},
    "DeploymentStrategy": {1: ("type", "s"), 2: ("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "x"), 2: ("maxSurge", "x")},
    # batch/v1
    "Job": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec"), 3: ("status", "Status0")},
    "JobSpec": {1: ("parallelism", "i!"), 2: ("completions", "i!"), 3: ("activeDeadlineSeconds", "i!"),
                4: ("selector", "LabelSelector"), 5: ("manualSelector", "b!"), 6: ("template", "PodTemplateSpec"),
                7: ("backoffLimit", "i!"), 8: ("ttlSecondsAfterFinished", "i!"), 9: ("completionMode", "s"),
                10: ("suspend", "b!"), 12: ("backoffLimitPerIndex", "i!"), 13: ("maxFailedIndexes", "i!"),
                14: ("podReplacementPolicy", "s"), 15: ("managedBy", "s")},
    "CronJob": {1: ("metadata", "ObjectMeta"), 2: ("spec", "CronJobSpec"), 3: ("status", "Status0")},
    "CronJobSpec": {1: ("schedule", "s"), 2: ("startingDeadlineSeconds", "i!"), 3: ("concurrencyPolicy", "s"),
                    4: ("suspend", "b!"), 5: ("jobTemplate", "JobTemplateSpec"),
                    6: ("successfulJobsHistoryLimit", "i!"), 7: ("failedJobsHistoryLimit", "i!"),
                    8: ("timeZone", "s")},
    "JobTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec")},
    # autoscaling/v1
    "HorizontalPodAutoscaler": {1: ("metadata", "ObjectMeta"), 2: ("spec", "HorizontalPodAutoscalerSpec"),
                                3: ("status", "Status0")},
    "HorizontalPodAutoscalerSpec": {1: ("scaleTargetRef", "CrossVersionObjectReference"), 2: ("minReplicas", "i!"),
                                    3: ("maxReplicas", "i!"), 4: ("targetCPUUtilizationPercentage", "i!")},
    "CrossVersionObjectReference": {1: ("kind", "s"), 2: ("name", "s"), 3: ("apiVersion", "s")},
    # policy/v1
    "Eviction": {1: ("metadata", "ObjectMeta"), 2: ("deleteOptions", "DeleteOptions")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "i!"), 2: ("preconditions", "Preconditions"),
                      3: ("orphanDependents", "b!"), 4: ("propagationPolicy", "s"), 5: ("dryRun", "s*")},
    "Preconditions": {1: ("uid", "s"), 2: ("resourceVersion", "s")},
    # The status of an object being created: the server resets it, so its content is skipped.
    "Status0": {},
}

# Top-level kinds by (apiVersion, kind).
KINDS = {
    ("v1", "ConfigMap"): "ConfigMap", ("v1", "Secret"): "Secret", ("v1", "Namespace"): "Namespace",
    ("v1", "ServiceAccount"): "ServiceAccount", ("v1", "Service"): "Service",
    ("apps/v1", "Deployment"): "Deployment", ("batch/v1", "Job"): "Job", ("batch/v1", "CronJob"): "CronJob",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "HorizontalPodAutoscaler",
    ("policy/v1", "Eviction"): "Eviction", ("v1", "DeleteOptions"): "DeleteOptions",
    ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) of every field in a message, in order."""
    out = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<q", buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ProtobufError("truncated length-delimited field")
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<i", buf, pos)[0], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((num, wire, value))
    return out


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _string(v: Any) -> str:
    if not isinstance(v, bytes):
        raise ProtobufError("expected a length-delimited string")
    return v.decode()


def _time(buf: bytes) -> str | None:
    seconds = nanos = 0
    for num, _, v in fields(buf):
        if num == 1:
            seconds = _signed(v)
        elif num == 2:
            nanos = v
    if seconds == 0 and nanos == 0:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(buf: bytes) -> int | str:
    kind, int_val, str_val = 0, 0, ""
    for num, _, v in fields(buf):
        if num == 1:
            kind = v
        elif num == 2:
            int_val = _signed(v)
        elif num == 3:
            str_val = _string(v)
    return str_val if kind == 1 else int_val


def _quantity(buf: bytes) -> str:
    for num, _, v in fields(buf):
        if num == 1:
            return _string(v)
    return "0"


def _map_entry(buf: bytes, value_type: str) -> tuple[str, Any]:
    key, value = "", None
    for num, _, v in fields(buf):
        if num == 1:
            key = _string(v)
        elif num == 2:
            value = v
    if value_type == "s":
        return key, _string(value) if value is not None else ""
    if value_type == "y":
        return key, base64.b64encode(value or b"").decode()
    return key, _quantity(value or b"")


def _scalar(type_: str, wire: int, v: Any) -> Any:
    if type_ == "s":
        return _string(v)
    if type_ == "b":
        return bool(v)
    if type_ == "i":
        return _signed(v) if wire == 0 else v
    if type_ == "y":
        return base64.b64encode(v).decode()
    if type_ == "t":
        return _time(v)
    if type_ == "q":
        return _quantity(v)
    if type_ == "x":
        return _int_or_string(v)
    return decode_message(type_, v)


def _is_zero(value: Any) -> bool:
    return value in ("", 0, False, None) and not isinstance(value, dict)


def decode_message(name: str, buf: bytes) -> dict[str, Any]:
    if name == "Status0":
        fields(buf)  # still well-formed
        return {}
    table = MESSAGES.get(name)
    if table is None:
        raise ProtobufError(f"protobuf message {name} is not understood by this server")
    out: dict[str, Any] = {}
    for num, wire, v in fields(buf):
        entry = table.get(num)
        if entry is None:
            raise ProtobufError(f"protobuf field {num} of {name} is not understood by this server;"
                                " send the object as JSON")
        key, type_ = entry
        repeated = type_.endswith("*")
        pointer = type_.endswith("!")
        base = type_.rstrip("*!")
        if base in ("ss", "sy", "sq"):
            k, val = _map_entry(v, base[1])
            out.setdefault(key, {})[k] = val
            continue
        if repeated:
            if base in ("i", "b") and wire == 2:  # packed
                out.setdefault(key, []).extend(_signed(x) if base == "i" else bool(x) for _, _, x in
                                               _packed(v))
            else:
                out.setdefault(key, []).append(_scalar(base, wire, v))
            continue
        value = _scalar(base, wire, v)
        if key == "":  # an inlined struct (Volume's source, ConfigMapVolumeSource's reference)
            out.update(value)
            continue
        if not pointer and _is_zero(value):
            continue
        out[key] = value
    return out


def _packed(buf: bytes) -> list[tuple[int, int, int]]:
    out = []
    pos = 0
    while pos < len(buf):
        v, pos = _varint(buf, pos)
        out.append((0, 0, v))
    return out


def decode_object(body: bytes) -> dict[str, Any]:
    """The JSON-shaped object of a ``k8s\\0``-prefixed protobuf body."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic number")
    api_version = kind = ""
    raw = b""
    for num, _, v in fields(body[len(MAGIC):]):
        if num == 1:
            for n, _, tv in fields(v):
                if n == 1:
                    api_version = _string(tv)
                elif n == 2:
                    kind = _string(tv)
        elif num == 2:
            raw = v
    message = KINDS.get((api_version, kind))
    if message is None:
        raise ProtobufError(f"protobuf bodies of {api_version} {kind} are not understood by this server;"
                            " send the object as JSON")
    obj = decode_message(message, raw)
    return {"apiVersion": api_version, "kind": kind, **obj}
