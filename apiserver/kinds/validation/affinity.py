"""Validation of a pod's scheduling constraints: node affinity and pod (anti-)affinity.

The scheduler evaluates these expressions for every pod on every node, so malformed ones are
refused at the door with upstream's messages rather than discovered in a scheduling loop.
"""

from __future__ import annotations

from typing import Any

from apiserver.kinds.validation.common import validate_label_selector, validate_labels
from apiserver.kinds.validation.errors import Cause, forbidden, invalid, required
from client.labels import validate_dns1123_label


def _list(value: Any) -> list:
    """A list field's items; anything else (a malformed value) has none to check here."""
    return value if isinstance(value, list) else []


def _requirement(req: Any, field: str, fields: bool = False) -> list[Cause]:
    if not isinstance(req, dict):
        return [invalid(field, req, "must be an object")]
    causes: list[Cause] = []
    op = req.get("operator")
    values = _list(req.get("values"))
    key = req.get("key") or ""
    if not isinstance(key, str):
        return [invalid(f"{field}.key", key, "must be a string")]
    if fields:
        if key != "metadata.name":
            causes.append(invalid(f"{field}.key", key, "not a valid field selector key"))
        if op not in ("In", "NotIn"):
            causes.append(invalid(f"{field}.operator", op, "not a valid selector operator"))
        elif len(values) != 1:
            causes.append(required(f"{field}.values", "must be only one value when `operator` is 'In' or 'NotIn' "
                                                      "for node field selector"))
        return causes
    if op in ("In", "NotIn"):
        if not values:
            causes.append(required(f"{field}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif op in ("Exists", "DoesNotExist"):
        if values:
            causes.append(forbidden(f"{field}.values",
                                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    elif op in ("Gt", "Lt"):
        if len(values) != 1:
            causes.append(required(f"{field}.values", "must be specified single value when `operator` is 'Lt' or "
                                                      "'Gt'"))
        else:
            try:
                int(values[0])
            except (TypeError, ValueError):
                causes.append(invalid(f"{field}.values[0]", values[0], "must be an integer"))
    else:
        causes.append(invalid(f"{field}.operator", op, "not a valid selector operator"))
    if not key:
        causes.append(required(f"{field}.key"))
    else:
        causes += validate_labels({key: ""}, f"{field}.key")
    return causes


def _node_selector_term(term: Any, field: str) -> list[Cause]:
    if not isinstance(term, dict):
        return [invalid(field, term, "must be an object")]
    causes: list[Cause] = []
    for i, req in enumerate(_list(term.get("matchExpressions"))):
        causes += _requirement(req, f"{field}.matchExpressions[{i}]")
    for i, req in enumerate(_list(term.get("matchFields"))):
        causes += _requirement(req, f"{field}.matchFields[{i}]", fields=True)
    return causes


def _weight(value: Any, field: str) -> list[Cause]:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        return [invalid(field, value, "must be in the range 1-100")]
    return []


def _pod_affinity_term(term: Any, field: str) -> list[Cause]:
    if not isinstance(term, dict):
        return [invalid(field, term, "must be an object")]
    causes = validate_label_selector(term.get("labelSelector"), f"{field}.labelSelector")
    causes += validate_label_selector(term.get("namespaceSelector"), f"{field}.namespaceSelector")
    for i, ns in enumerate(_list(term.get("namespaces"))):
        if not isinstance(ns, str):
            causes.append(invalid(f"{field}.namespaces[{i}]", ns, "must be a string"))
            continue
        causes += [invalid(f"{field}.namespaces[{i}]", ns, m) for m in validate_dns1123_label(ns)]
    if not term.get("topologyKey"):
        causes.append(required(f"{field}.topologyKey", "can not be empty"))
    elif not isinstance(term["topologyKey"], str):
        causes.append(invalid(f"{field}.topologyKey", term["topologyKey"], "must be a string"))
    else:
        causes += validate_labels({term["topologyKey"]: ""}, f"{field}.topologyKey")
    return causes


def validate_affinity(affinity: Any, field: str) -> list[Cause]:
    if affinity is None:
        return []
    if not isinstance(affinity, dict):
        return [invalid(field, affinity, "must be an object")]
    causes: list[Cause] = []
    node = affinity.get("nodeAffinity")
    if isinstance(node, dict):
        f = f"{field}.nodeAffinity"
        req = node.get("requiredDuringSchedulingIgnoredDuringExecution")
        if isinstance(req, dict):
            terms = _list(req.get("nodeSelectorTerms"))
            rf = f"{f}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
            if not terms:
                causes.append(required(rf, "must have at least one node selector term"))
            for i, term in enumerate(terms):
                causes += _node_selector_term(term, f"{rf}[{i}]")
        for i, pref in enumerate(_list(node.get("preferredDuringSchedulingIgnoredDuringExecution"))):
            pf = f"{f}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            if not isinstance(pref, dict):
                causes.append(invalid(pf, pref, "must be an object"))
                continue
            causes += _weight(pref.get("weight"), f"{pf}.weight")
            causes += _node_selector_term(pref.get("preference") or {}, f"{pf}.preference")
    for kind in ("podAffinity", "podAntiAffinity"):
        pod = affinity.get(kind)
        if not isinstance(pod, dict):
            continue
        f = f"{field}.{kind}"
        for i, term in enumerate(_list(pod.get("requiredDuringSchedulingIgnoredDuringExecution"))):
            causes += _pod_affinity_term(term, f"{f}.requiredDuringSchedulingIgnoredDuringExecution[{i}]")
        for i, pref in enumerate(_list(pod.get("preferredDuringSchedulingIgnoredDuringExecution"))):
            pf = f"{f}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            if not isinstance(pref, dict):
                causes.append(invalid(pf, pref, "must be an object"))
                continue
            causes += _weight(pref.get("weight"), f"{pf}.weight")
            causes += _pod_affinity_term(pref.get("podAffinityTerm"), f"{pf}.podAffinityTerm")
    return causes
