"""The Table form of list and get responses (``Accept: application/json;as=Table``).

``table_columns(rt)`` gives the ``columnDefinitions`` and ``table_row(rt, obj, now)`` the cells of
one row, so the apiserver can answer ``kubectl get`` the way a real cluster does. Built-in kinds
use the printers in ``printers``/``printers_core``; custom resources use their CRD's
``additionalPrinterColumns`` (JSONPath expressions) after NAME, or NAME AGE when the CRD declares
none.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from apiserver.kinds import printers as p
from apiserver.kinds import printers_core as c
from apiserver.kinds.age import since
from apiserver.kinds.jsonpath import JSONPathError, find
from apiserver.kinds.registry import ResourceType, custom_printer_columns

log = logging.getLogger(__name__)

_PRINTERS: dict[tuple[str, str], p.Printer] = {
    ("v1", "Pod"): p.POD,
    ("v1", "Service"): c.SERVICE,
    ("v1", "Node"): c.NODE,
    ("v1", "Namespace"): c.NAMESPACE,
    ("v1", "ConfigMap"): c.CONFIG_MAP,
    ("v1", "Secret"): c.SECRET,
    ("v1", "ServiceAccount"): c.SERVICE_ACCOUNT,
    ("v1", "Endpoints"): c.ENDPOINTS,
    ("v1", "Event"): c.EVENT,
    ("v1", "PersistentVolume"): c.PERSISTENT_VOLUME,
    ("v1", "PersistentVolumeClaim"): c.PERSISTENT_VOLUME_CLAIM,
    ("v1", "ResourceQuota"): c.RESOURCE_QUOTA,
    ("v1", "LimitRange"): c.LIMIT_RANGE,
    ("apps/v1", "Deployment"): p.DEPLOYMENT,
    ("apps/v1", "ReplicaSet"): p.REPLICA_SET,
    ("apps/v1", "StatefulSet"): p.STATEFUL_SET,
    ("apps/v1", "DaemonSet"): p.DAEMON_SET,
    ("apps/v1", "ControllerRevision"): p.CONTROLLER_REVISION,
    ("batch/v1", "Job"): p.JOB,
    ("batch/v1", "CronJob"): p.CRON_JOB,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): p.HPA,
    ("autoscaling/v1", "HorizontalPodAutoscaler"): p.HPA_V1,
    ("discovery.k8s.io/v1", "EndpointSlice"): c.ENDPOINT_SLICE,
    ("coordination.k8s.io/v1", "Lease"): c.LEASE,
    ("networking.k8s.io/v1", "Ingress"): c.INGRESS,
    ("networking.k8s.io/v1", "IngressClass"): c.INGRESS_CLASS,
    ("networking.k8s.io/v1", "NetworkPolicy"): c.NETWORK_POLICY,
    ("storage.k8s.io/v1", "StorageClass"): c.STORAGE_CLASS,
    ("rbac.authorization.k8s.io/v1", "Role"): c.ROLE,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): c.ROLE,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): c.BINDING,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): c.BINDING,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): c.CRD,
    ("events.k8s.io/v1", "Event"): c.EVENT_V1,
}

_GENERIC = p.Printer((p.NAME, p.AGE), lambda o, now: [(o.get("metadata") or {}).get("name", ""),
                                                      since((o.get("metadata") or {}).get("creationTimestamp"),
                                                            now)])


def _printer_columns(rt: ResourceType, printer_columns: list[dict] | None) -> list[dict] | None:
    if printer_columns is not None:
        return printer_columns
    if rt.custom:
        return custom_printer_columns(rt.group, rt.version, rt.plural)
    return None


def table_columns(rt: ResourceType, printer_columns: list[dict] | None = None) -> list[dict[str, Any]]:
    """Column definitions; ``printer_columns`` are a CRD version's additionalPrinterColumns."""
    custom = _printer_columns(rt, printer_columns)
    if custom:
        cols = [p.NAME.definition()]
        for col in custom:
            cols.append({"name": col.get("name", ""), "type": col.get("type", "string"),
                         "format": col.get("format", ""), "description": col.get("description", ""),
                         "priority": col.get("priority", 0)})
        return cols
    printer = _PRINTERS.get((rt.api_version, rt.kind), _GENERIC)
    return [col.definition() for col in printer.columns]


def _custom_cell(obj: dict, col: dict, now: datetime) -> Any:
    try:
        values = find(obj, col.get("jsonPath", ""))
    except JSONPathError:
        return None
    if not values:
        return None
    kind = col.get("type", "string")
    if kind == "date":
        return since(values[0], now)
    if len(values) == 1:
        value = values[0]
        if kind == "string" and not isinstance(value, str):
            return json.dumps(value) if isinstance(value, (dict, list)) else str(value).lower() \
                if isinstance(value, bool) else str(value)
        return value
    return ",".join(v if isinstance(v, str) else json.dumps(v) for v in values)


def table_row(rt: ResourceType, obj: dict, now: datetime, printer_columns: list[dict] | None = None) -> list[Any]:
    """The cells of one object's row, in column order."""
    custom = _printer_columns(rt, printer_columns)
    if custom:
        name = (obj.get("metadata") or {}).get("name", "")
        return [name] + [_custom_cell(obj, col, now) for col in custom]
    printer = _PRINTERS.get((rt.api_version, rt.kind), _GENERIC)
    try:
        return printer.row(obj, now)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):
        # An object stored in a shape the printer does not expect must not fail the whole list.
        log.warning("table row fell back to name and age", extra={"kind": rt.kind}, exc_info=True)
        found = obj.get("metadata") if isinstance(obj, dict) else None
        meta: dict[str, Any] = found if isinstance(found, dict) else {}
        cells: list[Any] = [None] * len(printer.columns)
        for i, column in enumerate(printer.columns):
            if column.name == "Name":
                cells[i] = meta.get("name", "")
            elif column.name == "Age":
                cells[i] = since(meta.get("creationTimestamp"), now)
        return cells


def table(rt: ResourceType, objects: list[dict], now: datetime, list_meta: dict | None = None,
          include_object: str = "Metadata", printer_columns: list[dict] | None = None) -> dict[str, Any]:
    """A whole ``meta.k8s.io/v1`` Table; rows carry the object (``Object``), its metadata as
    PartialObjectMetadata (``Metadata``, kubectl's default), or nothing (``None``)."""
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": table_row(rt, obj, now, printer_columns)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "Metadata":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj.get("metadata") or {}}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
            "columnDefinitions": table_columns(rt, printer_columns), "rows": rows}
