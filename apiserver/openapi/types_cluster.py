"""discovery, coordination, networking, storage, rbac, apiextensions and events.k8s.io kinds."""

from __future__ import annotations

from apiserver.openapi.model import META, Prop, arr, b, define, free, i32, obj, s, strmap

NET = "io.k8s.api.networking.v1."
RBAC = "io.k8s.api.rbac.v1."
EXT = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

DISC = "io.k8s.api.discovery.v1."
define(DISC + "EndpointConditions", "The state of an endpoint.", {
    "ready": b("Ready to receive traffic; false while serving but terminating."),
    "serving": b("The backend is serving, regardless of termination."),
    "terminating": b("The backend is terminating."),
})
define(DISC + "Endpoint", "One backend of a service.", {
    "addresses": arr("string", "Addresses of the backend, all of the slice's addressType.", list_type="set"),
    "conditions": obj(DISC + "EndpointConditions", "Readiness, serving and terminating state."),
    "hostname": s("Hostname of the backend."),
    "targetRef": obj("io.k8s.api.core.v1.ObjectReference", "The object (usually a pod) behind the endpoint."),
    "nodeName": s("The node hosting the endpoint."),
    "zone": s("The zone of the endpoint."),
    "hints": free("Topology hints for routing."),
    "deprecatedTopology": strmap("Deprecated topology labels."),
}, required=("addresses",))
define(DISC + "EndpointPort", "A port of an endpoint slice.", {
    "name": s("Matches the service port name."), "protocol": s("TCP, UDP or SCTP."),
    "port": i32("The port number; unset means all ports."), "appProtocol": s("Application protocol."),
})
define(DISC + "EndpointSlice", "A subset of the backends of a service, maintained by the endpoint slice "
                               "controller.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"EndpointSlice\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata; the kubernetes.io/service-name label names "
                                         "the service."),
    "addressType": s("IPv4, IPv6 or FQDN: the type of every address in the slice.", enum=("FQDN", "IPv4", "IPv6")),
    "endpoints": arr(DISC + "Endpoint", "The backends; at most 1000.", list_type="atomic"),
    "ports": arr(DISC + "EndpointPort", "Ports every endpoint exposes.", list_type="atomic"),
}, required=("addressType", "endpoints"), gvk=("discovery.k8s.io", "v1", "EndpointSlice"))
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

define(NET + "ServiceBackendPort", "A port of a backend service, by name or number.", {
    "name": s("Port name of the service."), "number": i32("Port number of the service."),
})
define(NET + "IngressServiceBackend", "A service that receives matching requests.", {
    "name": s("Name of the service, in the ingress's namespace."),
    "port": obj(NET + "ServiceBackendPort", "Port of the service."),
}, required=("name",))
define(NET + "IngressBackend", "Where matching requests go: a service or another resource.", {
    "service": obj(NET + "IngressServiceBackend", "A service backend."),
    "resource": obj("io.k8s.api.core.v1.TypedLocalObjectReference", "Another object, such as a storage bucket."),
})
define(NET + "HTTPIngressPath", "A path and the backend serving it.", {
    "path": s("Path to match; must start with '/' for Exact and Prefix."),
    "pathType": s("Exact, Prefix or ImplementationSpecific.", enum=("Exact", "ImplementationSpecific", "Prefix")),
    "backend": obj(NET + "IngressBackend", "Where requests for the path go."),
}, required=("pathType", "backend"))
define(NET + "HTTPIngressRuleValue", "HTTP routing by path.", {
    "paths": arr(NET + "HTTPIngressPath", "Paths and their backends.", list_type="atomic"),
}, required=("paths",))
define(NET + "IngressRule", "Routing for one host (or all hosts).", {
    "host": s("Fully qualified domain name to match, optionally with a leading wildcard label; empty matches "
              "all hosts."),
    "http": obj(NET + "HTTPIngressRuleValue", "HTTP routing for the host."),
})
define(NET + "IngressTLS", "TLS termination for some hosts.", {
    "hosts": arr("string", "Hosts covered by the certificate.", list_type="atomic"),
    "secretName": s("Secret holding the certificate and key."),
})
define(NET + "IngressSpec", "How an ingress routes traffic.", {
    "ingressClassName": s("Name of the IngressClass whose controller implements this ingress."),
    "defaultBackend": obj(NET + "IngressBackend", "Backend for requests that match no rule."),
    "tls": arr(NET + "IngressTLS", "TLS configuration.", list_type="atomic"),
    "rules": arr(NET + "IngressRule", "Host rules; requests matching none go to defaultBackend.",
                 list_type="atomic"),
})
define(NET + "IngressStatus", "The observed state of an ingress.", {
    "loadBalancer": free("Addresses (ip or hostname) of the load balancer serving the ingress."),
})
define(NET + "Ingress", "Rules routing external HTTP(S) traffic to services.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"Ingress\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
    "spec": obj(NET + "IngressSpec", "How the ingress routes traffic."),
    "status": obj(NET + "IngressStatus", "The observed state of the ingress."),
}, gvk=("networking.k8s.io", "v1", "Ingress"))
define(NET + "IngressClassSpec", "The controller of an ingress class.", {
    "controller": s("Name of the controller implementing the class, such as example.com/ingress-controller."),
    "parameters": free("A reference to an object with controller-specific configuration."),
})
define(NET + "IngressClass", "The controller that implements a class of ingresses. The annotation "
                             "ingressclass.kubernetes.io/is-default-class marks the default.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"IngressClass\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
    "spec": obj(NET + "IngressClassSpec", "The controller and its parameters."),
}, gvk=("networking.k8s.io", "v1", "IngressClass"))
define(NET + "IPBlock", "A CIDR range with exceptions.", {
    "cidr": s("The range, such as 192.168.1.0/24."),
    "except": arr("string", "Ranges inside cidr that are excluded.", list_type="atomic"),
}, required=("cidr",))
define(NET + "NetworkPolicyPeer", "Traffic sources or destinations: pods, namespaces or an IP block.", {
    "podSelector": obj(META + "LabelSelector", "Pods selected (in the policy's namespace, or in the namespaces "
                                               "namespaceSelector selects)."),
    "namespaceSelector": obj(META + "LabelSelector", "Namespaces selected."),
    "ipBlock": obj(NET + "IPBlock", "An IP range; cannot be combined with the selectors."),
})
define(NET + "NetworkPolicyPort", "A port (or range) and protocol.", {
    "protocol": s("TCP (default), UDP or SCTP."),
    "port": obj("int-or-string", "Port number or named port; unset means all ports."),
    "endPort": i32("Last port of a range starting at port."),
})
define(NET + "NetworkPolicyIngressRule", "Traffic allowed into the selected pods.", {
    "ports": arr(NET + "NetworkPolicyPort", "Ports allowed; empty means all.", list_type="atomic"),
    "from": arr(NET + "NetworkPolicyPeer", "Sources allowed; empty means all.", list_type="atomic"),
})
define(NET + "NetworkPolicyEgressRule", "Traffic allowed out of the selected pods.", {
    "ports": arr(NET + "NetworkPolicyPort", "Ports allowed; empty means all.", list_type="atomic"),
    "to": arr(NET + "NetworkPolicyPeer", "Destinations allowed; empty means all.", list_type="atomic"),
})
define(NET + "NetworkPolicySpec", "Which pods a policy isolates and what traffic it allows.", {
    "podSelector": obj(META + "LabelSelector", "Pods the policy applies to; empty selects all pods in the "
                                               "namespace."),
    "ingress": arr(NET + "NetworkPolicyIngressRule", "Allowed incoming traffic.", list_type="atomic"),
    "egress": arr(NET + "NetworkPolicyEgressRule", "Allowed outgoing traffic.", list_type="atomic"),
    "policyTypes": arr("string", "Ingress and/or Egress: which directions the policy isolates.",
                       list_type="atomic"),
})
define(NET + "NetworkPolicy", "Which traffic is allowed to and from a set of pods.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"NetworkPolicy\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
    "spec": obj(NET + "NetworkPolicySpec", "The pods selected and the traffic allowed."),
}, gvk=("networking.k8s.io", "v1", "NetworkPolicy"))
define("io.k8s.api.storage.v1.StorageClass", "A class of storage that volumes are provisioned from.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"StorageClass\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
    "provisioner": s("The volume plugin that provisions volumes of this class."),
    "parameters": strmap("Provisioner-specific parameters."),
    "reclaimPolicy": s("Delete (default) or Retain for provisioned volumes."),
    "mountOptions": arr("string", "Mount options for provisioned volumes.", list_type="atomic"),
    "allowVolumeExpansion": b("Whether claims of this class can grow."),
    "volumeBindingMode": s("Immediate (default) or WaitForFirstConsumer."),
    "allowedTopologies": arr("object", "Topology terms restricting where volumes may be provisioned.",
                             list_type="atomic"),
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

define(EXT + "CustomResourceDefinitionNames", "The names a custom resource is served under.", {
    "plural": s("Plural resource name used in URLs, lowercase."),
    "singular": s("Singular name, lowercase; defaults to the lowercased kind."),
    "shortNames": arr("string", "Short names for kubectl, such as ct.", list_type="atomic"),
    "kind": s("The kind of the objects, in CamelCase."),
    "listKind": s("The kind of lists; defaults to <kind>List."),
    "categories": arr("string", "Categories, such as all, that kubectl get <category> includes.",
                      list_type="atomic"),
}, required=("plural", "kind"))
define(EXT + "CustomResourceDefinitionVersion", "One served version of a custom resource.", {
    "name": s("The version name, such as v1 or v1beta1."),
    "served": b("Whether the version is served by the REST API."),
    "storage": b("Whether objects are stored in this version; exactly one version must be."),
    "deprecated": b("Whether the version is deprecated; clients get a warning."),
    "deprecationWarning": s("Warning text returned to clients of a deprecated version."),
    "schema": free("The validation schema, as schema.openAPIV3Schema."),
    "subresources": free("Which subresources (status, scale) the version serves."),
    "additionalPrinterColumns": arr("object", "Extra columns kubectl get shows, each a name, type and "
                                              "jsonPath.", list_type="atomic"),
    "selectableFields": arr("object", "Fields usable in field selectors.", list_type="atomic"),
}, required=("name", "served", "storage"))
define(EXT + "CustomResourceDefinitionSpec", "How a custom resource is served.", {
    "group": s("The API group, a DNS subdomain with at least one dot, such as stable.example.com."),
    "names": obj(EXT + "CustomResourceDefinitionNames", "The names of the resource."),
    "scope": s("Namespaced or Cluster.", enum=("Cluster", "Namespaced")),
    "versions": arr(EXT + "CustomResourceDefinitionVersion", "The served versions.", list_type="atomic"),
    "conversion": free("How objects are converted between versions (None or Webhook)."),
    "preserveUnknownFields": b("Deprecated; must be false in apiextensions.k8s.io/v1."),
}, required=("group", "names", "scope", "versions"))
define(EXT + "CustomResourceDefinitionStatus", "The observed state of a definition.", {
    "conditions": arr("object", "Established, NamesAccepted, Terminating, ...", merge_key="type",
                      strategy="merge", list_type="map", list_map_keys=("type",)),
    "acceptedNames": obj(EXT + "CustomResourceDefinitionNames", "The names actually being served."),
    "storedVersions": arr("string", "Versions objects have ever been stored in.", list_type="atomic"),
    "observedGeneration": Prop("int64", "The generation this status reflects."),
})
define(EXT + "CustomResourceDefinition", "Adds a custom resource type to the API, served under "
                                         "/apis/<group>/<version>/<plural>.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"CustomResourceDefinition\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata; the name must be <plural>.<group>."),
    "spec": obj(EXT + "CustomResourceDefinitionSpec", "How the resource is served."),
    "status": obj(EXT + "CustomResourceDefinitionStatus", "The observed state of the definition."),
}, required=("spec",), gvk=("apiextensions.k8s.io", "v1", "CustomResourceDefinition"))
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
