"""Discovery and health: what kubectl and client-go read before anything else."""

from __future__ import annotations


def test_version(api) -> None:
    v = api.request("GET", "/version").body
    assert v["gitVersion"].startswith("v1.32.") and v["major"] == "1" and v["minor"] == "32"
    assert "/" in v["platform"]


def test_health_endpoints(api) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        r = api.request("GET", path)
        assert r.status == 200 and r.body == "ok"


def test_legacy_discovery(api) -> None:
    assert api.request("GET", "/api").body["versions"] == ["v1"]
    groups = {g["name"]: g for g in api.request("GET", "/apis").body["groups"]}
    assert groups["apps"]["preferredVersion"]["groupVersion"] == "apps/v1"
    core = {r["name"]: r for r in api.request("GET", "/api/v1").body["resources"]}
    assert core["pods"]["shortNames"] == ["po"] and core["pods"]["categories"] == ["all"]
    assert core["pods"]["namespaced"] is True and "watch" in core["pods"]["verbs"]
    assert core["pods/binding"]["kind"] == "Binding" and core["pods/status"]["verbs"] == ["get", "patch", "update"]
    apps = {r["name"] for r in api.request("GET", "/apis/apps/v1").body["resources"]}
    assert {"deployments", "deployments/scale", "replicasets", "statefulsets", "daemonsets"} <= apps


def test_aggregated_discovery_when_asked_for(api) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    r = api.request("GET", "/apis", headers={"Accept": accept})
    assert r.headers["content-type"].startswith("application/json;g=apidiscovery.k8s.io;v=v2")
    assert r.body["kind"] == "APIGroupDiscoveryList"
    apps = next(g for g in r.body["items"] if g["metadata"]["name"] == "apps")
    deploy = next(res for res in apps["versions"][0]["resources"] if res["resource"] == "deployments")
    assert deploy["scope"] == "Namespaced" and deploy["responseKind"]["kind"] == "Deployment"
    assert {s["subresource"] for s in deploy["subresources"]} == {"scale", "status"}
    core = api.request("GET", "/api", headers={"Accept": accept}).body
    assert core["items"][0]["metadata"]["name"] == ""


def test_plain_discovery_is_json(api) -> None:
    r = api.request("GET", "/apis", headers={"Accept": "application/json"})
    assert r.headers["content-type"].startswith("application/json") and r.body["kind"] == "APIGroupList"


def test_the_kubernetes_service_points_at_this_server(api) -> None:
    svc = api.request("GET", "/api/v1/namespaces/default/services/kubernetes").body
    assert svc["spec"]["ports"][0]["targetPort"] == api.port
    ep = api.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes").body
    assert ep["subsets"][0]["addresses"] == [{"ip": "127.0.0.1"}]
    assert ep["subsets"][0]["ports"][0]["port"] == api.port
    eps = api.request("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes").body
    assert eps["endpoints"][0]["addresses"] == ["127.0.0.1"]
