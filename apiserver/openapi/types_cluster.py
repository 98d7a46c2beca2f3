"""discovery, coordination, networking, storage, rbac, apiextensions and events.k8s.io kinds."""

from __future__ import annotations

from apiserver.openapi.model import META, arr, b, define, free, generic_resource, i32, obj, s, strmap

NET = "io.k8s.api.networking.v1."
RBAC = "io.k8s.api.rbac.v1."
EXT = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

generic_resource("io.k8s.api.discovery.v1.EndpointSlice", "discovery.k8s.io", "v1", "EndpointSlice",
                 "A subset of the endpoints of a service.", ("addressType", "endpoints", "ports"))
define("io.k8s.api.coordination.v1.LeaseSpec", "The holder and timing of a lease.", {
    "holderIdentity": s("Identity of the current holder."),
    "leaseDurationSeconds": i32("Seconds a candidate must wait before it may take the lease over."),
    "acquireTime": obj("microtime", "When the current holder acquired the lease."),
    "renewTime": obj("microtime", "When the holder last renewed the lease."),
    "leaseTransitions": i32("How many times the lease changed holders."),
    "strategy": s("Strategy for picking a leader in coordinated election."),
    "preferredHolder": s("Holder that should take the lease next."),
})
define("io.k8s.api.coordination.v1.Lease", "A lease used for leader election and node heartbeats.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"Lease\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
    "spec": obj("io.k8s.api.coordination.v1.LeaseSpec", "The lease's holder and timing."),
}, gvk=("coordination.k8s.io", "v1", "Lease"))

generic_resource(NET + "Ingress", "networking.k8s.io", "v1", "Ingress",
                 "Rules routing external HTTP(S) traffic to services.", ("spec", "status"))
generic_resource(NET + "IngressClass", "networking.k8s.io", "v1", "IngressClass",
                 "The controller that implements a class of ingresses.", ("spec",))
generic_resource(NET + "NetworkPolicy", "networking.k8s.io", "v1", "NetworkPolicy",
                 "Which traffic is allowed to and from a set of pods.", ("spec",))
define("io.k8s.api.storage.v1.StorageClass", "A class of storage that volumes are provisioned from.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"StorageClass\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
    "provisioner": s("The volume plugin that provisions volumes of this class."),
    "parameters": strmap("Provisioner-specific parameters."),
    "reclaimPolicy": s("Delete (default) or Retain for provisioned volumes."),
    "mountOptions": arr("string", "Mount options for provisioned volumes.", list_type="atomic"),
    "allowVolumeExpansion": b("Whether claims of this class can grow."),
    "volumeBindingMode": s("Immediate (default) or WaitForFirstConsumer."),
    "allowedTopologies": free("Where volumes may be provisioned."),
}, required=("provisioner",), gvk=("storage.k8s.io", "v1", "StorageClass"))

define(RBAC + "PolicyRule", "Actions allowed on resources or non-resource URLs.", {
    "verbs": arr("string", "Verbs allowed, such as get, list, watch, create, or * for all.", list_type="atomic"),
    "apiGroups": arr("string", "API groups of the resources; \"\" is the core group.", list_type="atomic"),
    "resources": arr("string", "Resources, such as pods or deployments/scale.", list_type="atomic"),
    "resourceNames": arr("string", "Names the rule is limited to.", list_type="atomic"),
    "nonResourceURLs": arr("string", "URL paths such as /healthz (ClusterRoles only).", list_type="atomic"),
}, required=("verbs",))
define(RBAC + "Subject", "Who a binding grants to.", {
    "kind": s("User, Group or ServiceAccount."), "apiGroup": s("rbac.authorization.k8s.io for users and groups."),
    "name": s("Name of the subject."), "namespace": s("Namespace of a ServiceAccount."),
}, required=("kind", "name"))
define(RBAC + "RoleRef", "The role a binding grants.", {
    "apiGroup": s("Always rbac.authorization.k8s.io."), "kind": s("Role or ClusterRole."),
    "name": s("Name of the role."),
}, required=("apiGroup", "kind", "name"))
for _kind, _scope in (("Role", "a namespace"), ("ClusterRole", "the cluster")):
    define(RBAC + _kind, f"Permissions within {_scope}.", {
        "apiVersion": s("The versioned schema of this object."), "kind": s(f"Always \"{_kind}\"."),
        "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
        "rules": arr(RBAC + "PolicyRule", "The permissions granted.", list_type="atomic"),
        **({"aggregationRule": free("Selectors of ClusterRoles whose rules are aggregated into this one.")}
           if _kind == "ClusterRole" else {}),
    }, gvk=("rbac.authorization.k8s.io", "v1", _kind))
for _kind, _scope in (("RoleBinding", "a namespace"), ("ClusterRoleBinding", "the whole cluster")):
    define(RBAC + _kind, f"Grants a role's permissions to subjects within {_scope}.", {
        "apiVersion": s("The versioned schema of this object."), "kind": s(f"Always \"{_kind}\"."),
        "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
        "subjects": arr(RBAC + "Subject", "Who gets the permissions.", list_type="atomic"),
        "roleRef": obj(RBAC + "RoleRef", "The role granted; cannot be changed."),
    }, required=("roleRef",), gvk=("rbac.authorization.k8s.io", "v1", _kind))

generic_resource(EXT + "CustomResourceDefinition", "apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                 "Adds a custom resource type to the API, served under /apis/<group>/<version>/<plural>.",
                 ("spec", "status"))
define("io.k8s.api.events.v1.Event", "A report of something that happened to an object.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"Event\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
    "eventTime": obj("microtime", "When the event first occurred."),
    "series": free("Data about a series of repeated events."),
    "reportingController": s("The controller that emitted the event, such as kubernetes.io/kubelet."),
    "reportingInstance": s("The instance of that controller, such as kubelet-node1."),
    "action": s("What action was taken or failed."),
    "reason": s("Short CamelCase reason."),
    "regarding": obj("io.k8s.api.core.v1.ObjectReference", "The object the event is about."),
    "related": obj("io.k8s.api.core.v1.ObjectReference", "A second object involved, if any."),
    "note": s("Human-readable description."),
    "type": s("Normal or Warning."),
    "deprecatedSource": free("The core/v1 source field."),
    "deprecatedFirstTimestamp": obj("time", "The core/v1 firstTimestamp field."),
    "deprecatedLastTimestamp": obj("time", "The core/v1 lastTimestamp field."),
    "deprecatedCount": i32("The core/v1 count field."),
}, required=("eventTime",), gvk=("events.k8s.io", "v1", "Event"))
