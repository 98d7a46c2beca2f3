"""The shapes an object or list can be served in: itself, a ``Table``, or only its metadata.

kubectl asks for ``Table`` (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``) so that the
server decides the columns of ``kubectl get``; each row carries the object as
``PartialObjectMetadata`` by default (``includeObject=Metadata``), in full (``Object``) or not at
all (``None``). Watches in Table form send one single-row Table per event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apiserver import crds, errors
from apiserver.codec import Rendering
from apiserver.kinds import tables
from apiserver.kinds.registry import ResourceType

INCLUDE_OBJECT = ("None", "Metadata", "Object")


def include_object(query: Any) -> str:
    value = query.get("includeObject", "") or "Metadata"
    if value not in INCLUDE_OBJECT:
        raise errors.BadRequest(f'includeObject "{value}" is invalid: valid values are None, Metadata, Object')
    return value


def partial_metadata(obj: dict[str, Any], version: str = "v1") -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{version}",
            "metadata": obj.get("metadata") or {}}


def _row(rt: ResourceType, obj: dict[str, Any], now: datetime, include: str, version: str) -> dict[str, Any]:
    row: dict[str, Any] = {"cells": tables.table_row(rt, obj, now, crds.printer_columns(rt) if rt.custom else None)}
    if include == "Object":
        row["object"] = obj
    elif include == "Metadata":
        row["object"] = partial_metadata(obj, version)
    return row


def table(rt: ResourceType, objs: list[dict[str, Any]], rendering: Rendering, include: str,
          list_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{rendering.version}",
        "metadata": list_meta or {},
        "columnDefinitions": tables.table_columns(rt, crds.printer_columns(rt) if rt.custom else None),
        "rows": [_row(rt, o, now, include, rendering.version) for o in objs],
    }


def render_object(rt: ResourceType, obj: dict[str, Any], rendering: Rendering, query: Any) -> dict[str, Any]:
    if rendering.as_ == "Table":
        meta = obj.get("metadata") or {}
        return table(rt, [obj], rendering, include_object(query),
                     {"resourceVersion": meta.get("resourceVersion", "")})
    if rendering.as_ in ("PartialObjectMetadata", "PartialObjectMetadataList"):
        return partial_metadata(obj, rendering.version)
    return obj


def render_list(rt: ResourceType, objs: list[dict[str, Any]], list_meta: dict[str, Any], rendering: Rendering,
                query: Any) -> dict[str, Any]:
    if rendering.as_ == "Table":
        return table(rt, objs, rendering, include_object(query), list_meta)
    if rendering.as_ in ("PartialObjectMetadata", "PartialObjectMetadataList"):
        return {"kind": "PartialObjectMetadataList", "apiVersion": f"meta.k8s.io/{rendering.version}",
                "metadata": list_meta, "items": [partial_metadata(o, rendering.version) for o in objs]}
    return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": list_meta, "items": objs}
