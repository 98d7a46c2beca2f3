"""Serving the custom resources a CustomResourceDefinition declares.

A stored CRD becomes one ``ResourceType`` per served version in the kinds registry, which makes
its resources routable and visible in discovery at once. All versions share one storage prefix
(``/registry/<group>/<plural>/``) with conversion strategy None: an object read through another
version only changes its ``apiVersion``. The server fills in the CRD's status (names accepted,
Established) itself, since there is no separate controller to do it.

Registration follows the watch cache as well as local writes, so several apiservers on one
etcd serve the same custom types; deleting a CRD deletes its custom objects, as upstream's
cleanup finalizer does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from apiserver.kinds.registry import RegistryError, ResourceType, register_custom, unregister_custom
from apiserver.strategy import now_rfc3339
from apiserver.watch_cache import CachedEvent

log = logging.getLogger(__name__)

CRD_PREFIX = "/registry/apiextensions.k8s.io/customresourcedefinitions/"


@dataclass(frozen=True)
class ScalePaths:
    spec_replicas: str
    status_replicas: str
    label_selector: str = ""


_scale_paths: dict[tuple[str, str], ScalePaths] = {}
_served: dict[str, list[tuple[str, str, str]]] = {}  # CRD name -> registered (group, version, plural)
_printer_columns: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
_selectable_fields: dict[tuple[str, str, str], tuple[str, ...]] = {}


def scale_paths(group: str, plural: str) -> ScalePaths | None:
    return _scale_paths.get((group, plural))


def printer_columns(rt: ResourceType) -> list[dict[str, Any]] | None:
    """The served version's ``additionalPrinterColumns`` (None: the default NAME, AGE)."""
    return _printer_columns.get((rt.group, rt.version, rt.plural))


def selectable_fields(rt: ResourceType) -> tuple[str, ...]:
    """The served version's ``selectableFields`` as field labels (``spec.color``)."""
    return _selectable_fields.get((rt.group, rt.version, rt.plural), ())


def types_of(crd: dict[str, Any]) -> list[tuple[ResourceType, dict[str, Any] | None]]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subs = v.get("subresources") or {}
        subresources = tuple(s for s in ("scale", "status") if s in subs)
        rt = ResourceType(
            group, v.get("name", ""), names.get("kind", ""), names.get("plural", ""),
            names.get("singular") or names.get("kind", "").lower(), spec.get("scope") == "Namespaced",
            tuple(names.get("shortNames") or ()), tuple(names.get("categories") or ()),
            subresources=subresources, custom=True)
        out.append((rt, (v.get("schema") or {}).get("openAPIV3Schema")))
    return out


def register(crd: dict[str, Any]) -> None:
    name = (crd.get("metadata") or {}).get("name", "")
    if (crd.get("metadata") or {}).get("deletionTimestamp"):
        unregister(name)
        return
    wanted = types_of(crd)
    keys = [(rt.group, rt.version, rt.plural) for rt, _ in wanted]
    for old in _served.get(name, []):
        if old not in keys:
            unregister_custom(*old)
    for rt, schema in wanted:
        try:
            register_custom(rt, schema)
        except RegistryError as e:
            log.warning("custom resource not served", extra={"crd": name, "error": str(e)})
    _served[name] = keys
    for v in (crd.get("spec") or {}).get("versions") or []:
        columns = v.get("additionalPrinterColumns")
        key = ((crd.get("spec") or {}).get("group", ""), v.get("name", ""),
               ((crd.get("spec") or {}).get("names") or {}).get("plural", ""))
        if columns:
            _printer_columns[key] = columns
        else:
            _printer_columns.pop(key, None)
        _selectable_fields[key] = tuple(str(f.get("jsonPath", "")).lstrip(".")
                                        for f in v.get("selectableFields") or [] if isinstance(f, dict))
        scale = (v.get("subresources") or {}).get("scale")
        if scale and v.get("storage", False):
            _scale_paths[(crd["spec"].get("group", ""), crd["spec"]["names"].get("plural", ""))] = ScalePaths(
                scale.get("specReplicasPath", ".spec.replicas"), scale.get("statusReplicasPath", ".status.replicas"),
                scale.get("labelSelectorPath", ""))


def unregister(name: str) -> None:
    for key in _served.pop(name, []):
        unregister_custom(*key)
        _scale_paths.pop((key[0], key[2]), None)
        _printer_columns.pop(key, None)
        _selectable_fields.pop(key, None)


def follow(ev: CachedEvent) -> None:
    """Watch cache listener: keep the registry in step with CRDs written by any apiserver."""
    if ev.type == "DELETE":
        unregister((ev.obj.get("metadata") or {}).get("name", ""))
    else:
        register(ev.obj)


def set_status(crd: dict[str, Any]) -> None:
    """Names accepted and Established, as the upstream CRD controllers would report."""
    names = (crd.get("spec") or {}).get("names") or {}
    now = now_rfc3339()
    status = crd.setdefault("status", {})
    status["acceptedNames"] = names
    status["storedVersions"] = [v["name"] for v in (crd.get("spec") or {}).get("versions") or []
                                if v.get("storage")]
    status["conditions"] = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
         "message": "no conflicts found", "lastTransitionTime": now},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted", "lastTransitionTime": now},
    ]


def get_path(obj: dict[str, Any], path: str) -> Any:
    """A value at a ``.spec.replicas``-style JSON path; None when absent."""
    cur: Any = obj
    for part in [p for p in path.split(".") if p]:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = [p for p in path.split(".") if p]
    cur = obj
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value
