"""Validation of the networking, discovery, coordination, storage, RBAC and apiextensions kinds."""

from __future__ import annotations

from typing import Any

from apiserver.kinds.validation.common import (
    get_path,
    non_negative,
    port_in_range,
    validate_enum,
    validate_ip,
    validate_label_selector,
    validate_port_num_or_name,
)
from apiserver.kinds.validation.errors import (
    Cause,
    forbidden,
    immutable,
    invalid,
    required,
)
from client.labels import validate_dns1035_label, validate_dns1123_label, validate_dns1123_subdomain

ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")


def validate_endpoint_slice(obj: dict, old: dict | None) -> list[Cause]:
    causes = validate_enum(obj.get("addressType"), "addressType", ADDRESS_TYPES)
    for i, ep in enumerate(obj.get("endpoints") or []):
        f = f"endpoints[{i}]"
        addresses = (ep or {}).get("addresses") or []
        if not addresses:
            causes.append(required(f"{f}.addresses", "must contain at least 1 address"))
        if obj.get("addressType") in ("IPv4", "IPv6"):
            for j, addr in enumerate(addresses):
                causes += validate_ip(addr, f"{f}.addresses[{j}]")
    for i, port in enumerate(obj.get("ports") or []):
        if isinstance(port, dict) and port.get("port") is not None:
            causes += port_in_range(port.get("port"), f"ports[{i}].port")
        if isinstance(port, dict) and port.get("name"):
            causes += [invalid(f"ports[{i}].name", port["name"], m) for m in validate_dns1123_label(port["name"])]
    if old is not None and old.get("addressType") != obj.get("addressType"):
        causes.append(immutable("addressType", obj.get("addressType")))
    return causes


def validate_lease(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = non_negative(spec.get("leaseDurationSeconds"), "spec.leaseDurationSeconds")
    causes += non_negative(spec.get("leaseTransitions"), "spec.leaseTransitions")
    return causes


def _ingress_backend(backend: Any, field: str) -> list[Cause]:
    if not isinstance(backend, dict):
        return [required(field)]
    service, resource = backend.get("service"), backend.get("resource")
    if service is None and resource is None:
        return [invalid(field, "", "one backend (`service` or `resource`) must be specified")]
    if service is not None and resource is not None:
        return [invalid(field, "", "cannot set both `service` and `resource` backends")]
    causes: list[Cause] = []
    if service is not None:
        name = service.get("name") or ""
        if not name:
            causes.append(required(f"{field}.service.name"))
        else:
            causes += [invalid(f"{field}.service.name", name, m) for m in validate_dns1035_label(name)]
        port = service.get("port") or {}
        if port.get("name") and port.get("number"):
            causes.append(invalid(f"{field}.service.port", port, "cannot set both port name & port number"))
        elif port.get("number") is not None:
            causes += port_in_range(port["number"], f"{field}.service.port.number")
        elif not port.get("name"):
            causes.append(required(f"{field}.service.port", "port name or number is required"))
    return causes


def validate_ingress(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    rules = spec.get("rules") or []
    if spec.get("defaultBackend") is not None:
        causes += _ingress_backend(spec["defaultBackend"], "spec.defaultBackend")
    elif not rules:
        causes.append(invalid("spec.rules", [], "either `defaultBackend` or `rules` must be specified"))
    for i, rule in enumerate(rules):
        f = f"spec.rules[{i}]"
        host = (rule or {}).get("host")
        if host:
            check = host[2:] if host.startswith("*.") else host
            causes += [invalid(f"{f}.host", host, m) for m in validate_dns1123_subdomain(check)]
        http = (rule or {}).get("http")
        if http is None:
            continue
        paths = http.get("paths") or []
        if not paths:
            causes.append(required(f"{f}.http.paths"))
        for j, p in enumerate(paths):
            pf = f"{f}.http.paths[{j}]"
            path_type = (p or {}).get("pathType")
            causes += validate_enum(path_type, f"{pf}.pathType", PATH_TYPES)
            path = (p or {}).get("path") or ""
            if path_type in ("Exact", "Prefix") and not path.startswith("/"):
                causes.append(invalid(f"{pf}.path", path, "must be an absolute path"))
            causes += _ingress_backend((p or {}).get("backend"), f"{pf}.backend")
    for i, tls in enumerate(spec.get("tls") or []):
        for j, host in enumerate((tls or {}).get("hosts") or []):
            check = host[2:] if host.startswith("*.") else host
            causes += [invalid(f"spec.tls[{i}].hosts[{j}]", host, m) for m in validate_dns1123_subdomain(check)]
    return causes


def validate_ingress_class(obj: dict, old: dict | None) -> list[Cause]:
    controller = get_path(obj, "spec", "controller") or ""
    causes: list[Cause] = []
    if not controller:
        causes.append(required("spec.controller"))
    elif len(controller) > 250:
        causes.append(invalid("spec.controller", controller, "must be no more than 250 characters"))
    if old is not None and get_path(old, "spec", "controller") != controller:
        causes.append(immutable("spec.controller", controller))
    return causes


def validate_network_policy(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    causes = validate_label_selector(spec.get("podSelector") or {}, "spec.podSelector")
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            f = f"spec.{direction}[{i}]"
            for j, port in enumerate((rule or {}).get("ports") or []):
                pf = f"{f}.ports[{j}]"
                causes += validate_enum((port or {}).get("protocol"), f"{pf}.protocol", ("SCTP", "TCP", "UDP"),
                                        allow_empty=True)
                if (port or {}).get("port") is not None:
                    causes += validate_port_num_or_name(port["port"], f"{pf}.port")
            for j, peer in enumerate((rule or {}).get(peers_key) or []):
                pf = f"{f}.{peers_key}[{j}]"
                peer = peer or {}
                chosen = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(k) is not None]
                if not chosen:
                    causes.append(required(pf, "must specify a peer"))
                if "ipBlock" in chosen and len(chosen) > 1:
                    causes.append(forbidden(pf, "may not specify both ipBlock and another peer"))
                for key in ("podSelector", "namespaceSelector"):
                    causes += validate_label_selector(peer.get(key), f"{pf}.{key}")
    for i, t in enumerate(spec.get("policyTypes") or []):
        causes += validate_enum(t, f"spec.policyTypes[{i}]", ("Egress", "Ingress"))
    return causes


def validate_storage_class(obj: dict, old: dict | None) -> list[Cause]:
    causes: list[Cause] = []
    provisioner = obj.get("provisioner") or ""
    if not provisioner:
        causes.append(required("provisioner"))
    causes += validate_enum(obj.get("reclaimPolicy"), "reclaimPolicy", ("Delete", "Retain"), allow_empty=True)
    causes += validate_enum(obj.get("volumeBindingMode"), "volumeBindingMode", ("Immediate", "WaitForFirstConsumer"),
                            allow_empty=True)
    if old is not None:
        for key in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"):
            if obj.get(key) != old.get(key):
                causes.append(forbidden(key, "updates to " + key + " are forbidden."))
    return causes


# ---------------------------------------------------------------------------------------------
# RBAC


def _validate_rules(rules: Any, field: str, cluster: bool) -> list[Cause]:
    causes: list[Cause] = []
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        f = f"{field}[{i}]"
        rule = rule or {}
        if not rule.get("verbs"):
            causes.append(required(f"{f}.verbs", "verbs must contain at least one value"))
        if rule.get("nonResourceURLs"):
            if not cluster:
                causes.append(invalid(f"{f}.nonResourceURLs", rule["nonResourceURLs"],
                                      "namespaced rules cannot apply to non-resource URLs"))
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                causes.append(invalid(f"{f}.nonResourceURLs", rule["nonResourceURLs"],
                                      "rules cannot apply to both regular resources and non-resource URLs"))
            continue
        if not rule.get("apiGroups"):
            causes.append(required(f"{f}.apiGroups", "resource rules must supply at least one api group"))
        if not rule.get("resources"):
            causes.append(required(f"{f}.resources", "resource rules must supply at least one resource"))
    return causes


def validate_role(obj: dict, old: dict | None) -> list[Cause]:
    return _validate_rules(obj.get("rules"), "rules", cluster=False)


def validate_cluster_role(obj: dict, old: dict | None) -> list[Cause]:
    causes = _validate_rules(obj.get("rules"), "rules", cluster=True)
    aggregation = obj.get("aggregationRule")
    if isinstance(aggregation, dict):
        for i, sel in enumerate(aggregation.get("clusterRoleSelectors") or []):
            causes += validate_label_selector(sel, f"aggregationRule.clusterRoleSelectors[{i}]")
    return causes


def _validate_binding(obj: dict, old: dict | None, role_kinds: tuple[str, ...]) -> list[Cause]:
    causes: list[Cause] = []
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        causes.append(required("roleRef"))
    else:
        if ref.get("apiGroup") != "rbac.authorization.k8s.io":
            causes.append(validate_enum(ref.get("apiGroup"), "roleRef.apiGroup", ("rbac.authorization.k8s.io",))[0])
        causes += validate_enum(ref.get("kind"), "roleRef.kind", role_kinds)
        if not ref.get("name"):
            causes.append(required("roleRef.name"))
    for i, subject in enumerate(obj.get("subjects") or []):
        f = f"subjects[{i}]"
        subject = subject or {}
        kind = subject.get("kind")
        causes += validate_enum(kind, f"{f}.kind", ("Group", "ServiceAccount", "User"))
        if not subject.get("name"):
            causes.append(required(f"{f}.name"))
        if kind == "ServiceAccount":
            if subject.get("apiGroup"):
                causes.append(validate_enum(subject["apiGroup"], f"{f}.apiGroup", ("",))[0])
            if subject.get("name"):
                causes += [invalid(f"{f}.name", subject["name"], m)
                           for m in validate_dns1123_subdomain(subject["name"])]
        elif kind in ("User", "Group") and subject.get("apiGroup") != "rbac.authorization.k8s.io":
            causes += validate_enum(subject.get("apiGroup"), f"{f}.apiGroup", ("rbac.authorization.k8s.io",))
    if old is not None and obj.get("roleRef") != old.get("roleRef"):
        causes.append(invalid("roleRef", obj.get("roleRef"), "cannot change roleRef"))
    return causes


def validate_role_binding(obj: dict, old: dict | None) -> list[Cause]:
    return _validate_binding(obj, old, ("ClusterRole", "Role"))


def validate_cluster_role_binding(obj: dict, old: dict | None) -> list[Cause]:
    return _validate_binding(obj, old, ("ClusterRole",))


# ---------------------------------------------------------------------------------------------
# CustomResourceDefinition


def validate_crd(obj: dict, old: dict | None) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    causes: list[Cause] = []
    group = spec.get("group") or ""
    if not group:
        causes.append(required("spec.group"))
    else:
        causes += [invalid("spec.group", group, m) for m in validate_dns1123_subdomain(group)]
        if "." not in group:
            causes.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    names = spec.get("names") or {}
    plural = names.get("plural") or ""
    for key in ("plural", "kind"):
        if not names.get(key):
            causes.append(required(f"spec.names.{key}"))
    for key in ("plural", "singular"):
        if names.get(key):
            causes += [invalid(f"spec.names.{key}", names[key], m) for m in validate_dns1035_label(names[key])]
    for i, short in enumerate(names.get("shortNames") or []):
        causes += [invalid(f"spec.names.shortNames[{i}]", short, m) for m in validate_dns1035_label(short)]
    name = get_path(obj, "metadata", "name") or ""
    if plural and group and name != f"{plural}.{group}":
        causes.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    causes += validate_enum(spec.get("scope"), "spec.scope", ("Cluster", "Namespaced"))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(required("spec.versions", "must have exactly one version marked as storage version"))
    storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
    if versions and len(storage) != 1:
        causes.append(invalid("spec.versions", versions if len(storage) > 1 else [],
                              "must have exactly one version marked as storage version"))
    seen: set[str] = set()
    for i, version in enumerate(versions):
        f = f"spec.versions[{i}]"
        vname = (version or {}).get("name") or ""
        if not vname:
            causes.append(required(f"{f}.name"))
        else:
            causes += [invalid(f"{f}.name", vname, m) for m in validate_dns1035_label(vname)]
            if vname in seen:
                causes.append(invalid(f"{f}.name", vname, "must be unique"))
            seen.add(vname)
        if not isinstance((version or {}).get("served"), bool):
            causes.append(required(f"{f}.served"))
        schema = get_path(version, "schema", "openAPIV3Schema")
        if schema is None:
            causes.append(required(f"{f}.schema.openAPIV3Schema", "schemas are required"))
        elif not isinstance(schema, dict):
            causes.append(invalid(f"{f}.schema.openAPIV3Schema", schema, "must be an object"))
        elif schema.get("type") not in (None, "object"):
            causes.append(invalid(f"{f}.schema.openAPIV3Schema.type", schema.get("type"),
                                  "must be object at the root"))
        for j, col in enumerate((version or {}).get("additionalPrinterColumns") or []):
            cf = f"{f}.additionalPrinterColumns[{j}]"
            for key in ("name", "type", "jsonPath"):
                if not (col or {}).get(key):
                    causes.append(required(f"{cf}.{key}"))
    if old is not None:
        old_spec = old.get("spec") or {}
        if old_spec.get("group") != group:
            causes.append(immutable("spec.group", group))
        if old_spec.get("scope") != spec.get("scope"):
            causes.append(immutable("spec.scope", spec.get("scope")))
        if get_path(old_spec, "names", "plural") != plural:
            causes.append(immutable("spec.names.plural", plural))
    return causes


def validate_events_v1_event(obj: dict, old: dict | None) -> list[Cause]:
    causes: list[Cause] = []
    if obj.get("type") not in (None, "", "Normal", "Warning"):
        causes.append(invalid("type", obj["type"], "has invalid value"))
    if not obj.get("eventTime") and not obj.get("deprecatedFirstTimestamp"):
        causes.append(required("eventTime"))
    if not obj.get("reportingController"):
        causes.append(required("reportingController"))
    if not obj.get("reportingInstance"):
        causes.append(required("reportingInstance"))
    if not obj.get("action"):
        causes.append(required("action"))
    if not obj.get("reason"):
        causes.append(required("reason"))
    return causes
