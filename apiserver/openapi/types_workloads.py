"""apps/v1, batch/v1 and autoscaling/v2 kinds."""

from __future__ import annotations

from apiserver.openapi.model import (
    APPS,
    BATCH,
    CORE,
    META,
    Prop,
    arr,
    b,
    define,
    free,
    i32,
    i64,
    obj,
    resource,
    s,
)

_SELECTOR = "Label query over pods the controller owns; must match the template's labels. Immutable."
_TEMPLATE = "The pod to create for each replica."


def _conditions(kind: str) -> Prop:
    """A ``<Kind>Condition`` definition and the status.conditions property that lists them."""
    name = APPS + kind + "Condition"
    define(name, f"A condition of a {kind} (such as Available, Progressing or ReplicaFailure).", {
        "type": s("Condition type."), "status": s("True, False or Unknown."),
        **({"lastUpdateTime": obj("time", "Last time the condition was updated.")} if kind == "Deployment" else {}),
        "lastTransitionTime": obj("time", "When the status last changed."),
        "reason": s("CamelCase reason."), "message": s("Human-readable details."),
    }, required=("type", "status"))
    return arr(name, f"Latest observations of the {kind}'s state.", merge_key="type", strategy="merge",
               list_type="map", list_map_keys=("type",))


# Deployment --------------------------------------------------------------------------------------
define(APPS + "DeploymentSpec", "The desired state of a deployment.", {
    "replicas": i32("Number of desired pods. Defaults to 1."),
    "selector": obj(META + "LabelSelector", _SELECTOR),
    "template": obj(CORE + "PodTemplateSpec", "The pod template; changing it starts a rollout."),
    "strategy": obj(APPS + "DeploymentStrategy", "How old pods are replaced by new ones.",
                    strategy="retainKeys"),
    "minReadySeconds": i32("Seconds a new pod must be ready, without crashing, to count as available."),
    "revisionHistoryLimit": i32("Old ReplicaSets to keep for rollback. Defaults to 10."),
    "paused": b("Pause the rollout; template changes are not rolled out while paused."),
    "progressDeadlineSeconds": i32("Seconds after which a stalled rollout is reported as failed "
                                   "(Progressing=False). Defaults to 600."),
}, required=("selector", "template"))
define(APPS + "DeploymentStrategy", "How a deployment replaces pods.", {
    "type": s("RollingUpdate (default) or Recreate (kill all old pods first).", enum=("Recreate", "RollingUpdate")),
    "rollingUpdate": obj(APPS + "RollingUpdateDeployment", "Parameters when type is RollingUpdate."),
})
define(APPS + "RollingUpdateDeployment", "Bounds of a rolling update.", {
    "maxUnavailable": obj("int-or-string", "Pods that may be unavailable during the update, a number or a "
                                           "percentage of replicas (rounded down). Defaults to 25%."),
    "maxSurge": obj("int-or-string", "Pods that may be created above replicas, a number or a percentage "
                                     "(rounded up). Defaults to 25%."),
})
define(APPS + "DeploymentStatus", "The observed state of a deployment.", {
    "observedGeneration": i64("The generation the controller last acted on."),
    "replicas": i32("Pods targeted by the deployment (their labels match)."),
    "updatedReplicas": i32("Pods running the current template."),
    "readyReplicas": i32("Pods that are ready."),
    "availableReplicas": i32("Pods ready for at least minReadySeconds."),
    "unavailableReplicas": i32("Pods still needed for full availability."),
    "terminatingReplicas": i32("Pods being terminated."),
    "conditions": _conditions("Deployment"),
    "collisionCount": i32("Hash collision counter used to name ReplicaSets."),
})
resource(APPS + "Deployment", "apps", "v1", "Deployment",
         "Declarative updates for pods: a deployment manages ReplicaSets to run a number of identical pods and "
         "rolls out template changes gradually.",
         spec=APPS + "DeploymentSpec", spec_desc="The desired behaviour of the deployment.",
         status=APPS + "DeploymentStatus", status_desc="The most recently observed status of the deployment.")

# ReplicaSet --------------------------------------------------------------------------------------
define(APPS + "ReplicaSetSpec", "The desired state of a replica set.", {
    "replicas": i32("Number of desired pods. Defaults to 1."),
    "minReadySeconds": i32("Seconds a new pod must be ready to count as available."),
    "selector": obj(META + "LabelSelector", _SELECTOR),
    "template": obj(CORE + "PodTemplateSpec", _TEMPLATE),
}, required=("selector",))
define(APPS + "ReplicaSetStatus", "The observed state of a replica set.", {
    "replicas": i32("Most recently observed number of pods."),
    "fullyLabeledReplicas": i32("Pods whose labels match the template's."),
    "readyReplicas": i32("Ready pods."),
    "availableReplicas": i32("Pods ready for at least minReadySeconds."),
    "terminatingReplicas": i32("Pods being terminated."),
    "observedGeneration": i64("The generation the controller last acted on."),
    "conditions": _conditions("ReplicaSet"),
}, required=("replicas",))
resource(APPS + "ReplicaSet", "apps", "v1", "ReplicaSet",
         "Keeps a number of identical pods running; usually managed by a Deployment.",
         spec=APPS + "ReplicaSetSpec", spec_desc="The desired behaviour of the replica set.",
         status=APPS + "ReplicaSetStatus", status_desc="The most recently observed status of the replica set.")

# StatefulSet -------------------------------------------------------------------------------------
define(APPS + "StatefulSetSpec", "The desired state of a stateful set.", {
    "replicas": i32("Number of desired pods. Defaults to 1."),
    "selector": obj(META + "LabelSelector", _SELECTOR),
    "template": obj(CORE + "PodTemplateSpec", "The pod to create; pods are named <set>-<ordinal>."),
    "volumeClaimTemplates": arr(CORE + "PersistentVolumeClaim", "Claims created for each pod and kept across "
                                                                "its restarts.", list_type="atomic"),
    "serviceName": s("The headless service that gives the pods stable DNS names."),
    "podManagementPolicy": s("OrderedReady (default): one pod at a time in order; Parallel: all at once.",
                             enum=("OrderedReady", "Parallel")),
    "updateStrategy": free("RollingUpdate (default, with an optional partition) or OnDelete."),
    "revisionHistoryLimit": i32("Revisions to keep. Defaults to 10."),
    "minReadySeconds": i32("Seconds a new pod must be ready to count as available."),
    "persistentVolumeClaimRetentionPolicy": free("Whether claims are deleted when the set is deleted or "
                                                 "scaled down."),
    "ordinals": free("The starting ordinal of pod names."),
}, required=("selector", "template"))
define(APPS + "StatefulSetStatus", "The observed state of a stateful set.", {
    "observedGeneration": i64("The generation the controller last acted on."),
    "replicas": i32("Pods created."),
    "readyReplicas": i32("Ready pods."),
    "currentReplicas": i32("Pods at currentRevision."),
    "updatedReplicas": i32("Pods at updateRevision."),
    "availableReplicas": i32("Pods ready for at least minReadySeconds."),
    "currentRevision": s("Revision that generated pods 0..currentReplicas-1."),
    "updateRevision": s("Revision being rolled out."),
    "collisionCount": i32("Hash collision counter."),
    "conditions": _conditions("StatefulSet"),
}, required=("replicas",))
resource(APPS + "StatefulSet", "apps", "v1", "StatefulSet",
         "Runs pods with stable identities (ordered names, stable DNS, own storage).",
         spec=APPS + "StatefulSetSpec", spec_desc="The desired behaviour of the stateful set.",
         status=APPS + "StatefulSetStatus", status_desc="The most recently observed status.")

# DaemonSet ---------------------------------------------------------------------------------------
define(APPS + "DaemonSetSpec", "The desired state of a daemon set.", {
    "selector": obj(META + "LabelSelector", _SELECTOR),
    "template": obj(CORE + "PodTemplateSpec", "The pod to run on every eligible node."),
    "updateStrategy": free("RollingUpdate (default, with maxUnavailable/maxSurge) or OnDelete."),
    "minReadySeconds": i32("Seconds a new pod must be ready to count as available."),
    "revisionHistoryLimit": i32("Revisions to keep. Defaults to 10."),
}, required=("selector", "template"))
define(APPS + "DaemonSetStatus", "The observed state of a daemon set.", {
    "currentNumberScheduled": i32("Nodes running a daemon pod that should."),
    "numberMisscheduled": i32("Nodes running a daemon pod that should not."),
    "desiredNumberScheduled": i32("Nodes that should run a daemon pod."),
    "numberReady": i32("Nodes with a ready daemon pod."),
    "observedGeneration": i64("The generation the controller last acted on."),
    "updatedNumberScheduled": i32("Nodes running the current template."),
    "numberAvailable": i32("Nodes with an available daemon pod."),
    "numberUnavailable": i32("Nodes without an available daemon pod."),
    "collisionCount": i32("Hash collision counter."),
    "conditions": _conditions("DaemonSet"),
}, required=("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady"))
resource(APPS + "DaemonSet", "apps", "v1", "DaemonSet", "Runs one copy of a pod on each eligible node.",
         spec=APPS + "DaemonSetSpec", spec_desc="The desired behaviour of the daemon set.",
         status=APPS + "DaemonSetStatus", status_desc="The most recently observed status.")

define(APPS + "ControllerRevision", "An immutable snapshot of a workload's template, used for rollback.", {
    "apiVersion": s("The versioned schema of this object."), "kind": s("Always \"ControllerRevision\"."),
    "metadata": obj(META + "ObjectMeta", "Standard object metadata."),
    "data": free("The serialized state."),
    "revision": i64("The revision number."),
}, required=("revision",), gvk=("apps", "v1", "ControllerRevision"))

# Job and CronJob ---------------------------------------------------------------------------------
define(BATCH + "JobSpec", "The desired state of a job.", {
    "parallelism": i32("Maximum pods running at once. Defaults to 1."),
    "completions": i32("Successful pods needed; defaults to 1 when neither it nor parallelism is set."),
    "activeDeadlineSeconds": i64("Seconds the job may run before it is terminated."),
    "backoffLimit": i32("Retries before the job is marked failed. Defaults to 6."),
    "selector": obj(META + "LabelSelector", "Pods the job counts; generated from the job's uid unless "
                                            "manualSelector is true."),
    "manualSelector": b("Use the given selector instead of a generated one."),
    "template": obj(CORE + "PodTemplateSpec", "The pod to run; restartPolicy must be Never or OnFailure."),
    "ttlSecondsAfterFinished": i32("Delete the job this many seconds after it finishes."),
    "completionMode": s("NonIndexed (default) or Indexed (each pod gets a completion index).",
                        enum=("Indexed", "NonIndexed")),
    "suspend": b("While true, no pods are created and running ones are terminated."),
    "podFailurePolicy": free("Rules that fail the job or ignore failures based on exit codes or conditions."),
    "podReplacementPolicy": s("When replacement pods are created: TerminatingOrFailed or Failed."),
    "backoffLimitPerIndex": i32("Retries per index for Indexed jobs."),
    "maxFailedIndexes": i32("Failed indexes tolerated before the job fails."),
    "successPolicy": free("Rules that declare the job succeeded before all pods complete."),
    "managedBy": s("The controller that manages the job; empty for the built-in job controller."),
}, required=("template",))
define(BATCH + "JobStatus", "The observed state of a job.", {
    "conditions": arr(BATCH + "JobCondition", "Complete, Failed, Suspended, ...", merge_key="type",
                      strategy="merge", list_type="atomic"),
    "startTime": obj("time", "When the job controller started the job."),
    "completionTime": obj("time", "When the job completed."),
    "active": i32("Pods running."), "succeeded": i32("Pods that succeeded."), "failed": i32("Pods that failed."),
    "terminating": i32("Pods terminating."), "ready": i32("Ready pods."),
    "completedIndexes": s("Completed indexes of an Indexed job, as ranges."),
    "uncountedTerminatedPods": free("Finished pods not yet counted."),
    "failedIndexes": s("Failed indexes of an Indexed job with backoffLimitPerIndex, as ranges."),
})
define(BATCH + "JobCondition", "A condition of a job.", {
    "type": s("Complete, Failed, Suspended, FailureTarget or SuccessCriteriaMet."),
    "status": s("True, False or Unknown."),
    "lastProbeTime": obj("time", "Last time the condition was checked."),
    "lastTransitionTime": obj("time", "When the status last changed."),
    "reason": s("CamelCase reason."), "message": s("Human-readable details."),
}, required=("type", "status"))
resource(BATCH + "Job", "batch", "v1", "Job", "Runs pods until a number of them complete successfully.",
         spec=BATCH + "JobSpec", spec_desc="The desired behaviour of the job.",
         status=BATCH + "JobStatus", status_desc="The most recently observed status of the job.")

define(BATCH + "JobTemplateSpec", "The job a cron job creates.", {
    "metadata": obj(META + "ObjectMeta", "Metadata of created jobs."),
    "spec": obj(BATCH + "JobSpec", "Spec of created jobs."),
})
define(BATCH + "CronJobSpec", "The schedule and job of a cron job.", {
    "schedule": s("The schedule in cron format, such as \"*/5 * * * *\"."),
    "timeZone": s("Time zone name for the schedule; defaults to the controller's."),
    "startingDeadlineSeconds": i64("Seconds after a missed start time during which the job may still start."),
    "concurrencyPolicy": s("Allow (default), Forbid (skip while one runs) or Replace.",
                           enum=("Allow", "Forbid", "Replace")),
    "suspend": b("While true, no new jobs are started."),
    "jobTemplate": obj(BATCH + "JobTemplateSpec", "The job to create at each scheduled time."),
    "successfulJobsHistoryLimit": i32("Finished successful jobs to keep. Defaults to 3."),
    "failedJobsHistoryLimit": i32("Failed jobs to keep. Defaults to 1."),
}, required=("schedule", "jobTemplate"))
define(BATCH + "CronJobStatus", "The observed state of a cron job.", {
    "active": arr(CORE + "ObjectReference", "Jobs currently running.", list_type="atomic"),
    "lastScheduleTime": obj("time", "When a job was last scheduled."),
    "lastSuccessfulTime": obj("time", "When a job last completed successfully."),
})
resource(BATCH + "CronJob", "batch", "v1", "CronJob", "Creates jobs on a repeating schedule.",
         spec=BATCH + "CronJobSpec", spec_desc="The schedule and job template.",
         status=BATCH + "CronJobStatus", status_desc="The most recently observed status.")

AS2 = "io.k8s.api.autoscaling.v2."
define(AS2 + "CrossVersionObjectReference", "The workload an autoscaler scales.", {
    "apiVersion": s("API version of the target, such as apps/v1."), "kind": s("Kind of the target."),
    "name": s("Name of the target."),
}, required=("kind", "name"))
define(AS2 + "MetricSpec", "One metric to scale on; type picks which of the other fields is set.", {
    "type": s("Resource, ContainerResource, Pods, Object or External.",
              enum=("ContainerResource", "External", "Object", "Pods", "Resource")),
    "resource": free("A resource of the pods (cpu or memory) with a target utilization or average value."),
    "containerResource": free("A resource of one container of the pods."),
    "pods": free("A custom metric averaged over the pods."),
    "object": free("A metric of another object."),
    "external": free("A metric from outside the cluster."),
}, required=("type",))
define(AS2 + "HorizontalPodAutoscalerSpec", "The target and bounds of an autoscaler.", {
    "scaleTargetRef": obj(AS2 + "CrossVersionObjectReference", "The workload to scale (through its scale "
                                                               "subresource)."),
    "minReplicas": i32("Lower bound of replicas. Defaults to 1."),
    "maxReplicas": i32("Upper bound of replicas."),
    "metrics": arr(AS2 + "MetricSpec", "Metrics whose targets decide the replica count; defaults to 80% "
                                       "average CPU utilization.", list_type="atomic"),
    "behavior": free("Scale-up and scale-down policies and stabilization windows."),
}, required=("scaleTargetRef", "maxReplicas"))
define(AS2 + "HorizontalPodAutoscalerStatus", "The observed state of an autoscaler.", {
    "observedGeneration": i64("The generation this status reflects."),
    "lastScaleTime": obj("time", "When the replica count was last changed."),
    "currentReplicas": i32("Current number of replicas."),
    "desiredReplicas": i32("Number of replicas the autoscaler wants."),
    "currentMetrics": arr("object", "Last observed values of the metrics.", list_type="atomic"),
    "conditions": arr("object", "AbleToScale, ScalingActive, ScalingLimited.", merge_key="type",
                      strategy="merge", list_type="map", list_map_keys=("type",)),
})
resource(AS2 + "HorizontalPodAutoscaler", "autoscaling", "v2", "HorizontalPodAutoscaler",
         "Scales a workload's replicas to keep metrics near their targets.",
         spec=AS2 + "HorizontalPodAutoscalerSpec", spec_desc="The target and its bounds.",
         status=AS2 + "HorizontalPodAutoscalerStatus", status_desc="The observed state of the autoscaler.")

AS1 = "io.k8s.api.autoscaling.v1."
define(AS1 + "CrossVersionObjectReference", "The workload an autoscaler scales.", {
    "apiVersion": s("API version of the target, such as apps/v1."), "kind": s("Kind of the target."),
    "name": s("Name of the target."),
}, required=("kind", "name"))
define(AS1 + "HorizontalPodAutoscalerSpec", "The target, bounds and CPU goal of an autoscaler.", {
    "scaleTargetRef": obj(AS1 + "CrossVersionObjectReference", "The workload to scale (through its scale "
                                                               "subresource)."),
    "minReplicas": i32("Lower bound of replicas. Defaults to 1."),
    "maxReplicas": i32("Upper bound of replicas."),
    "targetCPUUtilizationPercentage": i32("Target average CPU utilization of the pods, in percent of their "
                                          "request; defaults to 80."),
}, required=("scaleTargetRef", "maxReplicas"))
define(AS1 + "HorizontalPodAutoscalerStatus", "The observed state of an autoscaler.", {
    "observedGeneration": i64("The generation this status reflects."),
    "lastScaleTime": obj("time", "When the replica count was last changed."),
    "currentReplicas": i32("Current number of replicas."),
    "desiredReplicas": i32("Number of replicas the autoscaler wants."),
    "currentCPUUtilizationPercentage": i32("Current average CPU utilization of the pods, in percent."),
}, required=("currentReplicas", "desiredReplicas"))
resource(AS1 + "HorizontalPodAutoscaler", "autoscaling", "v1", "HorizontalPodAutoscaler",
         "Scales a workload's replicas to keep its pods' CPU utilization near a target.",
         spec=AS1 + "HorizontalPodAutoscalerSpec", spec_desc="The target and its bounds.",
         status=AS1 + "HorizontalPodAutoscalerStatus", status_desc="The observed state of the autoscaler.")
