"""Defaulting fills in what Kubernetes fills in, and never overwrites a client's choice."""

import copy

from apiserver.kinds import registry
from apiserver.kinds.defaults import apply_defaults, image_pull_policy_for


def _rt(api_version, kind):
    rt = registry.by_kind(api_version, kind)
    assert rt is not None
    return rt


def _pod(**spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}], **spec}}


def test_pod_spec_policies():
    pod = _pod()
    apply_defaults(_rt("v1", "Pod"), pod)
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["securityContext"] == {}
    assert spec["enableServiceLinks"] is True
    assert spec["priority"] == 0


def test_container_defaults():
    pod = _pod()
    pod["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
    apply_defaults(_rt("v1", "Pod"), pod)
    c = pod["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["ports"][0]["protocol"] == "TCP"


def test_pull_policy_depends_on_tag():
    assert image_pull_policy_for("nginx") == "Always"
    assert image_pull_policy_for("nginx:latest") == "Always"
    assert image_pull_policy_for("registry:5000/nginx") == "Always"
    assert image_pull_policy_for("registry:5000/nginx:1.2") == "IfNotPresent"
    assert image_pull_policy_for("nginx@sha256:abc") == "IfNotPresent"


def test_limits_become_requests_when_requests_missing():
    pod = _pod()
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}
    apply_defaults(_rt("v1", "Pod"), pod)
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}


def test_probe_and_volume_defaults():
    pod = _pod(volumes=[{"name": "s", "secret": {"secretName": "x"}}, {"name": "c", "configMap": {"name": "x"}}])
    pod["spec"]["containers"][0]["livenessProbe"] = {"httpGet": {"port": 80}}
    apply_defaults(_rt("v1", "Pod"), pod)
    probe = pod["spec"]["containers"][0]["livenessProbe"]
    assert (probe["timeoutSeconds"], probe["periodSeconds"], probe["successThreshold"],
            probe["failureThreshold"], probe["httpGet"]["scheme"]) == (1, 10, 1, 3, "HTTP")
    assert pod["spec"]["volumes"][0]["secret"]["defaultMode"] == 420
    assert pod["spec"]["volumes"][1]["configMap"]["defaultMode"] == 420


def test_defaults_never_overwrite_client_values():
    pod = _pod(restartPolicy="Never", dnsPolicy="Default")
    pod["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    apply_defaults(_rt("v1", "Pod"), pod)
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["dnsPolicy"] == "Default"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_defaulting_is_idempotent():
    pod = _pod()
    apply_defaults(_rt("v1", "Pod"), pod)
    once = copy.deepcopy(pod)
    apply_defaults(_rt("v1", "Pod"), pod)
    assert pod == once


def test_service_defaults():
    svc = {"spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    apply_defaults(_rt("v1", "Service"), svc)
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["ports"][0] == {"port": 80, "protocol": "TCP", "targetPort": 80}
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ipFamilyPolicy"] == "SingleStack" and spec["ipFamilies"] == ["IPv4"]
    assert "externalTrafficPolicy" not in spec


def test_node_port_service_gets_external_traffic_policy():
    svc = {"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": 8080}]}}
    apply_defaults(_rt("v1", "Service"), svc)
    assert svc["spec"]["externalTrafficPolicy"] == "Cluster"
    assert svc["spec"]["ports"][0]["targetPort"] == 8080


def test_deployment_defaults_include_template():
    d = {"spec": {"selector": {"matchLabels": {"a": "b"}},
                  "template": {"metadata": {"labels": {"a": "b"}},
                               "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    apply_defaults(_rt("apps/v1", "Deployment"), d)
    spec = d["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"


def test_recreate_deployment_gets_no_rolling_update():
    d = {"spec": {"strategy": {"type": "Recreate"}}}
    apply_defaults(_rt("apps/v1", "Deployment"), d)
    assert d["spec"]["strategy"] == {"type": "Recreate"}


def test_statefulset_daemonset_job_cronjob_defaults():
    sts = {"spec": {}}
    apply_defaults(_rt("apps/v1", "StatefulSet"), sts)
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    ds = {"spec": {}}
    apply_defaults(_rt("apps/v1", "DaemonSet"), ds)
    assert ds["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": 0}
    job = {"spec": {}}
    apply_defaults(_rt("batch/v1", "Job"), job)
    assert (job["spec"]["completions"], job["spec"]["parallelism"], job["spec"]["backoffLimit"]) == (1, 1, 6)
    assert job["spec"]["completionMode"] == "NonIndexed"
    cj = {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}
    apply_defaults(_rt("batch/v1", "CronJob"), cj)
    assert cj["spec"]["concurrencyPolicy"] == "Allow"
    assert (cj["spec"]["successfulJobsHistoryLimit"], cj["spec"]["failedJobsHistoryLimit"]) == (3, 1)
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "Always"


def test_namespace_secret_storage_defaults():
    ns = {"metadata": {"name": "x"}}
    apply_defaults(_rt("v1", "Namespace"), ns)
    assert ns["spec"]["finalizers"] == ["kubernetes"] and ns["status"]["phase"] == "Active"
    secret = {}
    apply_defaults(_rt("v1", "Secret"), secret)
    assert secret["type"] == "Opaque"
    sc = {"provisioner": "x"}
    apply_defaults(_rt("storage.k8s.io/v1", "StorageClass"), sc)
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")


def test_kinds_without_defaults_are_untouched():
    cm = {"data": {"a": "b"}}
    apply_defaults(_rt("v1", "ConfigMap"), cm)
    assert cm == {"data": {"a": "b"}}


def test_secret_string_data_merges_into_data():
    secret = {"data": {"a": "eA=="}, "stringData": {"password": "hunter2", "a": "y"}}
    apply_defaults(_rt("v1", "Secret"), secret)
    assert "stringData" not in secret
    assert secret["data"] == {"a": "eQ==", "password": "aHVudGVyMg=="}


def test_custom_resources_are_pruned_and_defaulted_from_their_schema():
    from apiserver.kinds.registry import ResourceType

    rt = ResourceType("example.com", "v1", "Gadget", "gadgets", "gadget", True, custom=True)
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "size": {"type": "integer", "default": 1},
            "ports": {"type": "array", "items": {"type": "object", "properties": {
                "protocol": {"type": "string", "default": "TCP"}, "port": {"type": "integer"}}}},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}
    registry.register_custom(rt, schema)
    try:
        obj = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"},
               "spec": {"ports": [{"port": 80}], "bogus": 1, "extra": {"anything": {"goes": True}}}, "junk": 2}
        apply_defaults(rt, obj)
        assert obj == {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"},
                       "spec": {"size": 1, "ports": [{"port": 80, "protocol": "TCP"}],
                                "extra": {"anything": {"goes": True}}}}
    finally:
        registry.unregister_custom("example.com", "v1", "gadgets")
