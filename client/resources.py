"""What the client knows about a resource type: enough to build its URLs.

A ``Resource`` is plain data (group, version, plural, kind, scope). Requests are built from it,
so nothing in the client needs discovery to talk about the built-in kinds; custom resources are
described by constructing a ``Resource`` by hand (``Resource("example.com", "v1", "widgets",
"Widget")``). The table below holds the kinds the control plane's components use, looked up by
name (``PODS``) or by ``apiVersion`` + ``kind`` (``for_object(obj)``) when an object is at hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``v1`` or ``apps/v1``: what goes into an object's ``apiVersion``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def qualified_name(self) -> str:
        """``pods`` or ``deployments.apps``, as kubectl and Status messages spell it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def __str__(self) -> str:
        return self.qualified_name


def _core(plural: str, kind: str, namespaced: bool = True) -> Resource:
    return Resource("", "v1", plural, kind, namespaced)


NAMESPACES = _core("namespaces", "Namespace", namespaced=False)
NODES = _core("nodes", "Node", namespaced=False)
PODS = _core("pods", "Pod")
SERVICES = _core("services", "Service")
ENDPOINTS = _core("endpoints", "Endpoints")
CONFIGMAPS = _core("configmaps", "ConfigMap")
SECRETS = _core("secrets", "Secret")
SERVICEACCOUNTS = _core("serviceaccounts", "ServiceAccount")
EVENTS = _core("events", "Event")
PERSISTENTVOLUMES = _core("persistentvolumes", "PersistentVolume", namespaced=False)
PERSISTENTVOLUMECLAIMS = _core("persistentvolumeclaims", "PersistentVolumeClaim")
RESOURCEQUOTAS = _core("resourcequotas", "ResourceQuota")
LIMITRANGES = _core("limitranges", "LimitRange")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet")
STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet")
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet")
CONTROLLERREVISIONS = Resource("apps", "v1", "controllerrevisions", "ControllerRevision")
JOBS = Resource("batch", "v1", "jobs", "Job")
CRONJOBS = Resource("batch", "v1", "cronjobs", "CronJob")
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress")
INGRESSCLASSES = Resource("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False)
NETWORKPOLICIES = Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")
STORAGECLASSES = Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False)
HORIZONTALPODAUTOSCALERS = Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")
ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
CLUSTERROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False)
CLUSTERROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
                               namespaced=False)
CUSTOMRESOURCEDEFINITIONS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                     "CustomResourceDefinition", namespaced=False)

BUILTIN: tuple[Resource, ...] = (
    NAMESPACES, NODES, PODS, SERVICES, ENDPOINTS, CONFIGMAPS, SECRETS, SERVICEACCOUNTS, EVENTS,
    PERSISTENTVOLUMES, PERSISTENTVOLUMECLAIMS, RESOURCEQUOTAS, LIMITRANGES, DEPLOYMENTS, REPLICASETS,
    STATEFULSETS, DAEMONSETS, CONTROLLERREVISIONS, JOBS, CRONJOBS, ENDPOINTSLICES, LEASES, INGRESSES,
    INGRESSCLASSES, NETWORKPOLICIES, STORAGECLASSES, HORIZONTALPODAUTOSCALERS, ROLES, ROLEBINDINGS,
    CLUSTERROLES, CLUSTERROLEBINDINGS, CUSTOMRESOURCEDEFINITIONS,
)

_BY_GVK: dict[tuple[str, str], Resource] = {(r.api_version, r.kind): r for r in BUILTIN}


def for_kind(api_version: str, kind: str) -> Resource:
    """The built-in resource for ``apiVersion`` + ``kind``; KeyError names what is unknown."""
    try:
        return _BY_GVK[(api_version, kind)]
    except KeyError:
        raise KeyError(f"no built-in resource for apiVersion {api_version!r} kind {kind!r}; "
                       "describe it with client.resources.Resource(...)") from None


def for_object(obj: Mapping[str, Any]) -> Resource:
    """The built-in resource an object belongs to, from its ``apiVersion`` and ``kind``."""
    return for_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
