"""Defaulting: the values Kubernetes fills in when a client leaves a field out.

Each built-in kind has one defaulter that edits the decoded object in place, in the order the
upstream ``SetDefaults_*`` functions run: pod specs (including every pod template inside a
workload) get restart/DNS/scheduler policies and per-container pull policy, termination-message
settings, port protocols, probe timings and volume modes; workloads get replicas, update
strategies and history limits; services get their type, affinity, traffic policies, target
ports and IP families. Defaulting only ever adds missing fields; it never overwrites a value the
client chose, so applying it twice is harmless (the apiserver runs it on create and on update).

Status-related and identity fields (uid, pod phase, QoS class, namespace phase) are not
defaults but create-time preparation; they live in ``strategy``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from apiserver.kinds.registry import ResourceType, custom_schema
from apiserver.kinds.validation.schema import normalize_custom_object
from apiserver.openapi.typecheck import decode_errors

Obj = dict[str, Any]

DEFAULT_FILE_MODE = 0o644  # 420, the mode secret/configMap/projected/downwardAPI volume files get


def _d(obj: Obj, key: str, value: Any) -> Any:
    """Set ``obj[key]`` when it is absent or null, and return the (possibly existing) value."""
    if obj.get(key) is None:
        obj[key] = value
    return obj[key]


def _sub(obj: Obj, key: str) -> Obj:
    """The dict at ``obj[key]``, created if missing (for nested defaulting)."""
    if not isinstance(obj.get(key), dict):
        obj[key] = {}
    return obj[key]


def _dicts(value: Any) -> list[Obj]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------------------------------------
# pods


def image_pull_policy_for(image: str) -> str:
    """``Always`` for ``:latest`` or untagged images, else ``IfNotPresent`` (digests pin the image)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    _d(probe, "timeoutSeconds", 1)
    _d(probe, "periodSeconds", 10)
    _d(probe, "successThreshold", 1)
    _d(probe, "failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        _d(probe["httpGet"], "scheme", "HTTP")
    if isinstance(probe.get("grpc"), dict):
        _d(probe["grpc"], "service", "")


def _container(c: Obj, host_network: bool) -> None:
    if isinstance(c.get("image"), str) and c["image"]:
        _d(c, "imagePullPolicy", image_pull_policy_for(c["image"]))
    _d(c, "terminationMessagePath", "/dev/termination-log")
    _d(c, "terminationMessagePolicy", "File")
    resources = _d(c, "resources", {})
    if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
        # A limit without a request means the request equals the limit (SetDefaults_Pod).
        requests = _sub(resources, "requests")
        for name, value in resources["limits"].items():
            requests.setdefault(name, value)
    for port in _dicts(c.get("ports")):
        _d(port, "protocol", "TCP")
        if host_network and port.get("containerPort") is not None:
            _d(port, "hostPort", port["containerPort"])
    for env in _dicts(c.get("env")):
        value_from = env.get("valueFrom")
        if isinstance(value_from, dict) and isinstance(value_from.get("fieldRef"), dict):
            _d(value_from["fieldRef"], "apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(probe))
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in _dicts([lifecycle.get("postStart"), lifecycle.get("preStop")]):
            if isinstance(hook.get("httpGet"), dict):
                _d(hook["httpGet"], "scheme", "HTTP")


def _volume(v: Obj) -> None:
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(v.get(source), dict):
            _d(v[source], "defaultMode", DEFAULT_FILE_MODE)
    if isinstance(v.get("hostPath"), dict):
        _d(v["hostPath"], "type", "")
    if isinstance(v.get("downwardAPI"), dict):
        for item in _dicts(v["downwardAPI"].get("items")):
            if isinstance(item.get("fieldRef"), dict):
                _d(item["fieldRef"], "apiVersion", "v1")
    if isinstance(v.get("projected"), dict):
        for src in _dicts(v["projected"].get("sources")):
            sat = src.get("serviceAccountToken")
            if isinstance(sat, dict):
                _d(sat, "expirationSeconds", 3600)


def default_pod_spec(spec: Obj) -> None:
    """Pod-spec defaults; used for pods and for every pod template of a workload."""
    _d(spec, "restartPolicy", "Always")
    _d(spec, "dnsPolicy", "ClusterFirst")
    _d(spec, "terminationGracePeriodSeconds", 30)
    _d(spec, "securityContext", {})
    _d(spec, "schedulerName", "default-scheduler")
    _d(spec, "enableServiceLinks", True)
    host_network = bool(spec.get("hostNetwork"))
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in _dicts(spec.get(key)):
            _container(c, host_network)
    for v in _dicts(spec.get("volumes")):
        _volume(v)
    # Priority comes from the Priority admission plugin upstream; with no PriorityClass it is 0.
    if spec.get("priorityClassName") in (None, ""):
        _d(spec, "priority", 0)
        _d(spec, "preemptionPolicy", "PreemptLowerPriority")


def _pod(obj: Obj) -> None:
    default_pod_spec(_sub(obj, "spec"))


def _pod_template(template: Any) -> None:
    if isinstance(template, dict):
        default_pod_spec(_sub(template, "spec"))


# ---------------------------------------------------------------------------------------------
# core kinds


def _service(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    svc_type = _d(spec, "type", "ClusterIP")
    affinity = _d(spec, "sessionAffinity", "None")
    if affinity == "ClientIP":
        cfg = _sub(_sub(spec, "sessionAffinityConfig"), "clientIP")
        _d(cfg, "timeoutSeconds", 10800)
    for port in _dicts(spec.get("ports")):
        _d(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and port.get("port") is not None:
            port["targetPort"] = port["port"]
    if svc_type in ("NodePort", "LoadBalancer"):
        _d(spec, "externalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        _d(spec, "allocateLoadBalancerNodePorts", True)
    if svc_type != "ExternalName":
        _d(spec, "internalTrafficPolicy", "Cluster")
        # The IP-family allocator upstream; this cluster is single-stack IPv4.
        _d(spec, "ipFamilyPolicy", "SingleStack")
        _d(spec, "ipFamilies", ["IPv4"])
    _d(_sub(obj, "status"), "loadBalancer", {})


def _endpoints(obj: Obj) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            _d(port, "protocol", "TCP")


def _endpoint_slice(obj: Obj) -> None:
    for port in _dicts(obj.get("ports")):
        _d(port, "protocol", "TCP")
        _d(port, "name", "")


def _secret(obj: Obj) -> None:
    _d(obj, "type", "Opaque")
    # stringData is write-only: upstream merges it into data (base64) on every write and drops it.
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        existing = obj.get("data")
        data: Obj = existing if isinstance(existing, dict) else {}
        for key, value in string_data.items():
            text = value if isinstance(value, str) else str(value)
            data[key] = base64.b64encode(text.encode()).decode()
        obj["data"] = data


def _node(obj: Obj) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and isinstance(status.get("capacity"), dict):
        _d(status, "allocatable", dict(status["capacity"]))


def _namespace(obj: Obj) -> None:
    _d(_sub(obj, "spec"), "finalizers", ["kubernetes"])
    _d(_sub(obj, "status"), "phase", "Active")


def _persistent_volume(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "persistentVolumeReclaimPolicy", "Retain")
    _d(spec, "volumeMode", "Filesystem")
    _d(_sub(obj, "status"), "phase", "Pending")


def _persistent_volume_claim(obj: Obj) -> None:
    _d(_sub(obj, "spec"), "volumeMode", "Filesystem")
    _d(_sub(obj, "status"), "phase", "Pending")


def _limit_range(obj: Obj) -> None:
    for item in _dicts(_sub(obj, "spec").get("limits")):
        if item.get("type") != "Container":
            continue
        # An unset default is the max; an unset defaultRequest is the default (or the max).
        given_max = item.get("max")
        maximum: Obj = given_max if isinstance(given_max, dict) else {}
        default = _d(item, "default", {}) if maximum else item.get("default")
        if isinstance(default, dict):
            for name, value in maximum.items():
                default.setdefault(name, value)
            if default:
                request = _d(item, "defaultRequest", {})
                for name, value in default.items():
                    request.setdefault(name, value)
            else:
                item.pop("default", None)


# ---------------------------------------------------------------------------------------------
# workloads


def _deployment(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "replicas", 1)
    strategy = _sub(spec, "strategy")
    kind = _d(strategy, "type", "RollingUpdate")
    if kind == "RollingUpdate":
        ru = _sub(strategy, "rollingUpdate")
        _d(ru, "maxUnavailable", "25%")
        _d(ru, "maxSurge", "25%")
    _d(spec, "revisionHistoryLimit", 10)
    _d(spec, "progressDeadlineSeconds", 600)
    _pod_template(spec.get("template"))


def _replica_set(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "replicas", 1)
    _pod_template(spec.get("template"))


def _stateful_set(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "replicas", 1)
    _d(spec, "podManagementPolicy", "OrderedReady")
    strategy = _sub(spec, "updateStrategy")
    if _d(strategy, "type", "RollingUpdate") == "RollingUpdate":
        _d(_sub(strategy, "rollingUpdate"), "partition", 0)
    _d(spec, "revisionHistoryLimit", 10)
    retention = _sub(spec, "persistentVolumeClaimRetentionPolicy")
    _d(retention, "whenDeleted", "Retain")
    _d(retention, "whenScaled", "Retain")
    for claim in _dicts(spec.get("volumeClaimTemplates")):
        _d(_sub(claim, "spec"), "volumeMode", "Filesystem")
        _d(_sub(claim, "status"), "phase", "Pending")
    _pod_template(spec.get("template"))


def _daemon_set(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    strategy = _sub(spec, "updateStrategy")
    if _d(strategy, "type", "RollingUpdate") == "RollingUpdate":
        ru = _sub(strategy, "rollingUpdate")
        _d(ru, "maxUnavailable", 1)
        _d(ru, "maxSurge", 0)
    _d(spec, "revisionHistoryLimit", 10)
    _pod_template(spec.get("template"))


def default_job_spec(spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _d(spec, "parallelism", 1)
    _d(spec, "backoffLimit", 6)
    _d(spec, "completionMode", "NonIndexed")
    _d(spec, "suspend", False)
    if spec.get("podFailurePolicy") is None:
        _d(spec, "podReplacementPolicy", "TerminatingOrFailed")
    else:
        _d(spec, "podReplacementPolicy", "Failed")
    _pod_template(spec.get("template"))


def _job(obj: Obj) -> None:
    default_job_spec(_sub(obj, "spec"))


def _cron_job(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "concurrencyPolicy", "Allow")
    _d(spec, "suspend", False)
    _d(spec, "successfulJobsHistoryLimit", 3)
    _d(spec, "failedJobsHistoryLimit", 1)
    template = spec.get("jobTemplate")
    if isinstance(template, dict):
        job_spec = _sub(template, "spec")
        # Upstream defaults the pod template inside a CronJob but leaves job counts to job creation.
        _pod_template(job_spec.get("template"))


def _hpa(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _d(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    behavior = _sub(spec, "behavior")
    up = _sub(behavior, "scaleUp")
    _d(up, "stabilizationWindowSeconds", 0)
    _d(up, "selectPolicy", "Max")
    _d(up, "policies", [{"type": "Pods", "value": 4, "periodSeconds": 15},
                        {"type": "Percent", "value": 100, "periodSeconds": 15}])
    down = _sub(behavior, "scaleDown")
    _d(down, "stabilizationWindowSeconds", 300)
    _d(down, "selectPolicy", "Max")
    _d(down, "policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])


def _hpa_v1(obj: Obj) -> None:
    # The CPU target's default (80%) is v1 -> v2 conversion's business, as upstream has it.
    _d(_sub(obj, "spec"), "minReplicas", 1)


# ---------------------------------------------------------------------------------------------
# networking, storage, rbac, apiextensions


def _network_policy(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types
    for rule in _dicts(spec.get("ingress")) + _dicts(spec.get("egress")):
        for port in _dicts(rule.get("ports")):
            _d(port, "protocol", "TCP")


def _storage_class(obj: Obj) -> None:
    _d(obj, "reclaimPolicy", "Delete")
    _d(obj, "volumeBindingMode", "Immediate")


def _binding_subjects(obj: Obj) -> None:
    for subject in _dicts(obj.get("subjects")):
        if subject.get("kind") in ("User", "Group"):
            _d(subject, "apiGroup", "rbac.authorization.k8s.io")


def _crd(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    names = _sub(spec, "names")
    if isinstance(names.get("kind"), str):
        _d(names, "singular", names["kind"].lower())
        _d(names, "listKind", names["kind"] + "List")
    _d(_sub(spec, "conversion"), "strategy", "None")


_DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("v1", "Pod"): _pod,
    ("v1", "Service"): _service,
    ("v1", "Endpoints"): _endpoints,
    ("v1", "Secret"): _secret,
    ("v1", "Node"): _node,
    ("v1", "Namespace"): _namespace,
    ("v1", "PersistentVolume"): _persistent_volume,
    ("v1", "PersistentVolumeClaim"): _persistent_volume_claim,
    ("v1", "LimitRange"): _limit_range,
    ("apps/v1", "Deployment"): _deployment,
    ("apps/v1", "ReplicaSet"): _replica_set,
    ("apps/v1", "StatefulSet"): _stateful_set,
    ("apps/v1", "DaemonSet"): _daemon_set,
    ("batch/v1", "Job"): _job,
    ("batch/v1", "CronJob"): _cron_job,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): _hpa,
    ("autoscaling/v1", "HorizontalPodAutoscaler"): _hpa_v1,
    ("discovery.k8s.io/v1", "EndpointSlice"): _endpoint_slice,
    ("networking.k8s.io/v1", "NetworkPolicy"): _network_policy,
    ("storage.k8s.io/v1", "StorageClass"): _storage_class,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): _binding_subjects,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): _binding_subjects,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): _crd,
}


def apply_defaults(rt: ResourceType, obj: Obj) -> None:
    """Fill in the defaults of ``rt``'s kind in place; kinds without defaults are left alone.

    Custom resources follow their CRD's structural schema: fields it does not declare are pruned
    (unless it preserves unknown fields) and its ``default`` values are filled in.
    """
    if rt.custom:
        normalize_custom_object(obj, custom_schema(rt.group, rt.version, rt.plural))
        return
    if decode_errors(rt, obj):
        return  # ill-typed: validation refuses it; defaulting it would only hide the problem
    defaulter = _DEFAULTERS.get((rt.api_version, rt.kind))
    if defaulter is not None:
        defaulter(obj)
