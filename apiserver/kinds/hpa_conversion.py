"""HorizontalPodAutoscaler between autoscaling/v1 and autoscaling/v2.

Upstream stores one HPA and serves it through both versions; ``kubectl autoscale`` (1.32) still
creates autoscaling/v1 objects. v1 knows only a CPU utilization target; v2 has a list of metrics,
scaling behaviour and conditions. As upstream does, what v1 cannot express travels in
annotations (``autoscaling.alpha.kubernetes.io/...``) so that a v2 -> v1 -> v2 round trip loses
nothing.
"""

from __future__ import annotations

import copy
import json
from typing import Any

Obj = dict[str, Any]

METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"


def _member(obj: Obj, key: str) -> Obj:
    """``obj[key]`` as a dict to convert into; anything else (null, junk) becomes empty, so
    conversion never fails: validation is what refuses ill-shaped objects."""
    value = obj.get(key)
    if not isinstance(value, dict):
        value = obj[key] = {}
    return value


def _annotations(meta: Obj) -> Obj:
    raw = meta.get("annotations")
    return dict(raw) if isinstance(raw, dict) else {}


def _is_cpu_utilization(metric: Any) -> bool:
    if not isinstance(metric, dict):
        return False
    resource = metric.get("resource") or {}
    target = resource.get("target") or {}
    return (metric.get("type") == "Resource" and resource.get("name") == "cpu"
            and target.get("type") == "Utilization" and target.get("averageUtilization") is not None)


def v2_to_v1(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v1"
    meta = _member(out, "metadata")
    annotations = _annotations(meta)
    spec = _member(out, "spec")
    status: Obj = out["status"] if isinstance(out.get("status"), dict) else {}
    metrics = spec.pop("metrics", None)
    metrics = metrics if isinstance(metrics, list) else []
    cpu = [m for m in metrics if _is_cpu_utilization(m)]
    others = [m for m in metrics if not _is_cpu_utilization(m)]
    if cpu:
        spec["targetCPUUtilizationPercentage"] = cpu[0]["resource"]["target"]["averageUtilization"]
    if others:
        annotations[METRICS] = json.dumps(others, separators=(",", ":"))
    behavior = spec.pop("behavior", None)
    if behavior:
        annotations[BEHAVIOR] = json.dumps(behavior, separators=(",", ":"))
    current = status.pop("currentMetrics", None)
    current = current if isinstance(current, list) else []
    for m in current:
        if not isinstance(m, dict):
            continue
        res = m.get("resource") or {}
        if m.get("type") == "Resource" and res.get("name") == "cpu":
            value = (res.get("current") or {}).get("averageUtilization")
            if value is not None:
                status["currentCPUUtilizationPercentage"] = value
    if current:
        annotations[CURRENT_METRICS] = json.dumps(current, separators=(",", ":"))
    conditions = status.pop("conditions", None)
    if conditions:
        annotations[CONDITIONS] = json.dumps(conditions, separators=(",", ":"))
    if annotations:
        meta["annotations"] = annotations
    return out


def _pop_json(annotations: Obj, key: str) -> Any:
    raw = annotations.pop(key, None)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def v1_to_v2(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v2"
    meta = _member(out, "metadata")
    annotations = _annotations(meta)
    spec = _member(out, "spec")
    status = out.get("status")
    metrics = []
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        metrics.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
    extra = _pop_json(annotations, METRICS)
    metrics += extra if isinstance(extra, list) else []
    if metrics:
        spec["metrics"] = metrics
    behavior = _pop_json(annotations, BEHAVIOR)
    if behavior:
        spec["behavior"] = behavior
    current = _pop_json(annotations, CURRENT_METRICS)
    conditions = _pop_json(annotations, CONDITIONS)
    if isinstance(status, dict):
        cpu_now = status.pop("currentCPUUtilizationPercentage", None)
        if current:
            status["currentMetrics"] = current
        elif cpu_now is not None:
            status["currentMetrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": cpu_now}}}]
        if conditions:
            status["conditions"] = conditions
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return out
