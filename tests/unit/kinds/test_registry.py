"""The resource type table: names, scope, short names and categories as upstream publishes them."""

import pytest

from apiserver.kinds import registry
from apiserver.kinds.registry import RegistryError, ResourceType


def test_pods_are_core_namespaced_with_short_name_and_all_category():
    pods = registry.lookup("", "v1", "pods")
    assert pods is not None
    assert (pods.kind, pods.api_version, pods.list_kind) == ("Pod", "v1", "PodList")
    assert pods.namespaced and pods.short_names == ("po",) and pods.categories == ("all",)
    assert {"status", "binding", "eviction", "log", "exec"} <= set(pods.subresources)


def test_deployment_lookup_by_kind():
    d = registry.by_kind("apps/v1", "Deployment")
    assert d is not None and d.plural == "deployments" and d.short_names == ("deploy",)
    assert d.api_version == "apps/v1" and "scale" in d.subresources


@pytest.mark.parametrize("plural,group,short", [
    ("services", "", ("svc",)), ("namespaces", "", ("ns",)), ("nodes", "", ("no",)),
    ("endpoints", "", ("ep",)), ("serviceaccounts", "", ("sa",)), ("configmaps", "", ("cm",)),
    ("persistentvolumes", "", ("pv",)), ("persistentvolumeclaims", "", ("pvc",)),
    ("resourcequotas", "", ("quota",)), ("limitranges", "", ("limits",)), ("events", "", ("ev",)),
    ("replicasets", "apps", ("rs",)), ("statefulsets", "apps", ("sts",)), ("daemonsets", "apps", ("ds",)),
    ("cronjobs", "batch", ("cj",)), ("ingresses", "networking.k8s.io", ("ing",)),
    ("networkpolicies", "networking.k8s.io", ("netpol",)), ("storageclasses", "storage.k8s.io", ("sc",)),
    ("customresourcedefinitions", "apiextensions.k8s.io", ("crd", "crds")),
])
def test_short_names_match_upstream(plural, group, short):
    version = "v2" if group == "autoscaling" else "v1"
    assert registry.lookup(group, version, plural).short_names == short


def test_all_category_members():
    members = {t.resource for t in registry.all_types() if "all" in t.categories}
    assert members == {"pods", "services", "deployments.apps", "replicasets.apps", "statefulsets.apps",
                       "daemonsets.apps", "jobs.batch", "cronjobs.batch",
                       "horizontalpodautoscalers.autoscaling"}


def test_cluster_scoped_types():
    scoped = {t.plural for t in registry.all_types() if not t.namespaced}
    assert scoped == {"namespaces", "nodes", "persistentvolumes", "ingressclasses", "storageclasses",
                      "clusterroles", "clusterrolebindings", "customresourcedefinitions"}


def test_namespaces_cannot_be_deleted_as_collection():
    assert "deletecollection" not in registry.lookup("", "v1", "namespaces").verbs
    assert "deletecollection" in registry.lookup("", "v1", "pods").verbs


def test_every_issue_kind_is_served():
    kinds = {(t.api_version, t.kind) for t in registry.all_types()}
    for kind in ["Namespace", "Node", "Pod", "Service", "Endpoints", "ConfigMap", "Secret", "ServiceAccount",
                 "Event", "PersistentVolume", "PersistentVolumeClaim", "ResourceQuota", "LimitRange"]:
        assert ("v1", kind) in kinds
    for av, kind in [("apps/v1", "ControllerRevision"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
                     ("discovery.k8s.io/v1", "EndpointSlice"), ("coordination.k8s.io/v1", "Lease"),
                     ("networking.k8s.io/v1", "IngressClass"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
                     ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
                     ("events.k8s.io/v1", "Event")]:
        assert (av, kind) in kinds


def test_unknown_type_is_none():
    assert registry.lookup("", "v1", "widgets") is None
    assert registry.by_kind("v1", "Widget") is None


def test_custom_types_register_and_unregister():
    rt = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, short_names=("wd",))
    registry.register_custom(rt, {"type": "object"})
    try:
        found = registry.lookup("example.com", "v1", "widgets")
        assert found is not None and found.custom
        assert registry.by_kind("example.com/v1", "Widget") == found
        assert registry.custom_schema("example.com", "v1", "widgets") == {"type": "object"}
        assert ("example.com", "v1") in registry.group_versions()
        assert registry.resolve("wd") == [found]
    finally:
        registry.unregister_custom("example.com", "v1", "widgets")
    assert registry.lookup("example.com", "v1", "widgets") is None
    registry.unregister_custom("example.com", "v1", "widgets")  # idempotent


def test_custom_type_cannot_shadow_builtin():
    with pytest.raises(RegistryError):
        registry.register_custom(ResourceType("apps", "v1", "Deployment", "deployments", "deployment", True))


def test_group_versions_core_first():
    gvs = registry.group_versions()
    assert gvs[0] == ("", "v1") and ("apps", "v1") in gvs and ("autoscaling", "v2") in gvs


def test_resolve_kubectl_style_names():
    assert [t.kind for t in registry.resolve("deploy")] == ["Deployment"]
    assert [t.kind for t in registry.resolve("deployments.apps")] == ["Deployment"]
    assert {t.group for t in registry.resolve("ev")} == {"", "events.k8s.io"}
