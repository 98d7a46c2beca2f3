"""Decoding the protobuf bodies of kubectl's typed clients (built here with a tiny encoder)."""

from __future__ import annotations

import pytest

from apiserver.protobuf import MAGIC, ProtobufError, decode_object


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num: int, data: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num: int, value: int) -> bytes:
    return varint(num << 3) + varint(value)


def s(num: int, text: str) -> bytes:
    return field_bytes(num, text.encode())


def entry(num: int, key: str, value: str) -> bytes:
    return field_bytes(num, s(1, key) + s(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return MAGIC + field_bytes(1, s(1, api_version) + s(2, kind)) + field_bytes(2, raw)


def test_a_configmap_decodes_to_its_json_shape() -> None:
    meta = s(1, "cm") + s(3, "") + field_bytes(8, b"") + entry(11, "app", "x")
    raw = field_bytes(1, meta) + entry(2, "k", "v")
    obj = decode_object(envelope("v1", "ConfigMap", raw))
    assert obj == {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "cm", "labels": {"app": "x"}}, "data": {"k": "v"}}


def test_go_zero_values_are_dropped_but_pointer_zeros_kept() -> None:
    container = s(1, "c") + s(2, "img") + s(5, "") + field_bytes(8, b"") + field_varint(16, 0)
    pod_spec = field_bytes(2, container) + s(3, "") + field_varint(11, 0)
    template = field_bytes(1, field_bytes(8, b"")) + field_bytes(2, pod_spec)
    spec = field_varint(1, 0) + field_bytes(3, template) + field_varint(5, 0)
    raw = field_bytes(1, s(1, "web")) + field_bytes(2, spec) + field_bytes(3, field_varint(2, 0))
    obj = decode_object(envelope("apps/v1", "Deployment", raw))
    assert obj["spec"]["replicas"] == 0
    assert "minReadySeconds" not in obj["spec"]
    assert obj["spec"]["template"]["spec"]["containers"] == [{"name": "c", "image": "img", "resources": {}}]
    assert obj["status"] == {}


def test_int_or_string_and_secret_bytes() -> None:
    port = s(1, "http") + field_varint(3, 80) + field_bytes(4, field_varint(1, 1) + s(3, "web"))
    svc = decode_object(envelope("v1", "Service", field_bytes(1, s(1, "svc")) + field_bytes(2, field_bytes(1, port))))
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "web"}]
    secret = decode_object(envelope("v1", "Secret", field_bytes(1, s(1, "x")) + field_bytes(2, s(1, "k") + s(2, "hi"))))
    assert secret["data"] == {"k": "aGk="}


def test_an_unknown_field_is_refused_not_dropped() -> None:
    with pytest.raises(ProtobufError, match="field 99 of ConfigMap"):
        decode_object(envelope("v1", "ConfigMap", s(99, "?")))


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ProtobufError, match="not understood"):
        decode_object(envelope("v1", "Widget", b""))


def test_pod_and_container_security_contexts_decode() -> None:
    se_linux = s(3, "spc_t")
    pod_security = (field_varint(2, 1000) + field_varint(3, 1) + field_bytes(4, varint(10) + varint(20))
                    + field_varint(5, 2000) + field_bytes(1, se_linux)
                    + field_bytes(7, s(1, "net.ipv4.ip_forward") + s(2, "1"))
                    + field_bytes(10, s(1, "RuntimeDefault")))
    container_security = (field_bytes(1, s(1, "NET_ADMIN") + s(2, "ALL")) + field_varint(2, 0)
                          + field_varint(6, 1) + field_bytes(12, s(1, "Unconfined")))
    container = s(1, "c") + s(2, "img") + field_bytes(15, container_security)
    pod_spec = field_bytes(2, container) + field_bytes(14, pod_security)
    job_spec = field_bytes(6, field_bytes(2, pod_spec)) + s(14, "Failed")
    obj = decode_object(envelope("batch/v1", "Job", field_bytes(1, s(1, "j")) + field_bytes(2, job_spec)))
    spec = obj["spec"]["template"]["spec"]
    assert spec["securityContext"] == {
        "runAsUser": 1000, "runAsNonRoot": True, "supplementalGroups": [10, 20], "fsGroup": 2000,
        "seLinuxOptions": {"type": "spc_t"}, "sysctls": [{"name": "net.ipv4.ip_forward", "value": "1"}],
        "seccompProfile": {"type": "RuntimeDefault"}}
    assert spec["containers"][0]["securityContext"] == {
        "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}, "privileged": False,
        "readOnlyRootFilesystem": True, "appArmorProfile": {"type": "Unconfined"}}
    assert obj["spec"]["podReplacementPolicy"] == "Failed"


def test_an_autoscaling_v1_autoscaler_decodes() -> None:
    ref = s(1, "Deployment") + s(2, "web") + s(3, "apps/v1")
    spec = field_bytes(1, ref) + field_varint(2, 1) + field_varint(3, 3) + field_varint(4, 50)
    obj = decode_object(envelope("autoscaling/v1", "HorizontalPodAutoscaler",
                                 field_bytes(1, s(1, "web")) + field_bytes(2, spec)))
    assert obj["spec"] == {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                           "minReplicas": 1, "maxReplicas": 3, "targetCPUUtilizationPercentage": 50}


def test_probes_lifecycle_and_env_sources_decode() -> None:
    http_get = s(1, "/healthz") + field_bytes(2, field_varint(1, 0) + field_varint(2, 8080)) + s(4, "HTTP")
    probe = field_bytes(1, field_bytes(2, http_get)) + field_varint(2, 5) + field_varint(4, 10)
    pre_stop = field_bytes(2, field_bytes(1, s(1, "sh") + s(1, "-c")))
    env = s(1, "NODE") + field_bytes(3, field_bytes(1, s(1, "v1") + s(2, "spec.nodeName")))
    secret_env = s(1, "TOKEN") + field_bytes(3, field_bytes(4, field_bytes(1, s(1, "creds")) + s(2, "token")))
    env_from = s(1, "APP_") + field_bytes(2, field_bytes(1, s(1, "settings")))
    container = (s(1, "c") + s(2, "img") + field_bytes(10, probe) + field_bytes(12, pre_stop)
                 + field_bytes(7, env) + field_bytes(7, secret_env) + field_bytes(19, env_from))
    pod_spec = field_bytes(2, container)
    obj = decode_object(envelope("batch/v1", "Job", field_bytes(1, s(1, "j"))
                                 + field_bytes(2, field_bytes(6, field_bytes(2, pod_spec)))))
    c = obj["spec"]["template"]["spec"]["containers"][0]
    assert c["livenessProbe"] == {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                                  "initialDelaySeconds": 5, "periodSeconds": 10}
    assert c["lifecycle"] == {"preStop": {"exec": {"command": ["sh", "-c"]}}}
    assert c["env"] == [{"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
                        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}]
    assert c["envFrom"] == [{"prefix": "APP_", "configMapRef": {"name": "settings"}}]
