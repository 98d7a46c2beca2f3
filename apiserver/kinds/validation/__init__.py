"""Validation per kind, the way Kubernetes validates: every bad field becomes one ``Cause``.

``validate(rt, obj, old)`` checks an object before it is stored: metadata (name syntax for the
kind, namespace presence, labels, annotations, owner references, finalizers), then the kind's
own rules. With ``old`` it is an update: identity fields in metadata and the kind's immutable
fields must not change. Nothing here mutates the object; defaulting and create/update
preparation happen before (see ``defaults`` and ``strategy``).

Custom resources get metadata validation plus a structural check against their CRD schema.
"""

from __future__ import annotations

from collections.abc import Callable

from apiserver.kinds.registry import ResourceType, custom_schema
from apiserver.kinds.validation import cluster, core, workloads
from apiserver.kinds.validation.common import (
    NAME_VALIDATORS,
    NameValidator,
    validate_object_meta,
    validate_object_meta_update,
)
from apiserver.kinds.validation.errors import (
    Cause,
    invalid,
    invalid_message,
    not_supported,
    qualified_kind,
)
from apiserver.kinds.validation.pod import validate_pod_spec, validate_pod_update
from apiserver.kinds.validation.schema import validate_against_schema
from apiserver.openapi.typecheck import decode_errors

__all__ = ["Cause", "validate", "validate_status_update", "invalid_message", "qualified_kind"]

KindValidator = Callable[[dict, "dict | None"], list[Cause]]


def _pod(obj: dict, old: dict | None) -> list[Cause]:
    if old is not None:
        return validate_pod_update(obj, old) + validate_pod_spec(obj.get("spec"))
    return validate_pod_spec(obj.get("spec"))


# (apiVersion, kind) -> (name rule, kind validator)
_KINDS: dict[tuple[str, str], tuple[str, KindValidator | None]] = {
    ("v1", "Namespace"): ("label", core.validate_namespace),
    ("v1", "Node"): ("subdomain", core.validate_node),
    ("v1", "Pod"): ("subdomain", _pod),
    ("v1", "Service"): ("dns1035", core.validate_service),
    ("v1", "Endpoints"): ("subdomain", core.validate_endpoints),
    ("v1", "ConfigMap"): ("subdomain", core.validate_config_map),
    ("v1", "Secret"): ("subdomain", core.validate_secret),
    ("v1", "ServiceAccount"): ("subdomain", core.validate_service_account),
    ("v1", "Event"): ("subdomain", core.validate_event),
    ("v1", "PersistentVolume"): ("subdomain", core.validate_persistent_volume),
    ("v1", "PersistentVolumeClaim"): ("subdomain", core.validate_persistent_volume_claim),
    ("v1", "ResourceQuota"): ("subdomain", core.validate_resource_quota),
    ("v1", "LimitRange"): ("subdomain", core.validate_limit_range),
    ("apps/v1", "Deployment"): ("subdomain", workloads.validate_deployment),
    ("apps/v1", "ReplicaSet"): ("subdomain", workloads.validate_replica_set),
    ("apps/v1", "StatefulSet"): ("subdomain", workloads.validate_stateful_set),
    ("apps/v1", "DaemonSet"): ("subdomain", workloads.validate_daemon_set),
    ("apps/v1", "ControllerRevision"): ("subdomain", workloads.validate_controller_revision),
    ("batch/v1", "Job"): ("subdomain", workloads.validate_job),
    ("batch/v1", "CronJob"): ("subdomain", workloads.validate_cron_job),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("subdomain", workloads.validate_hpa),
    ("autoscaling/v1", "HorizontalPodAutoscaler"): ("subdomain", workloads.validate_hpa_v1),
    ("discovery.k8s.io/v1", "EndpointSlice"): ("subdomain", cluster.validate_endpoint_slice),
    ("coordination.k8s.io/v1", "Lease"): ("subdomain", cluster.validate_lease),
    ("networking.k8s.io/v1", "Ingress"): ("subdomain", cluster.validate_ingress),
    ("networking.k8s.io/v1", "IngressClass"): ("subdomain", cluster.validate_ingress_class),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("subdomain", cluster.validate_network_policy),
    ("storage.k8s.io/v1", "StorageClass"): ("subdomain", cluster.validate_storage_class),
    ("rbac.authorization.k8s.io/v1", "Role"): ("path", cluster.validate_role),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("path", cluster.validate_role_binding),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("path", cluster.validate_cluster_role),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("path", cluster.validate_cluster_role_binding),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): ("subdomain", cluster.validate_crd),
    ("events.k8s.io/v1", "Event"): ("subdomain", cluster.validate_events_v1_event),
}


def name_validator(rt: ResourceType) -> NameValidator:
    rule = _KINDS.get((rt.api_version, rt.kind), ("subdomain", None))[0]
    return NAME_VALIDATORS[rule]


def _type_meta(rt: ResourceType, obj: dict) -> list[Cause]:
    causes = []
    if obj.get("apiVersion") not in (None, rt.api_version):
        causes.append(invalid("apiVersion", obj.get("apiVersion"), f"must be {rt.api_version}"))
    if obj.get("kind") not in (None, rt.kind):
        causes.append(invalid("kind", obj.get("kind"), f"must be {rt.kind}"))
    return causes


def type_causes(rt: ResourceType, obj: dict) -> list[Cause]:
    """Values of the wrong JSON type, as causes (upstream refuses these while decoding, with 400)."""
    causes = []
    for message in decode_errors(rt, obj):
        path = message.split(" into Go struct field ", 1)[-1].split(" of type ")[0]
        field = path.split(".", 1)[1] if "." in path else path
        causes.append(Cause("FieldValueTypeInvalid", field, message))
    return causes


def validate(rt: ResourceType, obj: dict, old: dict | None = None, schema: dict | None = None) -> list[Cause]:
    """All causes that make ``obj`` unacceptable; create when ``old`` is None, else update.

    ``schema`` is a custom resource's openAPIV3Schema (the registry's copy is used when omitted).
    """
    if not isinstance(obj, dict):
        return [invalid("", obj, "must be an object")]
    type_errors = type_causes(rt, obj)
    if type_errors:
        return type_errors
    causes = _type_meta(rt, obj)
    meta = obj.get("metadata")
    causes += validate_object_meta(meta, rt.namespaced, name_validator(rt))
    if old is not None and isinstance(meta, dict):
        causes += validate_object_meta_update(meta, old.get("metadata") or {})
    if rt.custom:
        if schema is None:
            schema = custom_schema(rt.group, rt.version, rt.plural)
        if schema:
            body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
            root = {k: v for k, v in schema.items() if k != "properties"}
            root["properties"] = {k: v for k, v in (schema.get("properties") or {}).items()
                                  if k not in ("apiVersion", "kind", "metadata")}
            causes += validate_against_schema(body, root, "")
        return causes
    entry = _KINDS.get((rt.api_version, rt.kind))
    if entry is not None and entry[1] is not None:
        causes += entry[1](obj, old)
    return causes


def validate_status_update(rt: ResourceType, obj: dict, old: dict) -> list[Cause]:
    """A ``/status`` write: identity must not change; the status itself is the writer's business."""
    if not isinstance(obj, dict):
        return [invalid("", obj, "must be an object")]
    type_errors = type_causes(rt, obj)
    if type_errors:
        return type_errors
    causes = _type_meta(rt, obj)
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        causes += validate_object_meta_update(meta, old.get("metadata") or {})
    if rt.api_version == "v1" and rt.kind == "Pod":
        status = obj.get("status")
        phase = status.get("phase") if isinstance(status, dict) else None
        if phase not in (None, "Pending", "Running", "Succeeded", "Failed", "Unknown"):
            causes.append(not_supported("status.phase", phase,
                                        ("Pending", "Running", "Succeeded", "Failed", "Unknown")))
    return causes
