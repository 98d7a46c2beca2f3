"""Per-kind table printers: the columns ``kubectl get`` shows, computed on the server.

Each printer is a list of column definitions plus a function from an object to its cells, the
way upstream's ``pkg/printers/internalversion`` defines them. Columns with priority 1 only appear
with ``-o wide``. Status summaries (a pod's STATUS, a node's STATUS, a job's COMPLETIONS, ...)
follow upstream's rules so the output reads like a real cluster's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apiserver.kinds.age import human_duration, parse_time, since
from apiserver.kinds.hpa_conversion import v1_to_v2
from client.labels import SelectorError, format_label_selector

Obj = dict[str, Any]
NONE = "<none>"


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "format": self.format, "description": self.description,
                "priority": self.priority}


NAME = Column("Name", format="name", description="Name must be unique within a namespace.")
AGE = Column("Age", description="CreationTimestamp is a timestamp representing the server time when this "
                                "object was created.")


@dataclass(frozen=True)
class Printer:
    columns: tuple[Column, ...]
    row: Callable[[Obj, datetime], list[Any]]


def meta_of(o: Obj) -> Obj:
    return o.get("metadata") or {}


def spec_of(o: Obj) -> Obj:
    return o.get("spec") or {}


def status_of(o: Obj) -> Obj:
    return o.get("status") or {}


def age_cell(o: Obj, now: datetime) -> str:
    return since(meta_of(o).get("creationTimestamp"), now)


def _containers_images(template_spec: Obj) -> list[str]:
    containers = template_spec.get("containers") or []
    names = ",".join(c.get("name", "") for c in containers if isinstance(c, dict))
    images = ",".join(c.get("image", "") for c in containers if isinstance(c, dict))
    return [names, images]


def _selector_text(selector: Any) -> str:
    try:
        return format_label_selector(selector)
    except SelectorError:
        return NONE


def _template_spec(o: Obj) -> Obj:
    return (spec_of(o).get("template") or {}).get("spec") or {}


# pods --------------------------------------------------------------------------------------------


def _container_state(cs: Obj) -> tuple[Obj, bool, Obj | None]:
    """(waiting, running, terminated); a state is present even when its details are empty."""
    state = cs.get("state") or {}
    terminated = state.get("terminated")
    if terminated is not None and not isinstance(terminated, dict):
        terminated = {}
    return state.get("waiting") or {}, "running" in state and state["running"] is not None, terminated


def pod_status_reason(pod: Obj) -> tuple[str, int, int, int, str | None]:
    """(STATUS, ready containers, total containers, restarts, last restart time) as kubectl shows them."""
    spec, status = spec_of(pod), status_of(pod)
    reason = status.get("reason") or status.get("phase") or ""
    if not status.get("reason") and any(c.get("type") == "PodScheduled" and c.get("status") == "False"
                                        and c.get("reason") == "SchedulingGated"
                                        for c in status.get("conditions") or []):
        reason = "SchedulingGated"
    restarts = 0
    last_restart: str | None = None
    init_specs = spec.get("initContainers") or []
    sidecars = {c.get("name") for c in init_specs if isinstance(c, dict) and c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = 0

    def note_restart(cs: Obj) -> None:
        nonlocal last_restart
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if cs.get("restartCount") and finished and (last_restart is None or finished > last_restart):
            last_restart = finished

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += cs.get("restartCount") or 0
        note_restart(cs)
        waiting, running, terminated = _container_state(cs)
        if terminated is not None and terminated.get("exitCode") == 0:
            continue
        if cs.get("name") in sidecars:
            if cs.get("started") and running:
                if cs.get("ready"):
                    ready += 1
                continue
        if terminated is not None:
            if terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            elif not terminated.get("reason"):
                reason = f"Init:ExitCode:{terminated.get('exitCode', 0)}"
            else:
                reason = "Init:" + terminated["reason"]
        elif waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts = sum((cs.get("restartCount") or 0) for cs in init_statuses if cs.get("name") in sidecars)
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount") or 0
            note_restart(cs)
            waiting, running, terminated = _container_state(cs)
            if waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                reason = (f"Signal:{terminated['signal']}" if terminated.get("signal")
                          else f"ExitCode:{terminated.get('exitCode', 0)}")
            elif cs.get("ready") and running:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"
    if meta_of(pod).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, total, restarts, last_restart


def _pod_row(pod: Obj, now: datetime) -> list[Any]:
    reason, ready, total, restarts, last_restart = pod_status_reason(pod)
    restarts_text = str(restarts)
    if last_restart:
        restarts_text = f"{restarts} ({since(last_restart, now)} ago)"
    spec, status = spec_of(pod), status_of(pod)
    gates = spec.get("readinessGates") or []
    if gates:
        wanted = {g.get("conditionType") for g in gates}
        true = sum(1 for c in status.get("conditions") or [] if c.get("type") in wanted and c.get("status") == "True")
        gates_text = f"{true}/{len(gates)}"
    else:
        gates_text = NONE
    return [meta_of(pod).get("name", ""), f"{ready}/{total}", reason, restarts_text, age_cell(pod, now),
            status.get("podIP") or NONE, spec.get("nodeName") or NONE, status.get("nominatedNodeName") or NONE,
            gates_text]


POD = Printer((NAME, Column("Ready", description="The aggregate readiness state of this pod for accepting "
                                                 "traffic."),
               Column("Status", description="The aggregate status of the containers in this pod."),
               Column("Restarts", description="The number of times the containers in this pod have been "
                                              "restarted and when the last container in this pod has "
                                              "restarted."),
               AGE,
               Column("IP", priority=1, description="IP address allocated to the pod. Routable at least within "
                                                    "the cluster. Empty if not yet allocated."),
               Column("Node", priority=1, description="NodeName is a request to schedule this pod onto a "
                                                      "specific node."),
               Column("Nominated Node", priority=1, description="nominatedNodeName is set only when this pod "
                                                                "preempts other pods on the node."),
               Column("Readiness Gates", priority=1, description="If specified, all readiness gates will be "
                                                                 "evaluated for pod readiness.")),
              _pod_row)


# workloads ---------------------------------------------------------------------------------------

_CONTAINERS = Column("Containers", priority=1, description="Names of each container in the template.")
_IMAGES = Column("Images", priority=1, description="Images referenced by each container in the template.")
_SELECTOR = Column("Selector", priority=1, description="Label selector for pods.")


def _deployment_row(o: Obj, now: datetime) -> list[Any]:
    spec, status = spec_of(o), status_of(o)
    desired = spec.get("replicas", 1) if spec.get("replicas") is not None else 1
    return [meta_of(o).get("name", ""), f"{status.get('readyReplicas', 0)}/{desired}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), age_cell(o, now),
            *_containers_images(_template_spec(o)), _selector_text(spec.get("selector"))]


DEPLOYMENT = Printer((NAME, Column("Ready", description="Number of the pod with ready state"),
                      Column("Up-to-date", description="Total number of non-terminated pods targeted by this "
                                                       "deployment that have the desired template spec."),
                      Column("Available", description="Total number of available pods (ready for at least "
                                                      "minReadySeconds) targeted by this deployment."),
                      AGE, _CONTAINERS, _IMAGES, _SELECTOR), _deployment_row)


def _replica_set_row(o: Obj, now: datetime) -> list[Any]:
    spec, status = spec_of(o), status_of(o)
    return [meta_of(o).get("name", ""), spec.get("replicas", 1), status.get("replicas", 0),
            status.get("readyReplicas", 0), age_cell(o, now), *_containers_images(_template_spec(o)),
            _selector_text(spec.get("selector"))]


REPLICA_SET = Printer((NAME, Column("Desired", "integer", "Number of desired pods."),
                       Column("Current", "integer", "Number of actually running pods."),
                       Column("Ready", "integer", "Number of ready pods."), AGE, _CONTAINERS, _IMAGES, _SELECTOR),
                      _replica_set_row)


def _stateful_set_row(o: Obj, now: datetime) -> list[Any]:
    spec, status = spec_of(o), status_of(o)
    desired = spec.get("replicas", 1) if spec.get("replicas") is not None else 1
    return [meta_of(o).get("name", ""), f"{status.get('readyReplicas', 0)}/{desired}", age_cell(o, now),
            *_containers_images(_template_spec(o))]


STATEFUL_SET = Printer((NAME, Column("Ready", description="Number of the pod with ready state"), AGE,
                        _CONTAINERS, _IMAGES), _stateful_set_row)


def _daemon_set_row(o: Obj, now: datetime) -> list[Any]:
    spec, status = spec_of(o), status_of(o)
    node_selector = _template_spec(o).get("nodeSelector") or {}
    return [meta_of(o).get("name", ""), status.get("desiredNumberScheduled", 0),
            status.get("currentNumberScheduled", 0), status.get("numberReady", 0),
            status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or NONE, age_cell(o, now),
            *_containers_images(_template_spec(o)), _selector_text(spec.get("selector"))]


DAEMON_SET = Printer((NAME, Column("Desired", "integer", "The total number of nodes that should be running the "
                                                         "daemon pod."),
                      Column("Current", "integer", "The number of nodes that are running at least 1 daemon pod."),
                      Column("Ready", "integer", "The number of nodes with a ready daemon pod."),
                      Column("Up-to-date", "integer", "The number of nodes running the updated daemon pod."),
                      Column("Available", "integer", "The number of nodes with an available daemon pod."),
                      Column("Node Selector", description="NodeSelector is a selector which must be true for "
                                                          "the pod to fit on a node."),
                      AGE, _CONTAINERS, _IMAGES, _SELECTOR), _daemon_set_row)


def job_status_text(o: Obj) -> str:
    true = {c.get("type") for c in status_of(o).get("conditions") or [] if c.get("status") == "True"}
    if meta_of(o).get("deletionTimestamp"):
        return "Terminating"
    for kind in ("Failed", "Complete", "Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if kind in true:
            return kind
    return "Running"


def _job_row(o: Obj, now: datetime) -> list[Any]:
    spec, status = spec_of(o), status_of(o)
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    if start is None:
        duration = ""
    else:
        duration = human_duration(((end or now) - start).total_seconds())
    return [meta_of(o).get("name", ""), job_status_text(o), completions, duration, age_cell(o, now),
            *_containers_images(_template_spec(o)), _selector_text(spec.get("selector"))]


JOB = Printer((NAME, Column("Status", description="Status of the job."),
               Column("Completions", description="The completion status of the job."),
               Column("Duration", description="Time required to complete the job."), AGE,
               _CONTAINERS, _IMAGES, _SELECTOR), _job_row)


def _cron_job_row(o: Obj, now: datetime) -> list[Any]:
    spec, status = spec_of(o), status_of(o)
    last = status.get("lastScheduleTime")
    job_template_spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    template_spec = (job_template_spec.get("template") or {}).get("spec") or {}
    return [meta_of(o).get("name", ""), spec.get("schedule", ""), spec.get("timeZone") or NONE,
            bool(spec.get("suspend")), len(status.get("active") or []), since(last, now) if last else NONE,
            age_cell(o, now), *_containers_images(template_spec), _selector_text(job_template_spec.get("selector"))]


CRON_JOB = Printer((NAME, Column("Schedule", description="The schedule in Cron format."),
                    Column("Timezone", description="The time zone name for the given schedule."),
                    Column("Suspend", "boolean", "This flag tells the controller to suspend subsequent "
                                                 "executions."),
                    Column("Active", "integer", "A list of pointers to currently running jobs."),
                    Column("Last Schedule", description="Information when was the last time the job was "
                                                        "successfully scheduled."),
                    AGE, _CONTAINERS, _IMAGES, _SELECTOR), _cron_job_row)


def _hpa_row(o: Obj, now: datetime) -> list[Any]:
    spec, status = spec_of(o), status_of(o)
    ref = spec.get("scaleTargetRef") or {}
    targets = []
    current = {(m.get("type"), (m.get("resource") or {}).get("name")): m for m in status.get("currentMetrics") or []}
    for m in spec.get("metrics") or []:
        if m.get("type") == "Resource":
            res = m.get("resource") or {}
            target = res.get("target") or {}
            cur = ((current.get(("Resource", res.get("name"))) or {}).get("resource") or {}).get("current") or {}
            if target.get("averageUtilization") is not None:
                have = cur.get("averageUtilization")
                targets.append(f"{res.get('name')}: {'<unknown>' if have is None else str(have) + '%'}/"
                               f"{target['averageUtilization']}%")
            else:
                have = cur.get("averageValue")
                targets.append(f"{res.get('name')}: {have or '<unknown>'}/{target.get('averageValue', '')}")
        else:
            targets.append("<unknown>")
    return [meta_of(o).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            ", ".join(targets) or NONE, spec.get("minReplicas", 1), spec.get("maxReplicas", 0),
            status.get("currentReplicas", 0), age_cell(o, now)]


HPA = Printer((NAME, Column("Reference", description="Reference to the scale target."),
               Column("Targets", description="Current and target metric values."),
               Column("MinPods", "integer", "Lower limit for the number of pods."),
               Column("MaxPods", "integer", "Upper limit for the number of pods."),
               Column("Replicas", "integer", "Current number of replicas."), AGE), _hpa_row)
HPA_V1 = Printer(HPA.columns, lambda o, now: _hpa_row(v1_to_v2(o), now))


def _controller_revision_row(o: Obj, now: datetime) -> list[Any]:
    owners = [r for r in meta_of(o).get("ownerReferences") or [] if r.get("controller")]
    controller = NONE
    if owners:
        group = owners[0].get("apiVersion", "").split("/")[0] if "/" in owners[0].get("apiVersion", "") else ""
        kind = owners[0].get("kind", "").lower() + (f".{group}" if group else "")
        controller = f"{kind}/{owners[0].get('name', '')}"
    return [meta_of(o).get("name", ""), controller, o.get("revision", 0), age_cell(o, now)]


CONTROLLER_REVISION = Printer((NAME, Column("Controller", description="Controller of the object."),
                               Column("Revision", "integer", "Revision of the ControllerRevision."), AGE),
                              _controller_revision_row)
