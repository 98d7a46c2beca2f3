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


def _is_cpu_utilization(metric: Obj) -> bool:
    resource = metric.get("resource") or {}
    target = resource.get("target") or {}
    return (metric.get("type") == "Resource" and resource.get("name") == "cpu"
            and target.get("type") == "Utilization" and target.get("averageUtilization") is not None)


def v2_to_v1(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v1"
    meta = out.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    spec = out.get("spec") or {}
    status = out.get("status") or {}
    metrics = spec.pop("metrics", None) or []
    cpu = [m for m in metrics if _is_cpu_utilization(m)]
    others = [m for m in metrics if not _is_cpu_utilization(m)]
    if cpu:
        spec["targetCPUUtilizationPercentage"] = cpu[0]["resource"]["target"]["averageUtilization"]
    if others:
        annotations[METRICS] = json.dumps(others, separators=(",", ":"))
    behavior = spec.pop("behavior", None)
    if behavior:
        annotations[BEHAVIOR] = json.dumps(behavior, separators=(",", ":"))
    current = status.pop("currentMetrics", None) or []
    for m in current:
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
    meta = out.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    spec = out.setdefault("spec", {})
    status = out.get("status")
    metrics = []
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        metrics.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
    metrics += _pop_json(annotations, METRICS) or []
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
