"""Validation of workload kinds: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, HPA.

The rule that matters most: a workload's selector must select its own pod template, otherwise
the controller would create pods it never counts. Selectors are immutable after creation.
"""

from __future__ import annotations

import re
from typing import Any

from apiserver.kinds.hpa_conversion import v1_to_v2
from apiserver.kinds.validation.common import (
    get_path,
    non_negative,
    positive,
    validate_enum,
    validate_label_selector,
)
from apiserver.kinds.validation.errors import (
    Cause,
    forbidden,
    immutable,
    invalid,
    required,
)
from apiserver.kinds.validation.pod import validate_pod_template
from client.labels import SelectorError, selector_from_label_selector


def _validate_selector_and_template(spec: dict, kind: str, restart: tuple[str, ...] | None,
                                    prefix: str = "spec", selector_required: bool = True) -> list[Cause]:
    causes: list[Cause] = []
    selector = spec.get("selector")
    template = spec.get("template")
    if selector is None:
        if selector_required:
            causes.append(required(f"{prefix}.selector"))
    else:
        selector_causes = validate_label_selector(selector, f"{prefix}.selector")
        causes += selector_causes
        if not selector_causes:
            sel = selector_from_label_selector(selector)
            if sel.empty():
                causes.append(invalid(f"{prefix}.selector", selector, f"empty selector is invalid for {kind}"))
            elif isinstance(template, dict):
                labels = get_path(template, "metadata", "labels") or {}
                if not sel.matches(labels):
                    causes.append(invalid(f"{prefix}.template.metadata.labels", labels,
                                          "`selector` does not match template `labels`"))
    causes += validate_pod_template(template, f"{prefix}.template", restart)
    return causes


def _selector_immutable(spec: dict, old_spec: dict, prefix: str = "spec") -> list[Cause]:
    if _normalized_selector(spec.get("selector")) != _normalized_selector(old_spec.get("selector")):
        return [immutable(f"{prefix}.selector", spec.get("selector"))]
    return []


def _normalized_selector(selector: Any) -> Any:
    try:
        return str(selector_from_label_selector(selector)) if isinstance(selector, dict) else selector
    except SelectorError:
        return selector


def _int_or_percent(value: Any, field: str) -> list[Cause]:
    if value is None:
        return []
    if isinstance(value, bool):
        return [invalid(field, value, "must be an integer or percentage (e.g '5%')")]
    if isinstance(value, int):
        return non_negative(value, field)
    if isinstance(value, str) and re.fullmatch(r"[0-9]+%", value):
        if int(value[:-1]) > 100:
            return [invalid(field, value, "must not be greater than 100%")]
        return []
    return [invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' "
                                  "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")]


def _is_zero(value: Any) -> bool:
    return value in (0, "0%", "0")


def _spec(obj: dict) -> tuple[dict | None, list[Cause]]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None, [required("spec")]
    return spec, []


def validate_deployment(obj: dict, old: dict | None) -> list[Cause]:
    spec, causes = _spec(obj)
    if spec is None:
        return causes
    causes += non_negative(spec.get("replicas"), "spec.replicas")
    causes += _validate_selector_and_template(spec, "deployment", ("Always",))
    strategy = spec.get("strategy") or {}
    stype = strategy.get("type")
    causes += validate_enum(stype, "spec.strategy.type", ("Recreate", "RollingUpdate"), allow_empty=True)
    rolling = strategy.get("rollingUpdate")
    if stype == "Recreate" and rolling is not None:
        causes.append(forbidden("spec.strategy.rollingUpdate",
                                "may not be specified when strategy `type` is 'Recreate'"))
    elif isinstance(rolling, dict):
        surge, unavailable = rolling.get("maxSurge"), rolling.get("maxUnavailable")
        causes += _int_or_percent(surge, "spec.strategy.rollingUpdate.maxSurge")
        causes += _int_or_percent(unavailable, "spec.strategy.rollingUpdate.maxUnavailable")
        if _is_zero(surge) and _is_zero(unavailable):
            causes.append(invalid("spec.strategy.rollingUpdate.maxUnavailable", unavailable,
                                  "may not be 0 when `maxSurge` is 0"))
    causes += non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    causes += non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    deadline = spec.get("progressDeadlineSeconds")
    causes += non_negative(deadline, "spec.progressDeadlineSeconds")
    if isinstance(deadline, int) and isinstance(spec.get("minReadySeconds"), int) \
            and deadline <= spec["minReadySeconds"]:
        causes.append(invalid("spec.progressDeadlineSeconds", deadline,
                              "must be greater than minReadySeconds"))
    if old is not None:
        causes += _selector_immutable(spec, old.get("spec") or {})
    return causes


def validate_replica_set(obj: dict, old: dict | None) -> list[Cause]:
    spec, causes = _spec(obj)
    if spec is None:
        return causes
    causes += non_negative(spec.get("replicas"), "spec.replicas")
    causes += non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    causes += _validate_selector_and_template(spec, "replicaset", ("Always",))
    if old is not None:
        causes += _selector_immutable(spec, old.get("spec") or {})
    return causes


_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds", "revisionHistoryLimit")


def validate_stateful_set(obj: dict, old: dict | None) -> list[Cause]:
    spec, causes = _spec(obj)
    if spec is None:
        return causes
    causes += non_negative(spec.get("replicas"), "spec.replicas")
    causes += validate_enum(spec.get("podManagementPolicy"), "spec.podManagementPolicy",
                            ("OrderedReady", "Parallel"), allow_empty=True)
    strategy = spec.get("updateStrategy") or {}
    causes += validate_enum(strategy.get("type"), "spec.updateStrategy.type", ("OnDelete", "RollingUpdate"),
                            allow_empty=True)
    partition = get_path(strategy, "rollingUpdate", "partition")
    causes += non_negative(partition, "spec.updateStrategy.rollingUpdate.partition")
    causes += _validate_selector_and_template(spec, "statefulset", ("Always",))
    for i, claim in enumerate(spec.get("volumeClaimTemplates") or []):
        if not get_path(claim, "metadata", "name"):
            causes.append(required(f"spec.volumeClaimTemplates[{i}].metadata.name"))
    if old is not None:
        old_spec = old.get("spec") or {}
        strip = {k: v for k, v in spec.items() if k not in _STS_MUTABLE}
        old_strip = {k: v for k, v in old_spec.items() if k not in _STS_MUTABLE}
        if strip != old_strip:
            causes.append(forbidden("spec", "updates to statefulset spec for fields other than 'replicas', "
                                            "'ordinals', 'template', 'updateStrategy', "
                                            "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                                            "are forbidden"))
    return causes


def validate_daemon_set(obj: dict, old: dict | None) -> list[Cause]:
    spec, causes = _spec(obj)
    if spec is None:
        return causes
    causes += _validate_selector_and_template(spec, "daemonset", ("Always",))
    strategy = spec.get("updateStrategy") or {}
    causes += validate_enum(strategy.get("type"), "spec.updateStrategy.type", ("OnDelete", "RollingUpdate"),
                            allow_empty=True)
    rolling = strategy.get("rollingUpdate")
    if isinstance(rolling, dict):
        surge, unavailable = rolling.get("maxSurge"), rolling.get("maxUnavailable")
        causes += _int_or_percent(surge, "spec.updateStrategy.rollingUpdate.maxSurge")
        causes += _int_or_percent(unavailable, "spec.updateStrategy.rollingUpdate.maxUnavailable")
        if _is_zero(unavailable) and (surge is None or _is_zero(surge)):
            causes.append(invalid("spec.updateStrategy.rollingUpdate.maxUnavailable", unavailable,
                                  "cannot be 0 when maxSurge is 0"))
    if old is not None:
        causes += _selector_immutable(spec, old.get("spec") or {})
    return causes


def validate_job_spec(spec: dict, prefix: str, selector_required: bool = True) -> list[Cause]:
    causes: list[Cause] = []
    for key in ("parallelism", "completions", "backoffLimit"):
        causes += non_negative(spec.get(key), f"{prefix}.{key}")
    causes += positive(spec.get("activeDeadlineSeconds"), f"{prefix}.activeDeadlineSeconds")
    causes += non_negative(spec.get("ttlSecondsAfterFinished"), f"{prefix}.ttlSecondsAfterFinished")
    causes += validate_enum(spec.get("completionMode"), f"{prefix}.completionMode", ("NonIndexed", "Indexed"),
                            allow_empty=True)
    if spec.get("completionMode") == "Indexed" and spec.get("completions") is None:
        causes.append(required(f"{prefix}.completions", "when completion mode is Indexed"))
    causes += _validate_selector_and_template(spec, "job", ("OnFailure", "Never"), prefix, selector_required)
    return causes


def validate_job(obj: dict, old: dict | None) -> list[Cause]:
    spec, causes = _spec(obj)
    if spec is None:
        return causes
    causes += validate_job_spec(spec, "spec")
    if old is not None:
        old_spec = old.get("spec") or {}
        causes += _selector_immutable(spec, old_spec)
        if spec.get("completions") != old_spec.get("completions"):
            causes.append(immutable("spec.completions", spec.get("completions")))
        if spec.get("completionMode") != old_spec.get("completionMode"):
            causes.append(immutable("spec.completionMode", spec.get("completionMode")))
        if _template_without_labels(spec) != _template_without_labels(old_spec) and not old_spec.get("suspend"):
            causes.append(immutable("spec.template", spec.get("template")))
    return causes


def _template_without_labels(spec: dict) -> Any:
    template = dict(spec.get("template") or {})
    template.pop("metadata", None)
    return template


_CRON_FIELD = re.compile(r"^[0-9*/,\-A-Za-z?LW#]+$")
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def cron_schedule_errors(schedule: str) -> list[str]:
    """Standard five-field cron (plus the @ macros and optional TZ= prefix) as robfig/cron accepts."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        return ["cannot use TZ or CRON_TZ in schedule, use timeZone field instead"]
    if text in _CRON_MACROS or text.startswith("@every "):
        return []
    fields = text.split()
    if len(fields) != 5:
        return [f"expected exactly 5 fields, found {len(fields)}: {text}"]
    bad = [f for f in fields if not _CRON_FIELD.match(f)]
    if bad:
        return [f"failed to parse field {bad[0]!r}"]
    return []


def validate_cron_job(obj: dict, old: dict | None) -> list[Cause]:
    spec, causes = _spec(obj)
    if spec is None:
        return causes
    schedule = spec.get("schedule")
    if not schedule:
        causes.append(required("spec.schedule"))
    else:
        causes += [invalid("spec.schedule", schedule, m) for m in cron_schedule_errors(schedule)]
    causes += validate_enum(spec.get("concurrencyPolicy"), "spec.concurrencyPolicy", ("Allow", "Forbid", "Replace"),
                            allow_empty=True)
    causes += non_negative(spec.get("startingDeadlineSeconds"), "spec.startingDeadlineSeconds")
    causes += non_negative(spec.get("successfulJobsHistoryLimit"), "spec.successfulJobsHistoryLimit")
    causes += non_negative(spec.get("failedJobsHistoryLimit"), "spec.failedJobsHistoryLimit")
    job_spec = get_path(spec, "jobTemplate", "spec")
    if not isinstance(job_spec, dict):
        causes.append(required("spec.jobTemplate.spec"))
    else:
        causes += validate_job_spec(job_spec, "spec.jobTemplate.spec", selector_required=False)
    name = get_path(obj, "metadata", "name") or ""
    if len(name) > 52:
        causes.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    return causes


def validate_controller_revision(obj: dict, old: dict | None) -> list[Cause]:
    causes = non_negative(obj.get("revision"), "revision")
    if obj.get("revision") is None:
        causes.append(required("revision"))
    if old is not None and obj.get("data") != old.get("data"):
        causes.append(immutable("data", "<data>"))
    return causes


def validate_hpa_v1(obj: dict, old: dict | None) -> list[Cause]:
    """An autoscaling/v1 autoscaler: its own CPU target, then the rules every autoscaler follows."""
    spec = obj.get("spec")
    causes: list[Cause] = []
    target = spec.get("targetCPUUtilizationPercentage") if isinstance(spec, dict) else None
    if target is not None and (not isinstance(target, int) or target < 1):
        causes.append(invalid("spec.targetCPUUtilizationPercentage", target, "must be greater than or equal to 1"))
    return causes + validate_hpa(v1_to_v2(obj), None if old is None else v1_to_v2(old))


def validate_hpa(obj: dict, old: dict | None) -> list[Cause]:
    spec, causes = _spec(obj)
    if spec is None:
        return causes
    ref = spec.get("scaleTargetRef") or {}
    if not ref.get("kind"):
        causes.append(required("spec.scaleTargetRef.kind"))
    if not ref.get("name"):
        causes.append(required("spec.scaleTargetRef.name"))
    low = spec.get("minReplicas")
    high = spec.get("maxReplicas")
    if low is not None and (not isinstance(low, int) or low < 1):
        causes.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    if high is None:
        causes.append(required("spec.maxReplicas"))
    elif not isinstance(high, int) or high < 1:
        causes.append(invalid("spec.maxReplicas", high, "must be greater than 0"))
    elif isinstance(low, int) and high < low:
        causes.append(invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))
    for i, metric in enumerate(spec.get("metrics") or []):
        causes += validate_enum((metric or {}).get("type"), f"spec.metrics[{i}].type",
                                ("ContainerResource", "External", "Object", "Pods", "Resource"))
    return causes
