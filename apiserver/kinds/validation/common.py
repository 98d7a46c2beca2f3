"""Checks shared by many kinds: object metadata, names, labels, ports, quantities, selectors.

Upstream ``ValidateObjectMeta`` and friends. Each function returns a list of causes and takes
the field path of what it checks, so kinds compose them (``spec.template.metadata.labels``).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

from apiserver.kinds.validation.errors import (
    Cause,
    forbidden,
    immutable,
    invalid,
    not_supported,
    required,
    too_long,
)
from client.labels import (
    SelectorError,
    selector_from_label_selector,
    validate_dns1035_label,
    validate_dns1123_label,
    validate_dns1123_subdomain,
    validate_label_value,
    validate_qualified_name,
)
from client.quantity import QuantityError, parse_quantity

NameValidator = Callable[[str], list[str]]
TOTAL_ANNOTATION_SIZE = 256 * 1024


def path_segment_name(name: str) -> list[str]:
    """Names that only have to be usable as one URL path segment (RBAC objects)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


NAME_VALIDATORS: dict[str, NameValidator] = {
    "subdomain": validate_dns1123_subdomain,
    "label": validate_dns1123_label,
    "dns1035": validate_dns1035_label,
    "path": path_segment_name,
}


def validate_name(name: str, field: str, validator: NameValidator, prefix: bool = False) -> list[Cause]:
    # A generateName prefix is checked without its trailing dash, as the random suffix follows it.
    checked = name[:-1] if prefix and name.endswith("-") else name
    if prefix and not checked:
        return []
    return [invalid(field, name, msg) for msg in validator(checked)]


def validate_labels(labels: Any, field: str) -> list[Cause]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [invalid(field, labels, "must be a map of string keys to string values")]
    causes = []
    for key, value in labels.items():
        causes += [invalid(field, key, msg) for msg in validate_qualified_name(key)]
        if not isinstance(value, str):
            causes.append(invalid(field, value, "label values must be strings"))
            continue
        causes += [invalid(field, value, msg) for msg in validate_label_value(value)]
    return causes


def validate_annotations(annotations: Any, field: str) -> list[Cause]:
    if annotations is None:
        return []
    if not isinstance(annotations, dict):
        return [invalid(field, annotations, "must be a map of string keys to string values")]
    causes = []
    total = 0
    for key, value in annotations.items():
        causes += [invalid(field, key, msg) for msg in validate_qualified_name(key.lower())]
        total += len(key) + len(value if isinstance(value, str) else json.dumps(value))
    if total > TOTAL_ANNOTATION_SIZE:
        causes.append(too_long(field, TOTAL_ANNOTATION_SIZE))
    return causes


def _validate_owner_references(refs: Any, field: str) -> list[Cause]:
    if refs is None:
        return []
    if not isinstance(refs, list):
        return [invalid(field, refs, "must be a list of owner references")]
    causes = []
    controllers = []
    for i, ref in enumerate(refs):
        f = f"{field}[{i}]"
        if not isinstance(ref, dict):
            causes.append(invalid(f, ref, "must be an object"))
            continue
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key):
                causes.append(required(f"{f}.{key}", f"{key} must not be empty"))
        if ref.get("controller") is True:
            controllers.append(str(ref.get("name")))
    if len(controllers) > 1:
        causes.append(invalid(field, refs, "Only one reference can have Controller set to true. Found \"true\" "
                                           f"in references for {' and '.join(controllers)}"))
    return causes


def validate_object_meta(meta: Any, namespaced: bool, name_validator: NameValidator,
                         field: str = "metadata") -> list[Cause]:
    if not isinstance(meta, dict):
        return [required(field)]
    causes: list[Cause] = []
    name = meta.get("name") or ""
    generate_name = meta.get("generateName") or ""
    if generate_name:
        causes += validate_name(generate_name, f"{field}.generateName", name_validator, prefix=True)
    if not name:
        if not generate_name:
            causes.append(required(f"{field}.name", "name or generateName is required"))
    else:
        causes += validate_name(name, f"{field}.name", name_validator)
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            causes.append(required(f"{field}.namespace"))
        else:
            causes += [invalid(f"{field}.namespace", namespace, m) for m in validate_dns1123_label(namespace)]
    elif namespace:
        causes.append(forbidden(f"{field}.namespace", "not allowed on this type"))
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        causes.append(invalid(f"{field}.generation", generation, "must be greater than or equal to 0"))
    causes += validate_labels(meta.get("labels"), f"{field}.labels")
    causes += validate_annotations(meta.get("annotations"), f"{field}.annotations")
    causes += _validate_owner_references(meta.get("ownerReferences"), f"{field}.ownerReferences")
    finalizers = meta.get("finalizers") or []
    if isinstance(finalizers, list):
        for i, fin in enumerate(finalizers):
            if not isinstance(fin, str):
                causes.append(invalid(f"{field}.finalizers[{i}]", fin, "must be a string"))
                continue
            causes += [invalid(f"{field}.finalizers", fin, m) for m in validate_qualified_name(fin)]
    return causes


def validate_object_meta_update(meta: dict, old_meta: dict, field: str = "metadata") -> list[Cause]:
    causes = []
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if (meta.get(key) or "") != (old_meta.get(key) or "") and old_meta.get(key) is not None:
            causes.append(immutable(f"{field}.{key}", meta.get(key) or ""))
    if old_meta.get("deletionTimestamp") and meta.get("deletionTimestamp") != old_meta.get("deletionTimestamp"):
        causes.append(immutable(f"{field}.deletionTimestamp", meta.get("deletionTimestamp")))
    return causes


# ---------------------------------------------------------------------------------------------
# values


def port_in_range(value: Any, field: str, allow_zero: bool = False) -> list[Cause]:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        return [invalid(field, value, f"must be between {low} and 65535, inclusive")]
    return []


_IANA_LETTER = re.compile("[a-z]")
_IANA_CHARS = re.compile("^[-a-z0-9]+$")


def iana_svc_name_errors(name: str) -> list[str]:
    errs = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not _IANA_CHARS.match(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if not _IANA_LETTER.search(name):
        errs.append("must contain at least one letter (a-z)")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def validate_port_num_or_name(value: Any, field: str) -> list[Cause]:
    """An IntOrString port: a number 1-65535 or an IANA service name."""
    if isinstance(value, int) and not isinstance(value, bool):
        return port_in_range(value, field)
    if isinstance(value, str):
        if value.isdigit():
            return port_in_range(int(value), field)
        return [invalid(field, value, m) for m in iana_svc_name_errors(value)]
    return [invalid(field, value, "must be an integer or a string")]


def validate_enum(value: Any, field: str, supported: tuple[str, ...], allow_empty: bool = False) -> list[Cause]:
    if value is None or value == "":
        if allow_empty:
            return []
        return [required(field, "supported values: " + ", ".join(json.dumps(s) for s in supported))]
    if value not in supported:
        return [not_supported(field, value, supported)]
    return []


def non_negative(value: Any, field: str) -> list[Cause]:
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        return [invalid(field, value, "must be an integer")]
    if value < 0:
        return [invalid(field, value, "must be greater than or equal to 0")]
    return []


def positive(value: Any, field: str) -> list[Cause]:
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return [invalid(field, value, "must be greater than 0")]
    return []


def validate_quantity(value: Any, field: str, non_negative_only: bool = True) -> list[Cause]:
    try:
        q = parse_quantity(value)
    except QuantityError as e:
        return [invalid(field, value, str(e))]
    if non_negative_only and q < 0:
        return [invalid(field, value, "must be greater than or equal to 0")]
    return []


def validate_resource_list(values: Any, field: str) -> list[Cause]:
    if values is None:
        return []
    if not isinstance(values, dict):
        return [invalid(field, values, "must be a map of resource names to quantities")]
    causes = []
    for name, value in values.items():
        causes += [invalid(f"{field}[{name}]", name, m) for m in validate_qualified_name(name)]
        causes += validate_quantity(value, f"{field}[{name}]")
    return causes


def validate_ip(value: Any, field: str) -> list[Cause]:
    try:
        ipaddress.ip_address(value)
    except (ValueError, TypeError):
        return [invalid(field, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
    return []


def validate_label_selector(selector: Any, field: str) -> list[Cause]:
    if selector is None:
        return []
    if not isinstance(selector, dict):
        return [invalid(field, selector, "must be a label selector")]
    causes = validate_labels(selector.get("matchLabels"), f"{field}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        f = f"{field}.matchExpressions[{i}]"
        if not isinstance(expr, dict):
            causes.append(invalid(f, expr, "must be an object"))
            continue
        op = expr.get("operator")
        values = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                causes.append(required(f"{f}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                causes.append(forbidden(f"{f}.values",
                                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            causes.append(invalid(f"{f}.operator", op, "not a valid selector operator"))
        causes += [invalid(f"{f}.key", expr.get("key"), m) for m in validate_qualified_name(expr.get("key") or "")]
    if not causes:
        try:
            selector_from_label_selector(selector)
        except SelectorError as e:
            causes.append(invalid(field, selector, str(e)))
    return causes


def get_path(obj: Any, *keys: str | int) -> Any:
    cur = obj
    for k in keys:
        if isinstance(k, int):
            if not isinstance(cur, list) or k >= len(cur):
                return None
        elif not isinstance(cur, dict):
            return None
        cur = cur[k] if isinstance(k, int) else cur.get(k)
    return cur
