"""core/v1 kinds other than Pod."""

from __future__ import annotations

from apiserver.openapi.model import (
    CORE,
    META,
    arr,
    b,
    define,
    free,
    i32,
    obj,
    resource,
    s,
    strmap,
    type_meta_props,
)

# Service -----------------------------------------------------------------------------------------
define(CORE + "ServiceSpec", "How a service exposes a set of pods.", {
    "selector": strmap("Pods with these labels receive the service's traffic. Without a selector, "
                       "endpoints are managed by hand."),
    "ports": arr(CORE + "ServicePort", "The ports the service exposes.", merge_key="port", strategy="merge",
                 list_type="map", list_map_keys=("port", "protocol")),
    "type": s("ClusterIP (default): a virtual IP inside the cluster; NodePort: also a port on every node; "
              "LoadBalancer: also an external load balancer; ExternalName: a DNS CNAME.",
              enum=("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")),
    "clusterIP": s("The virtual IP, allocated from the service CIDR unless set; \"None\" makes a headless "
                   "service. Cannot be changed."),
    "clusterIPs": arr("string", "The virtual IPs (one per IP family); the first equals clusterIP.",
                      list_type="atomic"),
    "externalIPs": arr("string", "Extra IPs on which nodes accept traffic for this service.", list_type="atomic"),
    "externalName": s("The DNS name an ExternalName service points at."),
    "sessionAffinity": s("ClientIP keeps a client on one endpoint; None (default) balances each connection.",
                         enum=("ClientIP", "None")),
    "sessionAffinityConfig": free("Settings for ClientIP affinity (clientIP.timeoutSeconds)."),
    "externalTrafficPolicy": s("Cluster (default) or Local: whether node ports route to endpoints on other "
                               "nodes.", enum=("Cluster", "Local")),
    "internalTrafficPolicy": s("Cluster (default) or Local: whether in-cluster traffic may go to endpoints "
                               "on other nodes.", enum=("Cluster", "Local")),
    "loadBalancerIP": s("Deprecated: requested load balancer IP."),
    "loadBalancerSourceRanges": arr("string", "Client CIDRs allowed through the load balancer.",
                                    list_type="atomic"),
    "healthCheckNodePort": i32("Node port for load balancer health checks with Local traffic policy."),
    "publishNotReadyAddresses": b("Publish endpoints of pods that are not ready."),
    "ipFamilies": arr("string", "IPv4 and/or IPv6.", list_type="atomic"),
    "ipFamilyPolicy": s("SingleStack, PreferDualStack or RequireDualStack."),
    "allocateLoadBalancerNodePorts": b("Whether LoadBalancer services get node ports."),
    "loadBalancerClass": s("The load balancer implementation to use."),
    "trafficDistribution": s("Preference for how traffic is distributed, such as PreferClose."),
})
define(CORE + "ServicePort", "One port of a service.", {
    "name": s("Name of the port, a DNS label; required when the service has more than one port."),
    "protocol": s("TCP (default), UDP or SCTP.", enum=("SCTP", "TCP", "UDP")),
    "appProtocol": s("Application protocol hint, such as http or kubernetes.io/h2c."),
    "port": i32("The port the service listens on."),
    "targetPort": obj("int-or-string", "Port number or named container port on the pods; defaults to port."),
    "nodePort": i32("Port on every node for NodePort and LoadBalancer services, allocated from "
                    "30000-32767 unless set."),
}, required=("port",))
define(CORE + "ServiceStatus", "The observed state of a service.", {
    "loadBalancer": free("The load balancer's ingress points, when there is one."),
    "conditions": arr(META + "Condition", "Current conditions of the service.", merge_key="type",
                      strategy="merge", list_type="map", list_map_keys=("type",)),
})
resource(CORE + "Service", "", "v1", "Service",
         "A named, stable network endpoint (a virtual IP and ports) that load-balances to a set of pods "
         "picked by a label selector.",
         spec=CORE + "ServiceSpec", spec_desc="The behaviour of the service.",
         status=CORE + "ServiceStatus", status_desc="The most recently observed status of the service.")

# Namespace and Node ------------------------------------------------------------------------------
define(CORE + "NamespaceSpec", "The finalizers of a namespace.", {
    "finalizers": arr("string", "Must be empty before the namespace is removed; \"kubernetes\" is cleared "
                                "once all objects in it are deleted.", list_type="atomic"),
})
define(CORE + "NamespaceStatus", "The lifecycle phase of a namespace.", {
    "phase": s("Active, or Terminating while its objects are deleted.", enum=("Active", "Terminating")),
    "conditions": arr(META + "Condition", "Conditions of the namespace.", merge_key="type", strategy="merge",
                      list_type="map", list_map_keys=("type",)),
})
resource(CORE + "Namespace", "", "v1", "Namespace",
         "A scope for names: most objects live in a namespace, and deleting it deletes them.",
         spec=CORE + "NamespaceSpec", spec_desc="Finalizers of the namespace.",
         status=CORE + "NamespaceStatus", status_desc="The phase of the namespace.")

define(CORE + "NodeSpec", "How a node is configured for scheduling.", {
    "podCIDR": s("The pod IP range assigned to this node."),
    "podCIDRs": arr("string", "Pod IP ranges (one per IP family).", strategy="merge", list_type="set"),
    "providerID": s("The cloud provider's ID for the node."),
    "unschedulable": b("Mark the node unschedulable (kubectl cordon)."),
    "taints": arr(CORE + "Taint", "Taints that repel pods without matching tolerations.", list_type="atomic"),
    "configSource": free("Deprecated: dynamic kubelet configuration source."),
    "externalID": s("Deprecated."),
})
define(CORE + "Taint", "A node taint.", {
    "key": s("Taint key."),
    "value": s("Taint value."),
    "effect": s("NoSchedule, PreferNoSchedule or NoExecute.", enum=("NoExecute", "NoSchedule", "PreferNoSchedule")),
    "timeAdded": obj("time", "When a NoExecute taint was added."),
}, required=("key", "effect"))
define(CORE + "NodeStatus", "The observed state of a node, reported by its kubelet.", {
    "capacity": obj("quantity", "Total resources of the node.", map=True),
    "allocatable": obj("quantity", "Resources available to pods.", map=True),
    "phase": s("Deprecated."),
    "conditions": arr(CORE + "NodeCondition", "Ready, MemoryPressure, DiskPressure, PIDPressure, "
                                              "NetworkUnavailable.", merge_key="type", strategy="merge",
                      list_type="map", list_map_keys=("type",)),
    "addresses": arr(CORE + "NodeAddress", "Addresses of the node (InternalIP, Hostname, ...).",
                     merge_key="type", strategy="merge", list_type="map", list_map_keys=("type",)),
    "daemonEndpoints": free("Endpoints of daemons on the node, such as the kubelet port."),
    "nodeInfo": free("Versions and IDs: kubelet, container runtime, kernel, OS, architecture."),
    "images": arr("object", "Images present on the node (names and sizes).", list_type="atomic"),
    "volumesInUse": arr("string", "Volumes in use (mounted) on the node.", list_type="atomic"),
    "volumesAttached": arr("object", "Volumes attached to the node.", list_type="atomic"),
    "config": free("Status of the kubelet's dynamic configuration."),
    "runtimeHandlers": arr("object", "Runtime handlers the node's container runtime offers.", list_type="atomic"),
    "features": free("Features the node supports."),
})
define(CORE + "NodeCondition", "One condition of a node.", {
    "type": s("Condition type."), "status": s("True, False or Unknown."),
    "lastHeartbeatTime": obj("time", "Last time the kubelet reported the condition."),
    "lastTransitionTime": obj("time", "When the status last changed."),
    "reason": s("CamelCase reason."), "message": s("Human-readable details."),
}, required=("type", "status"))
define(CORE + "NodeAddress", "An address of a node.", {
    "type": s("Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS."), "address": s("The address."),
}, required=("type", "address"))
resource(CORE + "Node", "", "v1", "Node", "A worker machine that runs pods; registered by its kubelet.",
         spec=CORE + "NodeSpec", spec_desc="How the node is configured.",
         status=CORE + "NodeStatus", status_desc="The most recently observed status of the node.")

# ConfigMap, Secret, ServiceAccount ----------------------------------------------------------------
define(CORE + "ConfigMap", "Non-secret configuration as key/value pairs for pods to consume.", {
    **type_meta_props("ConfigMap"),
    "data": strmap("UTF-8 configuration values by key."),
    "binaryData": obj("byte", "Binary values by key, base64-encoded.", map=True),
    "immutable": b("When true, data cannot change; only deletion is possible."),
}, gvk=("", "v1", "ConfigMap"))
define(CORE + "Secret", "Sensitive data such as passwords, tokens or keys.", {
    **type_meta_props("Secret"),
    "data": obj("byte", "Values by key, base64-encoded.", map=True),
    "stringData": strmap("Write-only convenience: plain values merged into data on write."),
    "type": s("Kind of secret: Opaque (default), kubernetes.io/tls, kubernetes.io/dockerconfigjson, "
              "kubernetes.io/service-account-token, ..."),
    "immutable": b("When true, data cannot change; only deletion is possible."),
}, gvk=("", "v1", "Secret"))
define(CORE + "ServiceAccount", "An identity for processes that run in pods.", {
    **type_meta_props("ServiceAccount"),
    "secrets": arr(CORE + "ObjectReference", "Secrets pods of this account may use.", merge_key="name",
                   strategy="merge"),
    "imagePullSecrets": arr(CORE + "LocalObjectReference", "Registry credentials added to pods using this "
                                                           "account.", list_type="atomic"),
    "automountServiceAccountToken": b("Whether pods mount a token automatically."),
}, gvk=("", "v1", "ServiceAccount"))
define(CORE + "ObjectReference", "A reference to an object.", {
    "apiVersion": s("API version of the referent."), "kind": s("Kind of the referent."),
    "namespace": s("Namespace of the referent."), "name": s("Name of the referent."),
    "uid": s("UID of the referent."), "resourceVersion": s("Specific version referred to."),
    "fieldPath": s("A field within the referent, such as spec.containers{web}."),
})
resource(CORE + "Binding", "", "v1", "Binding", "Binds a pod (named by metadata.name) to a node; POST only.",
         extra={"target": obj(CORE + "ObjectReference", "The node to bind to.")})

# Endpoints and Event -----------------------------------------------------------------------------
define(CORE + "EndpointSubset", "A set of addresses sharing a set of ports.", {
    "addresses": arr(CORE + "EndpointAddress", "Ready addresses.", list_type="atomic"),
    "notReadyAddresses": arr(CORE + "EndpointAddress", "Addresses not ready yet.", list_type="atomic"),
    "ports": arr(CORE + "EndpointPort", "Ports available on every address.", list_type="atomic"),
})
define(CORE + "EndpointAddress", "One endpoint address.", {
    "ip": s("The IP."), "hostname": s("Hostname of the endpoint."), "nodeName": s("Node hosting it."),
    "targetRef": obj(CORE + "ObjectReference", "The object (usually a pod) behind the address."),
}, required=("ip",))
define(CORE + "EndpointPort", "One endpoint port.", {
    "name": s("Matches the service port name."), "port": i32("Port number."),
    "protocol": s("TCP, UDP or SCTP."), "appProtocol": s("Application protocol."),
}, required=("port",))
define(CORE + "Endpoints", "The addresses that implement a service, maintained by the endpoints controller.", {
    **type_meta_props("Endpoints"),
    "subsets": arr(CORE + "EndpointSubset", "Groups of addresses and ports.", list_type="atomic"),
}, gvk=("", "v1", "Endpoints"))
define(CORE + "Event", "A report of something that happened to an object, such as a pod being scheduled or "
                       "an image pull failing.", {
    **type_meta_props("Event"),
    "involvedObject": obj(CORE + "ObjectReference", "The object the event is about."),
    "reason": s("Short CamelCase reason, such as Scheduled or BackOff."),
    "message": s("Human-readable description."),
    "type": s("Normal or Warning."),
    "source": free("The component and host that reported the event."),
    "firstTimestamp": obj("time", "When the event was first recorded."),
    "lastTimestamp": obj("time", "When the event most recently occurred."),
    "eventTime": obj("microtime", "When the event first occurred, with microsecond precision."),
    "count": i32("How many times it occurred."),
    "action": s("What action was taken or failed."),
    "reportingComponent": s("Controller that emitted the event."),
    "reportingInstance": s("Instance of that controller."),
    "series": free("Data about a series of repeated events."),
    "related": obj(CORE + "ObjectReference", "A second object involved, if any."),
}, required=("metadata", "involvedObject"), gvk=("", "v1", "Event"))

# Storage and policy ------------------------------------------------------------------------------
_PV_SOURCES = ("awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume",
               "flocker", "gcePersistentDisk", "glusterfs", "iscsi", "nfs", "photonPersistentDisk", "portworxVolume",
               "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume")
define(CORE + "PersistentVolumeSpec", "The storage a persistent volume provides. Exactly one volume source "
                                      "must be set.", {
    "capacity": obj("quantity", "The size of the volume, as capacity.storage.", map=True),
    "accessModes": arr("string", "How the volume can be mounted: ReadWriteOnce, ReadOnlyMany, ReadWriteMany or "
                                 "ReadWriteOncePod.", list_type="atomic"),
    "claimRef": obj(CORE + "ObjectReference", "The claim bound to this volume."),
    "persistentVolumeReclaimPolicy": s("What happens when the claim is released: Retain (default for manually "
                                       "created volumes), Delete or Recycle.", enum=("Delete", "Recycle", "Retain")),
    "storageClassName": s("The StorageClass the volume belongs to; claims of that class may bind to it."),
    "mountOptions": arr("string", "Mount options used when the volume is mounted.", list_type="atomic"),
    "volumeMode": s("Filesystem (default) or Block.", enum=("Block", "Filesystem")),
    "nodeAffinity": free("Nodes from which the volume can be accessed."),
    "volumeAttributesClassName": s("The VolumeAttributesClass of the volume."),
    "hostPath": obj(CORE + "HostPathVolumeSource", "A directory on a node; for single-node testing only."),
    "local": free("A local disk or directory of one node (path, fsType); requires nodeAffinity."),
    **{source: free(f"A {source} volume; see the Kubernetes API reference.") for source in _PV_SOURCES},
})
define(CORE + "PersistentVolumeStatus", "The observed state of a persistent volume.", {
    "phase": s("Pending, Available, Bound, Released or Failed.",
               enum=("Available", "Bound", "Failed", "Pending", "Released")),
    "message": s("Human-readable reason for the phase."),
    "reason": s("CamelCase reason for a failure."),
    "lastPhaseTransitionTime": obj("time", "When the phase last changed."),
})
resource(CORE + "PersistentVolume", "", "v1", "PersistentVolume",
         "A piece of storage in the cluster, provisioned by an administrator or dynamically through a "
         "StorageClass; claims bind to it.",
         spec=CORE + "PersistentVolumeSpec", spec_desc="The storage the volume provides.",
         status=CORE + "PersistentVolumeStatus", status_desc="The observed state of the volume.")

define(CORE + "VolumeResourceRequirements", "Storage requested by a claim.", {
    "requests": obj("quantity", "Minimum resources required, such as storage: 1Gi.", map=True),
    "limits": obj("quantity", "Maximum resources allowed.", map=True),
})
define(CORE + "TypedLocalObjectReference", "A reference to a typed object in the same namespace.", {
    "apiGroup": s("Group of the referent; empty for the core group."), "kind": s("Kind of the referent."),
    "name": s("Name of the referent."),
}, required=("kind", "name"))
define(CORE + "PersistentVolumeClaimSpec", "The storage a claim asks for.", {
    "accessModes": arr("string", "The access modes the volume must support.", list_type="atomic"),
    "selector": obj(META + "LabelSelector", "Labels the bound volume must have."),
    "resources": obj(CORE + "VolumeResourceRequirements", "The minimum size (requests.storage)."),
    "volumeName": s("Bind to this specific PersistentVolume."),
    "storageClassName": s("The StorageClass to provision from; empty string means no class."),
    "volumeMode": s("Filesystem (default) or Block.", enum=("Block", "Filesystem")),
    "dataSource": obj(CORE + "TypedLocalObjectReference", "A snapshot or claim to populate the volume from."),
    "dataSourceRef": free("Any object to populate the volume from (apiGroup, kind, name, namespace)."),
    "volumeAttributesClassName": s("The VolumeAttributesClass to use."),
})
define(CORE + "PersistentVolumeClaimStatus", "The observed state of a claim.", {
    "phase": s("Pending, Bound or Lost.", enum=("Bound", "Lost", "Pending")),
    "accessModes": arr("string", "Access modes of the bound volume.", list_type="atomic"),
    "capacity": obj("quantity", "Capacity of the bound volume.", map=True),
    "conditions": arr("object", "Current conditions, such as Resizing.", merge_key="type", strategy="merge",
                      list_type="map", list_map_keys=("type",)),
    "allocatedResources": obj("quantity", "Resources allocated for the claim, for resizing.", map=True),
    "allocatedResourceStatuses": strmap("Status of resize operations per resource."),
    "currentVolumeAttributesClassName": s("The VolumeAttributesClass currently applied."),
    "modifyVolumeStatus": free("Status of a volume modification."),
})
resource(CORE + "PersistentVolumeClaim", "", "v1", "PersistentVolumeClaim",
         "A user's request for storage, bound to a PersistentVolume that satisfies it.",
         spec=CORE + "PersistentVolumeClaimSpec", spec_desc="The storage the claim asks for.",
         status=CORE + "PersistentVolumeClaimStatus", status_desc="The observed state of the claim.")

define(CORE + "ResourceQuotaSpec", "The hard limits of a quota.", {
    "hard": obj("quantity", "Limit per resource name, such as pods, requests.cpu or count/deployments.apps.",
                map=True),
    "scopes": arr("string", "Only objects matching all these scopes are counted (Terminating, BestEffort, ...).",
                  list_type="atomic"),
    "scopeSelector": free("A selector over scopes, such as PriorityClass In (high)."),
})
define(CORE + "ResourceQuotaStatus", "The observed usage of a quota.", {
    "hard": obj("quantity", "The enforced limits.", map=True),
    "used": obj("quantity", "Current usage per resource name.", map=True),
})
resource(CORE + "ResourceQuota", "", "v1", "ResourceQuota",
         "Limits on the total resources and object counts in a namespace.",
         spec=CORE + "ResourceQuotaSpec", spec_desc="The limits.",
         status=CORE + "ResourceQuotaStatus", status_desc="The current usage.")

define(CORE + "LimitRangeItem", "Bounds and defaults for one kind of object.", {
    "type": s("Container, Pod or PersistentVolumeClaim.", enum=("Container", "PersistentVolumeClaim", "Pod")),
    "max": obj("quantity", "Maximum usage per resource.", map=True),
    "min": obj("quantity", "Minimum usage per resource.", map=True),
    "default": obj("quantity", "Limits given to containers that set none.", map=True),
    "defaultRequest": obj("quantity", "Requests given to containers that set none.", map=True),
    "maxLimitRequestRatio": obj("quantity", "Maximum limit/request ratio per resource.", map=True),
}, required=("type",))
define(CORE + "LimitRangeSpec", "The limits of a LimitRange.", {
    "limits": arr(CORE + "LimitRangeItem", "The limits, per object kind.", list_type="atomic"),
}, required=("limits",))
resource(CORE + "LimitRange", "", "v1", "LimitRange",
         "Default and bounding resource requests and limits for containers, pods and claims in a namespace.",
         spec=CORE + "LimitRangeSpec", spec_desc="The limits enforced in the namespace.")
