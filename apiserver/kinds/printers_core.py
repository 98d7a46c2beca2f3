"""Table printers for core, networking, storage, RBAC and coordination kinds (see ``printers``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiserver.kinds.age import since
from apiserver.kinds.printers import (
    AGE,
    NAME,
    NONE,
    Column,
    Obj,
    Printer,
    age_cell,
    meta_of,
    spec_of,
    status_of,
)
from client.labels import SelectorError, format_label_selector


def _name(o: Obj) -> str:
    return meta_of(o).get("name", "")


# Service -----------------------------------------------------------------------------------------


def service_external_ip(o: Obj) -> str:
    spec = spec_of(o)
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else NONE
    if kind == "LoadBalancer":
        ingress = (status_of(o).get("loadBalancer") or {}).get("ingress") or []
        ips = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]
        ips += external
        return ",".join(ips) if ips else "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName") or NONE
    return "<unknown>"


def service_ports(o: Obj) -> str:
    parts = []
    for p in spec_of(o).get("ports") or []:
        protocol = p.get("protocol", "TCP")
        if p.get("nodePort"):
            parts.append(f"{p.get('port')}:{p['nodePort']}/{protocol}")
        else:
            parts.append(f"{p.get('port')}/{protocol}")
    return ",".join(parts) if parts else NONE


def _service_row(o: Obj, now: datetime) -> list[Any]:
    spec = spec_of(o)
    selector = spec.get("selector") or {}
    return [_name(o), spec.get("type") or "ClusterIP", spec.get("clusterIP") or NONE, service_external_ip(o),
            service_ports(o), age_cell(o, now),
            ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or NONE]


SERVICE = Printer((NAME, Column("Type", description="Type of the service."),
                   Column("Cluster-IP", description="IP address of the service (when type is ClusterIP, "
                                                    "NodePort or LoadBalancer)."),
                   Column("External-IP", description="External IP addresses of the service."),
                   Column("Port(s)", description="The ports that are exposed by this service."), AGE,
                   Column("Selector", priority=1, description="Route service traffic to pods with label keys "
                                                              "and values matching this selector.")),
                  _service_row)


# Node and Namespace ------------------------------------------------------------------------------


def node_status_text(o: Obj) -> str:
    conditions = {c.get("type"): c.get("status") for c in status_of(o).get("conditions") or []}
    parts = []
    if "Ready" in conditions:
        parts.append("Ready" if conditions["Ready"] == "True" else "NotReady")
    else:
        parts.append("Unknown")
    if spec_of(o).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(o: Obj) -> str:
    roles = set()
    for key, value in (meta_of(o).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key != "node-role.kubernetes.io/":
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) if roles else NONE


def _node_address(o: Obj, kind: str) -> str:
    for a in status_of(o).get("addresses") or []:
        if a.get("type") == kind:
            return a.get("address", NONE)
    return NONE


def _node_row(o: Obj, now: datetime) -> list[Any]:
    info = status_of(o).get("nodeInfo") or {}
    return [_name(o), node_status_text(o), node_roles(o), age_cell(o, now), info.get("kubeletVersion", ""),
            _node_address(o, "InternalIP"), _node_address(o, "ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


NODE = Printer((NAME, Column("Status", description="The status of the node"),
                Column("Roles", description="The roles of the node"), AGE,
                Column("Version", description="Kubelet Version reported by the node."),
                Column("Internal-IP", priority=1, description="List of internal IPs of the node."),
                Column("External-IP", priority=1, description="List of external IPs of the node."),
                Column("OS-Image", priority=1, description="OS Image reported by the node from "
                                                           "/etc/os-release (e.g. Debian GNU/Linux 12)."),
                Column("Kernel-Version", priority=1, description="Kernel Version reported by the node from "
                                                                 "'uname -r'."),
                Column("Container-Runtime", priority=1, description="Container Runtime Version reported by "
                                                                    "the node through runtime remote API.")),
               _node_row)

NAMESPACE = Printer((NAME, Column("Status", description="The status of the namespace"), AGE),
                    lambda o, now: [_name(o), status_of(o).get("phase", ""), age_cell(o, now)])

# ConfigMap, Secret, ServiceAccount ---------------------------------------------------------------
CONFIG_MAP = Printer((NAME, Column("Data", "integer", "Number of data in configmap"), AGE),
                     lambda o, now: [_name(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                                     age_cell(o, now)])
SECRET = Printer((NAME, Column("Type", description="The type of the secret"),
                  Column("Data", "integer", "The number of data in the secret"), AGE),
                 lambda o, now: [_name(o), o.get("type") or "Opaque", len(o.get("data") or {}), age_cell(o, now)])
SERVICE_ACCOUNT = Printer((NAME, Column("Secrets", "integer", "Secrets is the list of secrets allowed to be "
                                                              "used by pods running using this ServiceAccount."),
                           AGE),
                          lambda o, now: [_name(o), len(o.get("secrets") or []), age_cell(o, now)])


# Endpoints, EndpointSlice ------------------------------------------------------------------------


def _format_endpoints(o: Obj) -> str:
    pairs: list[str] = []
    total = 0
    for subset in o.get("subsets") or []:
        ports = subset.get("ports") or []
        for addr in subset.get("addresses") or []:
            if not ports:
                total += 1
                if len(pairs) < 3:
                    pairs.append(addr.get("ip", ""))
                continue
            for port in ports:
                total += 1
                if len(pairs) < 3:
                    pairs.append(f"{addr.get('ip', '')}:{port.get('port')}")
    if not pairs:
        return NONE
    text = ",".join(pairs)
    return text + f" + {total - 3} more..." if total > 3 else text


ENDPOINTS = Printer((NAME, Column("Endpoints", description="Endpoints of the service"), AGE),
                    lambda o, now: [_name(o), _format_endpoints(o), age_cell(o, now)])


def _slice_row(o: Obj, now: datetime) -> list[Any]:
    ports = ",".join(str(p.get("port")) for p in o.get("ports") or [] if p.get("port") is not None)
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    text = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [_name(o), o.get("addressType", ""), ports or NONE, text or NONE, age_cell(o, now)]


ENDPOINT_SLICE = Printer((NAME, Column("AddressType", description="Type of address"),
                          Column("Ports", description="Ports of the endpoint slice"),
                          Column("Endpoints", description="Endpoints of the endpoint slice"), AGE), _slice_row)


# Events ------------------------------------------------------------------------------------------


def _event_row(o: Obj, now: datetime) -> list[Any]:
    obj = o.get("involvedObject") or {}
    first = o.get("firstTimestamp") or o.get("eventTime")
    last = o.get("lastTimestamp") or (o.get("series") or {}).get("lastObservedTime") or o.get("eventTime")
    source = o.get("source") or {}
    source_text = source.get("component", "") or o.get("reportingComponent", "")
    if source.get("host"):
        source_text += ", " + source["host"]
    return [since(last, now), o.get("type", ""), o.get("reason", ""),
            f"{(obj.get('kind') or '').lower()}/{obj.get('name', '')}", obj.get("fieldPath", ""),
            source_text, (o.get("message") or "").strip(), since(first, now), o.get("count") or 1, _name(o)]


EVENT = Printer((Column("Last Seen", description="Time when last event occurred"),
                 Column("Type", description="Type of this event (Normal, Warning), new types could be added in "
                                            "the future."),
                 Column("Reason", description="Reason why the action was taken."),
                 Column("Object", description="The object that this event is about."),
                 Column("Subobject", priority=1, description="The subobject (fieldPath) of the involved object."),
                 Column("Source", priority=1, description="The component reporting this event."),
                 Column("Message", description="A human-readable description of the status of this operation."),
                 Column("First Seen", priority=1, description="Time when first event occurred"),
                 Column("Count", "integer", priority=1, description="Number of times this event has occurred."),
                 Column("Name", priority=1, format="name", description="Name of the event.")), _event_row)


def _events_v1_row(o: Obj, now: datetime) -> list[Any]:
    regarding = o.get("regarding") or {}
    last = (o.get("series") or {}).get("lastObservedTime") or o.get("deprecatedLastTimestamp") or o.get("eventTime")
    first = o.get("deprecatedFirstTimestamp") or o.get("eventTime")
    return [since(last, now), o.get("type", ""), o.get("reason", ""),
            f"{(regarding.get('kind') or '').lower()}/{regarding.get('name', '')}", regarding.get("fieldPath", ""),
            o.get("reportingController", ""), (o.get("note") or "").strip(), since(first, now),
            o.get("deprecatedCount") or 1, _name(o)]


EVENT_V1 = Printer(EVENT.columns, _events_v1_row)


# Storage -----------------------------------------------------------------------------------------

_ACCESS_SHORT = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _access_modes(modes: Any) -> str:
    return ",".join(_ACCESS_SHORT.get(m, m) for m in modes or [])


def _pv_row(o: Obj, now: datetime) -> list[Any]:
    spec, status = spec_of(o), status_of(o)
    claim = spec.get("claimRef") or {}
    claim_text = f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else ""
    return [_name(o), (spec.get("capacity") or {}).get("storage", ""), _access_modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), status.get("phase", ""), claim_text,
            spec.get("storageClassName", ""), spec.get("volumeAttributesClassName") or NONE,
            status.get("reason", ""), age_cell(o, now), spec.get("volumeMode", "")]


PERSISTENT_VOLUME = Printer((NAME, Column("Capacity", description="The capacity of the volume."),
                             Column("Access Modes", description="The access modes of the volume."),
                             Column("Reclaim Policy", description="What happens to a volume when released."),
                             Column("Status", description="The phase of the volume."),
                             Column("Claim", description="The claim bound to the volume."),
                             Column("StorageClass", description="The storage class of the volume."),
                             Column("VolumeAttributesClass", description="The attributes class of the volume."),
                             Column("Reason", description="Why the volume is in this phase."), AGE,
                             Column("VolumeMode", priority=1, description="Filesystem or Block.")), _pv_row)


def _pvc_row(o: Obj, now: datetime) -> list[Any]:
    spec, status = spec_of(o), status_of(o)
    phase = "Terminating" if meta_of(o).get("deletionTimestamp") else status.get("phase", "")
    return [_name(o), phase, spec.get("volumeName", ""), (status.get("capacity") or {}).get("storage", ""),
            _access_modes(status.get("accessModes")), spec.get("storageClassName", ""),
            spec.get("volumeAttributesClassName") or NONE, age_cell(o, now), spec.get("volumeMode", "")]


PERSISTENT_VOLUME_CLAIM = Printer((NAME, Column("Status", description="The phase of the claim."),
                                   Column("Volume", description="The volume bound to the claim."),
                                   Column("Capacity", description="The capacity of the bound volume."),
                                   Column("Access Modes", description="The access modes of the bound volume."),
                                   Column("StorageClass", description="The storage class of the claim."),
                                   Column("VolumeAttributesClass", description="The attributes class of the "
                                                                               "claim."), AGE,
                                   Column("VolumeMode", priority=1, description="Filesystem or Block.")), _pvc_row)


def _quota_row(o: Obj, now: datetime) -> list[Any]:
    hard, used = spec_of(o).get("hard") or {}, status_of(o).get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for name in sorted(hard):
        entry = f"{name}: {used.get(name, '0')}/{hard[name]}"
        (limits if name.startswith("limits.") else requests).append(entry)
    return [_name(o), age_cell(o, now), ", ".join(requests), ", ".join(limits)]


RESOURCE_QUOTA = Printer((NAME, AGE, Column("Request", description="Request represents a minimum amount of "
                                                                   "cpu/memory that a container may consume."),
                          Column("Limit", description="Limits control the maximum amount of cpu/memory that a "
                                                      "container may use independent of contention on the node.")),
                         _quota_row)

CREATED_AT = Column("Created At", "date", "CreationTimestamp is a timestamp representing the server time when "
                                          "this object was created.")


def _created_at(o: Obj) -> str:
    return meta_of(o).get("creationTimestamp") or ""


LIMIT_RANGE = Printer((NAME, CREATED_AT), lambda o, now: [_name(o), _created_at(o)])


def _storage_class_row(o: Obj, now: datetime) -> list[Any]:
    name = _name(o)
    annotations = meta_of(o).get("annotations") or {}
    if annotations.get("storageclass.kubernetes.io/is-default-class") == "true" or \
            annotations.get("storageclass.beta.kubernetes.io/is-default-class") == "true":
        name += " (default)"
    return [name, o.get("provisioner", ""), o.get("reclaimPolicy", "Delete"),
            o.get("volumeBindingMode", "Immediate"), bool(o.get("allowVolumeExpansion")), age_cell(o, now)]


STORAGE_CLASS = Printer((NAME, Column("Provisioner", description="Indicates the type of the provisioner."),
                         Column("ReclaimPolicy", description="Indicates the type of the reclaim policy."),
                         Column("VolumeBindingMode", description="Indicates how volume binding should occur."),
                         Column("AllowVolumeExpansion", "boolean", "Whether the storage class allows expansion."),
                         AGE), _storage_class_row)


# Networking --------------------------------------------------------------------------------------


def _ingress_row(o: Obj, now: datetime) -> list[Any]:
    spec = spec_of(o)
    hosts = [r.get("host") for r in spec.get("rules") or [] if r.get("host")]
    hosts_text = ",".join(hosts[:4]) + (f" + {len(hosts) - 4} more..." if len(hosts) > 4 else "")
    ingress = (status_of(o).get("loadBalancer") or {}).get("ingress") or []
    address = ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress)
    ports = "80, 443" if spec.get("tls") else "80"
    return [_name(o), spec.get("ingressClassName") or NONE, hosts_text or "*", address, ports, age_cell(o, now)]


INGRESS = Printer((NAME, Column("Class", description="The name of the IngressClass resource that should be "
                                                     "used for ingress."),
                   Column("Hosts", description="Hosts that incoming requests are matched against."),
                   Column("Address", description="Address is a list containing ingress points for the "
                                                 "load-balancer"),
                   Column("Ports", description="Ports of TLS configurations that open"), AGE), _ingress_row)


def _ingress_class_row(o: Obj, now: datetime) -> list[Any]:
    params = spec_of(o).get("parameters") or {}
    params_text = NONE
    if params:
        group = params.get("apiGroup")
        params_text = f"{params.get('kind', '')}{'.' + group if group else ''}/{params.get('name', '')}"
    return [_name(o), spec_of(o).get("controller", ""), params_text, age_cell(o, now)]


INGRESS_CLASS = Printer((NAME, Column("Controller", description="Controller that is responsible for handling "
                                                               "this class"),
                         Column("Parameters", description="A reference to a resource with additional "
                                                          "parameters"), AGE), _ingress_class_row)


def _pod_selector_text(selector: Any) -> str:
    if not selector:
        return NONE
    try:
        return format_label_selector(selector)
    except SelectorError:
        return NONE


NETWORK_POLICY = Printer((NAME, Column("Pod-Selector", description="Selects the pods to which this "
                                                                   "NetworkPolicy object applies."), AGE),
                         lambda o, now: [_name(o), _pod_selector_text(spec_of(o).get("podSelector")), age_cell(o, now)])


# RBAC, Lease, CRD --------------------------------------------------------------------------------

ROLE = Printer((NAME, CREATED_AT), lambda o, now: [_name(o), _created_at(o)])


def _binding_row(o: Obj, now: datetime) -> list[Any]:
    ref = o.get("roleRef") or {}
    subjects = o.get("subjects") or []
    users = ", ".join(s.get("name", "") for s in subjects if s.get("kind") == "User")
    groups = ", ".join(s.get("name", "") for s in subjects if s.get("kind") == "Group")
    sas = ", ".join(f"{s.get('namespace', '')}/{s.get('name', '')}" for s in subjects
                    if s.get("kind") == "ServiceAccount")
    return [_name(o), f"{ref.get('kind', '')}/{ref.get('name', '')}", age_cell(o, now), users, groups, sas]


BINDING = Printer((NAME, Column("Role", description="RoleRef is the reference to the role."), AGE,
                   Column("Users", priority=1, description="Users in the roleBinding"),
                   Column("Groups", priority=1, description="Groups in the roleBinding"),
                   Column("ServiceAccounts", priority=1, description="ServiceAccounts in the roleBinding")),
                  _binding_row)

LEASE = Printer((NAME, Column("Holder", description="The holder of the lease."), AGE),
                lambda o, now: [_name(o), spec_of(o).get("holderIdentity", ""), age_cell(o, now)])

CRD = Printer((NAME, CREATED_AT), lambda o, now: [_name(o), _created_at(o)])
