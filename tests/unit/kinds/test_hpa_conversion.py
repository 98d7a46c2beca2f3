"""HPA conversion between autoscaling/v1 and v2 loses nothing on a round trip."""

from apiserver.kinds.hpa_conversion import METRICS, v1_to_v2, v2_to_v1

V2 = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "web", "namespace": "default", "annotations": {"keep": "me"}},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
             "minReplicas": 1, "maxReplicas": 5,
             "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                 "type": "Utilization", "averageUtilization": 60}}},
                         {"type": "Resource", "resource": {"name": "memory", "target": {
                             "type": "AverageValue", "averageValue": "100Mi"}}}],
             "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}},
    "status": {"currentReplicas": 2, "desiredReplicas": 2,
               "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                   "averageUtilization": 40}}}],
               "conditions": [{"type": "AbleToScale", "status": "True"}]},
}


def test_v2_to_v1_keeps_cpu_target_in_v1_fields():
    v1 = v2_to_v1(V2)
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 60
    assert "metrics" not in v1["spec"] and "behavior" not in v1["spec"]
    assert v1["status"]["currentCPUUtilizationPercentage"] == 40
    assert METRICS in v1["metadata"]["annotations"]


def test_round_trip_is_lossless():
    assert v1_to_v2(v2_to_v1(V2)) == V2


def test_plain_v1_object_becomes_cpu_metric():
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
                   "targetCPUUtilizationPercentage": 50}}
    v2 = v1_to_v2(v1)
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    assert "annotations" not in v2["metadata"]
