"""Validation reports each bad field with upstream's reason, field path and message."""

import copy

import pytest

from apiserver.kinds import registry
from apiserver.kinds.defaults import apply_defaults
from apiserver.kinds.registry import ResourceType
from apiserver.kinds.validation import invalid_message, validate


def _rt(api_version, kind):
    return registry.by_kind(api_version, kind)


def _defaulted(api_version, kind, obj):
    apply_defaults(_rt(api_version, kind), obj)
    return obj


def pod(name="web", containers=None, **spec):
    return _defaulted("v1", "Pod", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": containers if containers is not None else [{"name": "c", "image": "nginx"}],
                 **spec}})


def deployment(selector=None, labels=None, **spec):
    return _defaulted("apps/v1", "Deployment", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
        "spec": {"selector": selector if selector is not None else {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": labels if labels is not None else {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}, **spec}})


def service(**spec):
    return _defaulted("v1", "Service", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}})


def causes(api_version, kind, obj, old=None):
    return [(c.reason, c.field) for c in validate(_rt(api_version, kind), obj, old)]


def test_valid_objects_have_no_causes():
    assert validate(_rt("v1", "Pod"), pod()) == []
    assert validate(_rt("apps/v1", "Deployment"), deployment()) == []
    assert validate(_rt("v1", "Service"), service()) == []


def test_invalid_name_message_matches_upstream():
    [cause] = validate(_rt("v1", "Pod"), pod(name="Foo_"))
    assert (cause.reason, cause.field) == ("FieldValueInvalid", "metadata.name")
    assert cause.message.startswith('Invalid value: "Foo_": a lowercase RFC 1123 subdomain must consist of')


def test_missing_name_and_generate_name():
    obj = pod()
    del obj["metadata"]["name"]
    [cause] = validate(_rt("v1", "Pod"), obj)
    assert (cause.field, cause.message) == ("metadata.name", "Required value: name or generateName is required")
    obj["metadata"]["generateName"] = "web-"
    assert validate(_rt("v1", "Pod"), obj) == []


def test_namespace_required_for_namespaced_and_forbidden_for_cluster_scoped():
    obj = pod()
    del obj["metadata"]["namespace"]
    assert causes("v1", "Pod", obj) == [("FieldValueRequired", "metadata.namespace")]
    node = {"metadata": {"name": "n1", "namespace": "default"}}
    assert causes("v1", "Node", node) == [("FieldValueForbidden", "metadata.namespace")]


def test_namespace_and_service_names_are_labels():
    assert causes("v1", "Namespace", {"metadata": {"name": "a.b"}}) == [("FieldValueInvalid", "metadata.name")]
    svc = service()
    svc["metadata"]["name"] = "1web"
    assert causes("v1", "Service", svc) == [("FieldValueInvalid", "metadata.name")]


def test_bad_label_key_and_value():
    obj = pod()
    obj["metadata"]["labels"] = {"bad key": "ok", "good": "-bad"}
    assert causes("v1", "Pod", obj) == [("FieldValueInvalid", "metadata.labels")] * 2


def test_annotation_size_limit():
    obj = pod()
    obj["metadata"]["annotations"] = {"a": "x" * (256 * 1024)}
    assert causes("v1", "Pod", obj) == [("FieldValueTooLong", "metadata.annotations")]


def test_pod_without_containers():
    assert causes("v1", "Pod", pod(containers=[])) == [("FieldValueRequired", "spec.containers")]


def test_container_required_fields_and_duplicates():
    obj = pod(containers=[{"name": "c", "image": "x"}, {"name": "c", "image": "y"}, {"image": "z"},
                          {"name": "d"}])
    assert causes("v1", "Pod", obj) == [
        ("FieldValueDuplicate", "spec.containers[1].name"),
        ("FieldValueRequired", "spec.containers[2].name"),
        ("FieldValueRequired", "spec.containers[3].image"),
    ]


def test_port_ranges_and_protocol():
    obj = pod(containers=[{"name": "c", "image": "x", "ports": [
        {"containerPort": 70000}, {"containerPort": 80, "protocol": "HTTP"}]}])
    found = validate(_rt("v1", "Pod"), obj)
    assert [(c.reason, c.field) for c in found] == [
        ("FieldValueInvalid", "spec.containers[0].ports[0].containerPort"),
        ("FieldValueNotSupported", "spec.containers[0].ports[1].protocol"),
    ]
    assert found[0].message == "Invalid value: 70000: must be between 1 and 65535, inclusive"
    assert found[1].message == 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'


def test_restart_policy_values():
    found = validate(_rt("v1", "Pod"), pod(restartPolicy="Sometimes"))
    assert [(c.reason, c.field) for c in found] == [("FieldValueNotSupported", "spec.restartPolicy")]
    assert found[0].message == ('Unsupported value: "Sometimes": supported values: "Always", "OnFailure", '
                                '"Never"')


def test_requests_must_not_exceed_limits():
    obj = pod(containers=[{"name": "c", "image": "x", "resources": {
        "requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}])
    [cause] = validate(_rt("v1", "Pod"), obj)
    assert cause.field == "spec.containers[0].resources.requests"
    assert cause.message == 'Invalid value: "2": must be less than or equal to cpu limit of 1'


def test_bad_quantity():
    obj = pod(containers=[{"name": "c", "image": "x", "resources": {"limits": {"memory": "lots"}}}])
    assert ("FieldValueInvalid", "spec.containers[0].resources.limits[memory]") in causes("v1", "Pod", obj)


def test_volume_mount_must_name_a_volume():
    obj = pod(containers=[{"name": "c", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}])
    found = validate(_rt("v1", "Pod"), obj)
    assert [(c.reason, c.field, c.message) for c in found] == [
        ("FieldValueNotFound", "spec.containers[0].volumeMounts[0].name", 'Not found: "data"')]


def test_volume_needs_exactly_one_source():
    obj = pod(volumes=[{"name": "v"}, {"name": "w", "emptyDir": {}, "hostPath": {"path": "/x"}}])
    assert causes("v1", "Pod", obj) == [("FieldValueRequired", "spec.volumes[0]"),
                                        ("FieldValueForbidden", "spec.volumes[1].emptyDir")]


def test_env_var_names():
    obj = pod(containers=[{"name": "c", "image": "x", "env": [{"name": "1BAD", "value": "x"}, {"value": "y"}]}])
    assert causes("v1", "Pod", obj) == [("FieldValueInvalid", "spec.containers[0].env[0].name"),
                                        ("FieldValueRequired", "spec.containers[0].env[1].name")]


def test_pod_update_allows_image_change_only():
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:2"
    assert validate(_rt("v1", "Pod"), new, old) == []
    new["spec"]["restartPolicy"] = "Never"
    found = validate(_rt("v1", "Pod"), new, old)
    assert [(c.reason, c.field) for c in found] == [("FieldValueForbidden", "spec")]
    assert "pod updates may not change fields other than" in found[0].message


def test_pod_update_allows_labels_and_added_tolerations():
    old = pod()
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"x": "y"}
    new["spec"]["tolerations"] = [{"key": "k", "operator": "Exists"}]
    assert validate(_rt("v1", "Pod"), new, old) == []


def test_name_is_immutable():
    old = pod()
    new = copy.deepcopy(old)
    new["metadata"]["name"] = "other"
    found = validate(_rt("v1", "Pod"), new, old)
    assert [(c.field, c.message) for c in found] == [("metadata.name", 'Invalid value: "other": field is immutable')]


def test_deployment_selector_must_match_template():
    found = validate(_rt("apps/v1", "Deployment"), deployment(labels={"app": "db"}))
    assert [(c.reason, c.field) for c in found] == [("FieldValueInvalid", "spec.template.metadata.labels")]
    assert found[0].message == ('Invalid value: map[string]string{"app":"db"}: `selector` does not match '
                                'template `labels`')


def test_deployment_requires_selector_and_nonnegative_replicas():
    d = deployment(replicas=-1)
    del d["spec"]["selector"]
    assert causes("apps/v1", "Deployment", d) == [("FieldValueInvalid", "spec.replicas"),
                                                  ("FieldValueRequired", "spec.selector")]


def test_deployment_empty_selector_invalid():
    assert causes("apps/v1", "Deployment", deployment(selector={})) == [("FieldValueInvalid", "spec.selector")]


def test_deployment_template_must_restart_always():
    d = deployment()
    d["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert causes("apps/v1", "Deployment", d) == [("FieldValueNotSupported", "spec.template.spec.restartPolicy")]


def test_deployment_rolling_update_both_zero():
    d = deployment()
    d["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": 0, "maxUnavailable": 0}
    assert causes("apps/v1", "Deployment", d) == [
        ("FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable")]


def test_deployment_selector_is_immutable_but_replicas_are_not():
    old = deployment()
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    assert validate(_rt("apps/v1", "Deployment"), new, old) == []
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "x": "y"}}
    new["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    assert causes("apps/v1", "Deployment", new, old) == [("FieldValueInvalid", "spec.selector")]


def test_job_rejects_restart_always():
    job = _defaulted("batch/v1", "Job", {
        "metadata": {"name": "j", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}},
                              "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    found = validate(_rt("batch/v1", "Job"), job)
    assert [c.message for c in found] == ['Unsupported value: "Always": supported values: "OnFailure", "Never"']


def test_cronjob_schedule():
    cj = _defaulted("batch/v1", "CronJob", {
        "metadata": {"name": "c", "namespace": "default"},
        "spec": {"schedule": "not a schedule", "jobTemplate": {"spec": {"template": {
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}}})
    assert causes("batch/v1", "CronJob", cj) == [("FieldValueInvalid", "spec.schedule")]
    cj["spec"]["schedule"] = "*/5 * * * *"
    assert causes("batch/v1", "CronJob", cj) == []


def test_service_ports():
    svc = service(ports=[{"port": 0}, {"port": 80, "name": "http"}])
    assert causes("v1", "Service", svc) == [("FieldValueRequired", "spec.ports[0].name"),
                                            ("FieldValueInvalid", "spec.ports[0].port"),
                                            ("FieldValueInvalid", "spec.ports[0].targetPort")]


def test_service_needs_ports_unless_headless():
    assert causes("v1", "Service", service(ports=[])) == [("FieldValueRequired", "spec.ports")]
    assert causes("v1", "Service", service(ports=[], clusterIP="None")) == []


def test_service_node_port_forbidden_for_cluster_ip():
    svc = service(ports=[{"port": 80, "nodePort": 30080}])
    assert causes("v1", "Service", svc) == [("FieldValueForbidden", "spec.ports[0].nodePort")]


def test_service_type_and_cluster_ip_immutability():
    assert causes("v1", "Service", service(type="Weird")) == [("FieldValueNotSupported", "spec.type")]
    old = service(clusterIP="10.96.0.10")
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    assert causes("v1", "Service", new, old) == [("FieldValueInvalid", "spec.clusterIPs[0]")]


def test_configmap_keys_and_immutability():
    rt = _rt("v1", "ConfigMap")
    cm = {"metadata": {"name": "c", "namespace": "default"}, "data": {"bad/key": "x"}}
    assert [(c.reason, c.field) for c in validate(rt, cm)] == [("FieldValueInvalid", "data[bad/key]")]
    old = {"metadata": {"name": "c", "namespace": "default"}, "data": {"a": "1"}, "immutable": True}
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    found = validate(rt, new, old)
    assert [(c.reason, c.field, c.message) for c in found] == [
        ("FieldValueForbidden", "data", "Forbidden: field is immutable when `immutable` is set")]


def test_secret_base64_and_type():
    rt = _rt("v1", "Secret")
    s = {"metadata": {"name": "s", "namespace": "default"}, "type": "Opaque", "data": {"k": "not base64!"}}
    assert [(c.reason, c.field) for c in validate(rt, s)] == [("FieldValueInvalid", "data[k]")]
    tls = {"metadata": {"name": "s", "namespace": "default"}, "type": "kubernetes.io/tls", "data": {}}
    assert [c.field for c in validate(rt, tls)] == ["data[tls.crt]", "data[tls.key]"]


def test_rbac_binding_role_ref():
    rt = _rt("rbac.authorization.k8s.io/v1", "RoleBinding")
    rb = {"metadata": {"name": "rb", "namespace": "default"},
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Thing", "name": "r"}}
    assert [(c.reason, c.field) for c in validate(rt, rb)] == [("FieldValueNotSupported", "roleRef.kind")]


def test_crd_name_must_be_plural_dot_group():
    rt = _rt("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    crd = {"metadata": {"name": "wrong.example.com"}, "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    assert [c.field for c in validate(rt, crd)] == ["metadata.name"]
    crd["metadata"]["name"] = "widgets.example.com"
    assert validate(rt, crd) == []


def test_custom_resource_checked_against_schema():
    rt = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, custom=True)
    schema = {"type": "object", "properties": {"spec": {"type": "object", "required": ["size"], "properties": {
        "size": {"type": "integer", "minimum": 1}, "color": {"type": "string", "enum": ["red", "blue"]}}}}}
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"},
           "spec": {"color": "green"}}
    assert sorted((c.reason, c.field) for c in validate(rt, obj, schema=schema)) == [
        ("FieldValueNotSupported", "spec.color"), ("FieldValueRequired", "spec.size")]
    obj["spec"] = {"size": "big"}
    assert [c.reason for c in validate(rt, obj, schema=schema)] == ["FieldValueTypeInvalid"]


@pytest.mark.parametrize("count,expected", [
    (1, 'Pod "web" is invalid: spec.containers: Required value'),
    (2, 'Pod "web" is invalid: [spec.containers: Required value, spec.restartPolicy: Unsupported value: '
        '"x": supported values: "Always", "OnFailure", "Never"]'),
])
def test_invalid_message_format(count, expected):
    obj = pod(containers=[]) if count == 1 else pod(containers=[], restartPolicy="x")
    assert invalid_message("", "Pod", "web", validate(_rt("v1", "Pod"), obj)) == expected


def test_invalid_message_qualifies_group_kinds():
    assert invalid_message("apps", "Deployment", "d", validate(_rt("apps/v1", "Deployment"),
                                                               deployment(replicas=-1))).startswith(
        'Deployment.apps "d" is invalid: spec.replicas')


def test_wrong_kind_in_body():
    obj = pod()
    obj["kind"] = "Service"
    assert causes("v1", "Pod", obj) == [("FieldValueInvalid", "kind")]


def test_template_errors_carry_the_full_field_path():
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["image"] = ""
    d["spec"]["template"]["spec"]["containers"].append({"name": "c", "image": "x"})
    assert causes("apps/v1", "Deployment", d) == [
        ("FieldValueRequired", "spec.template.spec.containers[0].image"),
        ("FieldValueDuplicate", "spec.template.spec.containers[1].name"),
    ]


def test_generate_name_prefix_is_checked_without_trailing_dash():
    obj = pod()
    del obj["metadata"]["name"]
    obj["metadata"]["generateName"] = "Web-"
    assert causes("v1", "Pod", obj) == [("FieldValueInvalid", "metadata.generateName")]


def test_status_update_checks_identity_and_pod_phase():
    from apiserver.kinds.validation import validate_status_update
    old = pod()
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Exploded"}
    assert [(c.reason, c.field) for c in validate_status_update(_rt("v1", "Pod"), new, old)] == [
        ("FieldValueNotSupported", "status.phase")]
    new["status"]["phase"] = "Running"
    assert validate_status_update(_rt("v1", "Pod"), new, old) == []


def test_node_affinity_expressions():
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["a"]},
                              {"key": "cores", "operator": "Gt", "values": ["many"]},
                              {"key": "gpu", "operator": "Exists", "values": ["x"]},
                              {"key": "disk", "operator": "In"}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "preference": {}}]}}
    prefix = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
    assert causes("v1", "Pod", pod(affinity=affinity)) == [
        ("FieldValueInvalid", f"{prefix}.matchExpressions[0].operator"),
        ("FieldValueInvalid", f"{prefix}.matchExpressions[1].values[0]"),
        ("FieldValueForbidden", f"{prefix}.matchExpressions[2].values"),
        ("FieldValueRequired", f"{prefix}.matchExpressions[3].values"),
        ("FieldValueInvalid", "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"),
    ]


def test_pod_anti_affinity_needs_topology_key():
    affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}}]}}
    assert causes("v1", "Pod", pod(affinity=affinity)) == [
        ("FieldValueRequired", "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
                               ".topologyKey")]
    affinity["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] = \
        "kubernetes.io/hostname"
    assert causes("v1", "Pod", pod(affinity=affinity)) == []


def test_empty_required_node_selector_terms():
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}
    assert causes("v1", "Pod", pod(affinity=affinity)) == [
        ("FieldValueRequired",
         "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms")]
