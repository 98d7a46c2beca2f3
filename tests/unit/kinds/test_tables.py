"""Server-side table printing matches kubectl's columns and cell formats."""

from datetime import UTC, datetime, timedelta

import pytest

from apiserver.kinds import registry
from apiserver.kinds.age import human_duration, since
from apiserver.kinds.registry import ResourceType
from apiserver.kinds.tables import table, table_columns, table_row

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)


def ts(**delta):
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rt(api_version, kind):
    return registry.by_kind(api_version, kind)


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"), (182, "3m2s"), (600, "10m"), (179 * 60, "179m"),
    (3 * 3600, "3h"), (4 * 3600 + 5 * 60, "4h5m"), (30 * 3600, "30h"), (53 * 3600, "2d5h"), (3 * 86400, "3d"),
    (30 * 86400, "30d"), (800 * 86400, "2y70d"), (3000 * 86400, "8y"), (-1, "0s"), (-5, "<invalid>"),
])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_age_unknown_without_timestamp():
    assert since(None, NOW) == "<unknown>"
    assert since("garbage", NOW) == "<unknown>"


def running_pod():
    return {
        "metadata": {"name": "web-1", "creationTimestamp": ts(minutes=5)},
        "spec": {"nodeName": "node-a", "containers": [{"name": "a"}, {"name": "b"}]},
        "status": {"phase": "Running", "podIP": "10.244.0.5", "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [
                       {"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}},
                       {"name": "b", "ready": True, "restartCount": 2, "state": {"running": {}},
                        "lastState": {"terminated": {"finishedAt": ts(minutes=3)}}}]},
    }


def test_pod_columns_and_wide_columns():
    cols = table_columns(rt("v1", "Pod"))
    assert [c["name"] for c in cols if c["priority"] == 0] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert [c["name"] for c in cols if c["priority"] == 1] == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    assert cols[0]["format"] == "name"


def test_running_pod_row():
    assert table_row(rt("v1", "Pod"), running_pod(), NOW) == [
        "web-1", "2/2", "Running", "2 (3m ago)", "5m", "10.244.0.5", "node-a", "<none>", "<none>"]


def test_pending_pod_waiting_reason():
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
           "status": {"phase": "Pending", "containerStatuses": [
               {"name": "a", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull"}}}]}}
    row = table_row(rt("v1", "Pod"), pod, NOW)
    assert row[1:4] == ["0/1", "ErrImagePull", "0"]
    assert row[4] == "<unknown>"


def test_init_container_progress_and_termination():
    pod = {"metadata": {"name": "p"}, "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}],
                                               "containers": [{"name": "a"}]},
           "status": {"phase": "Pending", "initContainerStatuses": [
               {"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
               {"name": "i2", "restartCount": 0, "state": {"running": {}}}]}}
    assert table_row(rt("v1", "Pod"), pod, NOW)[2] == "Init:1/2"
    pod["status"]["initContainerStatuses"][1]["state"] = {"terminated": {"exitCode": 3}}
    assert table_row(rt("v1", "Pod"), pod, NOW)[2] == "Init:ExitCode:3"


def test_terminating_and_completed_pods():
    pod = running_pod()
    pod["metadata"]["deletionTimestamp"] = ts(seconds=1)
    assert table_row(rt("v1", "Pod"), pod, NOW)[2] == "Terminating"
    done = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [
                {"name": "a", "ready": False, "restartCount": 0,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}
    assert table_row(rt("v1", "Pod"), done, NOW)[1:3] == ["0/1", "Completed"]


def test_deployment_row():
    d = {"metadata": {"name": "web", "creationTimestamp": ts(hours=2)},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert table_row(rt("apps/v1", "Deployment"), d, NOW) == [
        "web", "2/3", 3, 2, "120m", "nginx", "nginx:1.25", "app=web"]
    assert [c["name"] for c in table_columns(rt("apps/v1", "Deployment"))] == [
        "Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]


def test_service_rows():
    svc = {"metadata": {"name": "web", "creationTimestamp": ts(days=3)},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "selector": {"app": "web"},
                    "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 53, "protocol": "UDP"}]}}
    assert table_row(rt("v1", "Service"), svc, NOW) == [
        "web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP,53/UDP", "3d", "app=web"]
    lb = {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.11", "ports": []}}
    assert table_row(rt("v1", "Service"), lb, NOW)[3:5] == ["<pending>", "<none>"]
    ext = {"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "example.com"}}
    assert table_row(rt("v1", "Service"), ext, NOW)[2:4] == ["<none>", "example.com"]


def test_node_row():
    node = {"metadata": {"name": "n1", "creationTimestamp": ts(days=1),
                         "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "192.168.1.5"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12",
                                    "kernelVersion": "6.1.0", "containerRuntimeVersion": "kyb://0.1.0"}}}
    assert table_row(rt("v1", "Node"), node, NOW) == [
        "n1", "Ready,SchedulingDisabled", "control-plane", "24h", "v1.32.0", "192.168.1.5", "<none>",
        "Debian GNU/Linux 12", "6.1.0", "kyb://0.1.0"]


def test_job_and_cronjob_rows():
    job = {"metadata": {"name": "j", "creationTimestamp": ts(minutes=1)}, "spec": {"completions": 3},
           "status": {"succeeded": 1, "startTime": ts(seconds=50)}}
    assert table_row(rt("batch/v1", "Job"), job, NOW)[:5] == ["j", "Running", "1/3", "50s", "60s"]
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert table_row(rt("batch/v1", "Job"), job, NOW)[1] == "Complete"
    cj = {"metadata": {"name": "c"}, "spec": {"schedule": "*/1 * * * *"}, "status": {"active": [{}]}}
    assert table_row(rt("batch/v1", "CronJob"), cj, NOW)[:6] == ["c", "*/1 * * * *", "<none>", False, 1, "<none>"]


def test_configmap_secret_namespace_rows():
    assert table_row(rt("v1", "ConfigMap"), {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}, NOW)[:2] == \
        ["c", 2]
    assert table_row(rt("v1", "Secret"), {"metadata": {"name": "s"}, "type": "kubernetes.io/tls",
                                          "data": {"tls.crt": "", "tls.key": ""}}, NOW)[:3] == \
        ["s", "kubernetes.io/tls", 2]
    assert table_row(rt("v1", "Namespace"), {"metadata": {"name": "default"}, "status": {"phase": "Active"}},
                     NOW)[:2] == ["default", "Active"]


def test_event_row():
    ev = {"metadata": {"name": "p.1"}, "type": "Normal", "reason": "Scheduled", "message": "Assigned",
          "involvedObject": {"kind": "Pod", "name": "web"}, "lastTimestamp": ts(seconds=30),
          "firstTimestamp": ts(seconds=30), "count": 1, "source": {"component": "default-scheduler"}}
    assert table_row(rt("v1", "Event"), ev, NOW) == [
        "30s", "Normal", "Scheduled", "pod/web", "", "default-scheduler", "Assigned", "30s", 1, "p.1"]


def test_endpoints_row_truncates():
    ep = {"metadata": {"name": "e"}, "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(5)],
                                                  "ports": [{"port": 80}]}]}
    assert table_row(rt("v1", "Endpoints"), ep, NOW)[1] == "10.0.0.0:80,10.0.0.1:80,10.0.0.2:80 + 2 more..."


def test_custom_resource_printer_columns():
    widget = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, custom=True)
    columns = [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
               {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
               {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    obj = {"metadata": {"name": "w", "creationTimestamp": ts(minutes=4)}, "spec": {"size": 3},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert [c["name"] for c in table_columns(widget, columns)] == ["Name", "Size", "Ready", "Age"]
    assert table_row(widget, obj, NOW, columns) == ["w", 3, "True", "4m"]
    assert table_row(widget, {"metadata": {"name": "x"}}, NOW, columns) == ["x", None, None, None]


def test_custom_resource_without_columns_is_name_age():
    widget = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, custom=True)
    assert [c["name"] for c in table_columns(widget)] == ["Name", "Age"]
    assert table_row(widget, {"metadata": {"name": "w", "creationTimestamp": ts(seconds=9)}}, NOW) == ["w", "9s"]


def test_every_type_has_one_cell_per_column():
    for t in registry.all_types():
        assert len(table_row(t, {"metadata": {"name": "x"}}, NOW)) == len(table_columns(t)), t.kind


def test_whole_table_shape():
    out = table(rt("v1", "Pod"), [running_pod()], NOW, {"resourceVersion": "7"})
    assert out["kind"] == "Table" and out["apiVersion"] == "meta.k8s.io/v1"
    assert out["metadata"] == {"resourceVersion": "7"}
    assert out["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert out["rows"][0]["object"]["metadata"]["name"] == "web-1"


def test_scheduling_gated_pod():
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
           "status": {"phase": "Pending", "conditions": [
               {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}}
    assert table_row(rt("v1", "Pod"), pod, NOW)[2] == "SchedulingGated"
