"""Which resource types the apiserver serves, and what Kubernetes says about each.

Everything the HTTP layer needs to route a request and answer discovery lives in one immutable
``ResourceType`` value per type: group/version, kind, plural and singular names, scope, short
names and categories (exactly as upstream Kubernetes publishes them, because ``kubectl get po``
and ``kubectl get all`` depend on them), verbs and subresources.

Built-in types are a fixed table. Custom resources are added and removed at runtime as their
CustomResourceDefinitions become established or go away; they live in a separate dict guarded by
a lock so discovery can be served while a CRD controller changes it. A custom type may not shadow
a built-in one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

ALL_VERBS: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# Namespaces cannot be deleted as a collection upstream.
NO_COLLECTION_DELETE: tuple[str, ...] = ("create", "delete", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    custom: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def api_prefix(self) -> str:
        """URL prefix of the group/version: ``/api/v1`` or ``/apis/apps/v1``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def resource(self) -> str:
        """``pods`` or ``deployments.apps``: the name kubectl and RBAC use."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def has_subresource(self, name: str) -> bool:
        return name in self.subresources


def _rt(group: str, version: str, kind: str, plural: str, namespaced: bool, **kw: object) -> ResourceType:
    return ResourceType(group, version, kind, plural, kind.lower(), namespaced, **kw)  # type: ignore[arg-type]


_POD_SUBRESOURCES = ("attach", "binding", "ephemeralcontainers", "eviction", "exec", "log", "portforward",
                     "proxy", "status")

_BUILTIN: tuple[ResourceType, ...] = (
    # core/v1
    _rt("", "v1", "Namespace", "namespaces", False, short_names=("ns",), verbs=NO_COLLECTION_DELETE,
        subresources=("finalize", "status")),
    _rt("", "v1", "Node", "nodes", False, short_names=("no",), subresources=("proxy", "status")),
    _rt("", "v1", "Pod", "pods", True, short_names=("po",), categories=("all",),
        subresources=_POD_SUBRESOURCES),
    _rt("", "v1", "Service", "services", True, short_names=("svc",), categories=("all",),
        subresources=("proxy", "status")),
    _rt("", "v1", "Endpoints", "endpoints", True, short_names=("ep",)),
    # POST-only: the older way to bind a pod (the scheduler uses pods/<name>/binding)
    _rt("", "v1", "Binding", "bindings", True, verbs=("create",)),
    _rt("", "v1", "ConfigMap", "configmaps", True, short_names=("cm",)),
    _rt("", "v1", "Secret", "secrets", True),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", True, short_names=("sa",), subresources=("token",)),
    _rt("", "v1", "Event", "events", True, short_names=("ev",)),
    _rt("", "v1", "PersistentVolume", "persistentvolumes", False, short_names=("pv",),
        subresources=("status",)),
    _rt("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, short_names=("pvc",),
        subresources=("status",)),
    _rt("", "v1", "ResourceQuota", "resourcequotas", True, short_names=("quota",), subresources=("status",)),
    _rt("", "v1", "LimitRange", "limitranges", True, short_names=("limits",)),
    # apps/v1
    _rt("apps", "v1", "Deployment", "deployments", True, short_names=("deploy",), categories=("all",),
        subresources=("scale", "status")),
    _rt("apps", "v1", "ReplicaSet", "replicasets", True, short_names=("rs",), categories=("all",),
        subresources=("scale", "status")),
    _rt("apps", "v1", "StatefulSet", "statefulsets", True, short_names=("sts",), categories=("all",),
        subresources=("scale", "status")),
    _rt("apps", "v1", "DaemonSet", "daemonsets", True, short_names=("ds",), categories=("all",),
        subresources=("status",)),
    _rt("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    # batch/v1
    _rt("batch", "v1", "Job", "jobs", True, categories=("all",), subresources=("status",)),
    _rt("batch", "v1", "CronJob", "cronjobs", True, short_names=("cj",), categories=("all",),
        subresources=("status",)),
    # discovery, coordination
    _rt("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    _rt("coordination.k8s.io", "v1", "Lease", "leases", True),
    # networking
    _rt("networking.k8s.io", "v1", "Ingress", "ingresses", True, short_names=("ing",),
        subresources=("status",)),
    _rt("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    _rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, short_names=("netpol",)),
    # storage
    _rt("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, short_names=("sc",)),
    # autoscaling
    _rt("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True,
        short_names=("hpa",), categories=("all",), subresources=("status",)),
    # the same stored autoscaler seen through the older version (kubectl autoscale writes it)
    _rt("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True,
        short_names=("hpa",), categories=("all",), subresources=("status",)),
    # rbac
    _rt("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    _rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    # apiextensions
    _rt("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
        short_names=("crd", "crds"), categories=("api-extensions",), subresources=("status",)),
    # events.k8s.io: the same stored Event seen through the newer API group
    _rt("events.k8s.io", "v1", "Event", "events", True, short_names=("ev",)),
)

# Group preference order for discovery: core first, then the order Kubernetes lists groups.
GROUP_ORDER: tuple[str, ...] = (
    "", "apps", "events.k8s.io", "autoscaling", "batch", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "apiextensions.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
)

_BY_PATH: dict[tuple[str, str, str], ResourceType] = {(t.group, t.version, t.plural): t for t in _BUILTIN}
_BY_KIND: dict[tuple[str, str], ResourceType] = {}
for _t in _BUILTIN:
    _BY_KIND.setdefault((_t.api_version, _t.kind), _t)

_custom_lock = threading.Lock()
_custom: dict[tuple[str, str, str], ResourceType] = {}
_custom_schemas: dict[tuple[str, str, str], dict | None] = {}
_custom_columns: dict[tuple[str, str, str], list[dict] | None] = {}


class RegistryError(ValueError):
    """A custom type clashes with a served type."""


def builtin_types() -> list[ResourceType]:
    return list(_BUILTIN)


def all_types() -> list[ResourceType]:
    """Every served type: built-in ones first (in a stable order), then custom ones."""
    with _custom_lock:
        custom = list(_custom.values())
    return list(_BUILTIN) + sorted(custom, key=lambda t: (t.group, t.version, t.plural))


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    """The type served at ``/apis/<group>/<version>/<plural>`` (group "" for ``/api/v1``)."""
    key = (group, version, plural)
    found = _BY_PATH.get(key)
    if found is not None:
        return found
    with _custom_lock:
        return _custom.get(key)


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    """The type whose objects carry this ``apiVersion`` and ``kind``."""
    found = _BY_KIND.get((api_version, kind))
    if found is not None:
        return found
    with _custom_lock:
        for t in _custom.values():
            if t.api_version == api_version and t.kind == kind:
                return t
    return None


def group_versions() -> list[tuple[str, str]]:
    """Served (group, version) pairs, core first, in discovery order."""
    seen: dict[tuple[str, str], None] = {}
    for t in all_types():
        seen.setdefault((t.group, t.version), None)
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    return sorted(seen, key=lambda gv: (order.get(gv[0], len(order)), gv[0], gv[1]))


def types_in(group: str, version: str) -> list[ResourceType]:
    return [t for t in all_types() if t.group == group and t.version == version]


def register_custom(rt: ResourceType, schema: dict | None = None,
                    printer_columns: list[dict] | None = None) -> None:
    """Serve a custom resource type (from an established CRD); replaces an earlier registration.

    ``schema`` is the version's ``openAPIV3Schema`` (kept for validation and OpenAPI publishing);
    ``printer_columns`` its ``additionalPrinterColumns`` (for the Table form).
    """
    key = (rt.group, rt.version, rt.plural)
    if key in _BY_PATH or (rt.api_version, rt.kind) in _BY_KIND:
        raise RegistryError(f"{rt.plural}.{rt.group}/{rt.version} would shadow a built-in resource")
    if not rt.custom:
        rt = ResourceType(rt.group, rt.version, rt.kind, rt.plural, rt.singular, rt.namespaced,
                          rt.short_names, rt.categories, rt.verbs, rt.subresources, custom=True)
    with _custom_lock:
        _custom[key] = rt
        _custom_schemas[key] = schema
        _custom_columns[key] = printer_columns


def unregister_custom(group: str, version: str, plural: str) -> None:
    """Stop serving a custom type; unknown types are ignored, so CRD deletion is idempotent."""
    with _custom_lock:
        _custom.pop((group, version, plural), None)
        _custom_schemas.pop((group, version, plural), None)
        _custom_columns.pop((group, version, plural), None)


def custom_schema(group: str, version: str, plural: str) -> dict | None:
    with _custom_lock:
        return _custom_schemas.get((group, version, plural))


def custom_printer_columns(group: str, version: str, plural: str) -> list[dict] | None:
    with _custom_lock:
        return _custom_columns.get((group, version, plural))


def resolve(name: str) -> list[ResourceType]:
    """Types a kubectl-style name refers to: plural, singular, short name, kind, or ``name.group``.

    Used for human input (tests, kyb tooling); the HTTP API itself routes by exact plural.
    """
    lowered = name.lower()
    base, _, group = lowered.partition(".")
    matches = []
    for t in all_types():
        if group and t.group != group and not t.group.startswith(group + "."):
            continue
        if base in (t.plural, t.singular, t.kind.lower()) or base in t.short_names:
            matches.append(t)
    return matches
