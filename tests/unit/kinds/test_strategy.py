"""Create/update preparation: server-owned status, generation and Job selectors."""

from apiserver.kinds import registry
from apiserver.kinds.strategy import (
    pod_qos_class,
    prepare_for_create,
    prepare_for_status_update,
    prepare_for_update,
)


def _rt(api_version, kind):
    return registry.by_kind(api_version, kind)


def _pod(resources=None):
    c = {"name": "c", "image": "x"}
    if resources is not None:
        c["resources"] = resources
    return {"metadata": {"name": "p"}, "spec": {"containers": [c]}}


def test_pod_qos_classes():
    assert pod_qos_class(_pod()) == "BestEffort"
    assert pod_qos_class(_pod({"requests": {"cpu": "100m"}})) == "Burstable"
    assert pod_qos_class(_pod({"limits": {"cpu": "1", "memory": "1Gi"},
                               "requests": {"cpu": "1000m", "memory": "1Gi"}})) == "Guaranteed"
    assert pod_qos_class(_pod({"limits": {"cpu": "1"}})) == "Burstable"


def test_new_pod_is_pending_with_qos_and_client_status_dropped():
    pod = _pod()
    pod["status"] = {"phase": "Running"}
    prepare_for_create(_rt("v1", "Pod"), pod)
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_new_deployment_starts_at_generation_one_with_empty_status():
    d = {"metadata": {"name": "d"}, "spec": {"replicas": 1}, "status": {"replicas": 5}}
    prepare_for_create(_rt("apps/v1", "Deployment"), d)
    assert d["metadata"]["generation"] == 1 and d["status"] == {}


def test_spec_change_bumps_generation_and_status_is_kept():
    rt = _rt("apps/v1", "Deployment")
    old = {"metadata": {"name": "d", "generation": 3}, "spec": {"replicas": 1}, "status": {"replicas": 1}}
    new = {"metadata": {"name": "d"}, "spec": {"replicas": 2}, "status": {"replicas": 99}}
    prepare_for_update(rt, new, old)
    assert new["metadata"]["generation"] == 4 and new["status"] == {"replicas": 1}
    same = {"metadata": {"name": "d", "labels": {"a": "b"}}, "spec": {"replicas": 1}}
    prepare_for_update(rt, same, old)
    assert same["metadata"]["generation"] == 3


def test_status_update_changes_only_status():
    rt = _rt("apps/v1", "Deployment")
    old = {"metadata": {"name": "d", "resourceVersion": "5"}, "spec": {"replicas": 1}, "status": {}}
    new = {"metadata": {"name": "d", "resourceVersion": "5"}, "spec": {"replicas": 7}, "status": {"replicas": 1}}
    result = prepare_for_status_update(rt, new, old)
    assert result["spec"] == {"replicas": 1} and result["status"] == {"replicas": 1}


def test_job_gets_selector_bound_to_uid():
    job = {"metadata": {"name": "j", "uid": "u-1"}, "spec": {"template": {"spec": {}}}}
    prepare_for_create(_rt("batch/v1", "Job"), job)
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/job-name"] == "j" and labels["controller-uid"] == "u-1"


def test_namespace_create_is_active():
    ns = {"metadata": {"name": "x"}}
    prepare_for_create(_rt("v1", "Namespace"), ns)
    assert ns["status"] == {"phase": "Active"} and ns["spec"]["finalizers"] == ["kubernetes"]


def test_service_update_keeps_allocated_cluster_ip_and_node_ports():
    rt = _rt("v1", "Service")
    old = {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"],
                                               "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}}
    new = {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"}]}}
    prepare_for_update(rt, new, old)
    assert new["spec"]["clusterIP"] == "10.96.0.5" and new["spec"]["clusterIPs"] == ["10.96.0.5"]
    assert new["spec"]["ports"][0]["nodePort"] == 30080


def test_status_of_kinds_without_status_subresource_is_updatable():
    rt = _rt("v1", "ConfigMap")
    new = {"metadata": {"name": "c"}, "data": {"a": "2"}}
    prepare_for_update(rt, new, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    assert new["data"] == {"a": "2"}
