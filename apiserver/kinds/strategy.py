"""Create and update preparation per kind: what the apiserver itself decides, not the client.

Upstream calls these the REST strategies' ``PrepareForCreate``/``PrepareForUpdate``. They run
after the apiserver has assigned name, uid and creationTimestamp and before validation:

- on create, a status the client sent is replaced for kinds whose status belongs to a
  controller (a new Deployment has no replicas yet; a new Pod is ``Pending`` with its QoS class);
  ``metadata.generation`` starts at 1; a Job gets a generated selector bound to its uid;
- on update of the main resource, the status is carried over from the stored object (status
  changes only through ``/status``) and ``generation`` goes up when the spec changed;
- on update of ``/status``, everything but the status is carried over from the stored object.
"""

from __future__ import annotations

import copy
from typing import Any

from apiserver.kinds.registry import ResourceType
from apiserver.openapi.typecheck import decode_errors
from client.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]

# Kinds whose metadata.generation tracks spec changes.
_GENERATION_KINDS = {
    ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"), ("batch/v1", "CronJob"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "NetworkPolicy"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
}

# Kinds whose status is written by someone else and so starts empty.
_RESET_STATUS_KINDS = {
    ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"), ("batch/v1", "CronJob"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "Ingress"), ("v1", "ResourceQuota"), ("v1", "PersistentVolumeClaim"),
    ("v1", "PersistentVolume"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
}

QOS_GUARANTEED, QOS_BURSTABLE, QOS_BEST_EFFORT = "Guaranteed", "Burstable", "BestEffort"


def tracks_generation(rt: ResourceType) -> bool:
    return rt.custom or (rt.api_version, rt.kind) in _GENERATION_KINDS


def pod_qos_class(pod: Obj) -> str:
    """Guaranteed when every container limits cpu and memory with equal requests; BestEffort when
    nothing is requested or limited; Burstable otherwise (the kubelet's eviction order)."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("initContainers") or []) + list(spec.get("containers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        resources = (c or {}).get("resources") or {}
        requests = {k: v for k, v in (resources.get("requests") or {}).items() if k in ("cpu", "memory")}
        limits = {k: v for k, v in (resources.get("limits") or {}).items() if k in ("cpu", "memory")}
        if _nonzero(requests) or _nonzero(limits):
            any_set = True
        if set(limits) != {"cpu", "memory"}:
            guaranteed = False
            continue
        for name, limit in limits.items():
            request = requests.get(name, limit)
            try:
                if parse_quantity(request) != parse_quantity(limit):
                    guaranteed = False
            except QuantityError:
                guaranteed = False
    if not any_set:
        return QOS_BEST_EFFORT
    return QOS_GUARANTEED if guaranteed else QOS_BURSTABLE


def _nonzero(values: dict) -> bool:
    for v in values.values():
        try:
            if parse_quantity(v) != 0:
                return True
        except QuantityError:
            return True
    return False


def _job_selector(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector") is True:
        return
    meta = obj.get("metadata") or {}
    uid, name = meta.get("uid", ""), meta.get("name", "")
    template = spec.get("template")
    if not isinstance(template, dict):
        return  # validation reports the missing template
    if not isinstance(template.get("metadata"), dict):
        template["metadata"] = {}
    if not isinstance(template["metadata"].get("labels"), dict):
        template["metadata"]["labels"] = {}
    labels = template["metadata"]["labels"]
    labels.setdefault("batch.kubernetes.io/controller-uid", uid)
    labels.setdefault("batch.kubernetes.io/job-name", name)
    labels.setdefault("controller-uid", uid)
    labels.setdefault("job-name", name)
    if not spec.get("selector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def prepare_for_create(rt: ResourceType, obj: Obj) -> None:
    """Server-owned fields of a new object; call after uid/name are assigned, before validation."""
    key = (rt.api_version, rt.kind)
    if not isinstance(obj.get("metadata"), dict) or decode_errors(rt, obj):
        return  # ill-typed: validation refuses it
    meta = obj["metadata"]
    if tracks_generation(rt):
        meta["generation"] = 1
    if key in _RESET_STATUS_KINDS:
        obj["status"] = {}
        if key in (("v1", "PersistentVolumeClaim"), ("v1", "PersistentVolume")):
            obj["status"]["phase"] = "Pending"
    if key == ("v1", "Pod"):
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(obj)}
    elif key == ("v1", "Namespace"):
        obj["status"] = {"phase": "Active"}
        if not isinstance(obj.get("spec"), dict):
            obj["spec"] = {}
        obj["spec"].setdefault("finalizers", ["kubernetes"])
    elif key == ("batch/v1", "Job"):
        _job_selector(obj)


def _spec_part(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _keep_service_allocations(obj: Obj, old: Obj) -> None:
    """A PUT that leaves out clusterIP/nodePorts keeps the allocated ones (like upstream's
    ``patchAllocatedValues``), so ``kubectl replace`` of a manifest does not hit immutability."""
    spec, old_spec = obj.get("spec"), old.get("spec") or {}
    if not isinstance(spec, dict) or spec.get("type", "ClusterIP") == "ExternalName":
        return
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
        if old_spec.get("clusterIPs"):
            spec["clusterIPs"] = list(old_spec["clusterIPs"])
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                     for p in old_spec.get("ports") or [] if isinstance(p, dict)}
        for port in spec.get("ports") or []:
            if isinstance(port, dict) and not port.get("nodePort"):
                node_port = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
                if node_port:
                    port["nodePort"] = node_port


def prepare_for_update(rt: ResourceType, obj: Obj, old: Obj) -> None:
    """Main-resource update: keep the stored status where ``/status`` owns it; bump generation."""
    if not isinstance(obj.get("metadata"), dict) or decode_errors(rt, obj):
        return  # ill-typed: validation refuses it
    if (rt.api_version, rt.kind) == ("v1", "Service"):
        _keep_service_allocations(obj, old)
    if "status" in rt.subresources:
        if "status" in old:
            obj["status"] = copy.deepcopy(old["status"])
        else:
            obj.pop("status", None)
    meta = obj.setdefault("metadata", {})
    old_generation = (old.get("metadata") or {}).get("generation")
    if tracks_generation(rt):
        generation = old_generation or 1
        if _spec_part(obj) != _spec_part(old):
            generation += 1
        meta["generation"] = generation
    elif old_generation is not None:
        meta["generation"] = old_generation


def prepare_for_status_update(rt: ResourceType, obj: Obj, old: Obj) -> Obj:
    """A ``/status`` write changes only status: the result is the stored object with new status."""
    result = copy.deepcopy(old)
    if "status" in obj:
        result["status"] = copy.deepcopy(obj["status"])
    else:
        result.pop("status", None)
    new_rv = (obj.get("metadata") or {}).get("resourceVersion")
    if new_rv is not None:
        result.setdefault("metadata", {})["resourceVersion"] = new_rv
    return result
