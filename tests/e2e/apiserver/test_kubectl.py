"""The real kubectl (1.32) against a running `kyb apiserver`, as a person would use it."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time

import yaml

DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: applied
      labels: {app: applied}
    spec:
      replicas: {replicas}
      selector:
        matchLabels: {app: applied}
      template:
        metadata:
          labels: {app: applied}
        spec:
          containers:
          - name: main
            image: {image}
    """)


def manifest(replicas: int, image: str) -> str:
    return DEPLOYMENT.replace("{replicas}", str(replicas)).replace("{image}", image)


def test_get_namespaces_prints_a_table(apiserver) -> None:
    out = apiserver.kubectl("get", "namespaces").stdout
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "STATUS", "AGE"]
    assert {line.split()[0] for line in lines[1:]} >= {"default", "kube-system", "kube-public"}


def test_get_output_formats(apiserver) -> None:
    apiserver.kubectl("create", "configmap", "formats", "--from-literal=k=v")
    as_json = json.loads(apiserver.kubectl("get", "configmap", "formats", "-o", "json").stdout)
    assert as_json["data"] == {"k": "v"} and as_json["kind"] == "ConfigMap"
    as_yaml = yaml.safe_load(apiserver.kubectl("get", "configmap", "formats", "-o", "yaml").stdout)
    assert as_yaml["metadata"]["uid"] == as_json["metadata"]["uid"]
    wide = apiserver.kubectl("get", "services", "-o", "wide").stdout
    assert "SELECTOR" in wide.splitlines()[0] and "kubernetes" in wide


def test_get_with_label_selector_and_all_namespaces(apiserver) -> None:
    apiserver.kubectl("create", "namespace", "other")
    apiserver.kubectl("run", "labelled", "--image=busybox", "--labels=team=blue", "-n", "other")
    apiserver.kubectl("run", "unlabelled", "--image=busybox")
    out = apiserver.kubectl("get", "pods", "-A", "-l", "team=blue").stdout
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("other", "labelled")]
    names = apiserver.kubectl("get", "pods", "-A", "-o", "name").stdout.split()
    assert {"pod/labelled", "pod/unlabelled"} <= set(names)


def test_apply_creates_then_changes(apiserver, tmp_path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(manifest(1, "busybox:1"))
    assert "created" in apiserver.kubectl("apply", "-f", str(path)).stdout
    path.write_text(manifest(3, "busybox:2"))
    assert "configured" in apiserver.kubectl("apply", "-f", str(path)).stdout
    got = json.loads(apiserver.kubectl("get", "deployment", "applied", "-o", "json").stdout)
    assert got["spec"]["replicas"] == 3
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:2"
    assert got["metadata"]["generation"] == 2
    assert "unchanged" in apiserver.kubectl("apply", "-f", str(path)).stdout


def test_create_deployment_scale_set_image_and_label(apiserver) -> None:
    apiserver.kubectl("create", "deployment", "web", "--image=nginx:1", "--replicas=1")
    apiserver.kubectl("scale", "deployment", "web", "--replicas=4")
    apiserver.kubectl("set", "image", "deployment/web", "nginx=nginx:2")
    apiserver.kubectl("label", "deployment", "web", "tier=frontend")
    got = json.loads(apiserver.kubectl("get", "deployment", "web", "-o", "json").stdout)
    assert got["spec"]["replicas"] == 4
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert got["metadata"]["labels"]["tier"] == "frontend"
    out = apiserver.kubectl("get", "deploy", "-l", "tier=frontend").stdout
    assert out.splitlines()[0].split()[:2] == ["NAME", "READY"] and "web" in out


def test_describe_shows_the_object(apiserver) -> None:
    apiserver.kubectl("create", "deployment", "described", "--image=busybox")
    out = apiserver.kubectl("describe", "deployment", "described").stdout
    assert "Name:" in out and "described" in out and "busybox" in out
    apiserver.kubectl("run", "describe-pod", "--image=busybox")
    out = apiserver.kubectl("describe", "pod", "describe-pod").stdout
    assert "describe-pod" in out and "Pending" in out


def test_delete_removes_the_object(apiserver) -> None:
    apiserver.kubectl("create", "configmap", "doomed")
    assert 'configmap "doomed" deleted' in apiserver.kubectl("delete", "configmap", "doomed").stdout
    result = apiserver.kubectl("get", "configmap", "doomed", check=False)
    assert result.returncode != 0 and "NotFound" in result.stderr


def test_get_watch_prints_changes(apiserver) -> None:
    cmd = ["kubectl", "--kubeconfig", str(apiserver.kubeconfig), "--cache-dir", str(apiserver.cache_dir),
           "get", "configmaps", "--watch", "--request-timeout=8s", "-l", "watched=yes"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        apiserver.kubectl("create", "configmap", "watched-1")
        apiserver.kubectl("label", "configmap", "watched-1", "watched=yes")
        time.sleep(1.5)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "watched-1" in out


def test_api_resources_lists_the_served_types(apiserver) -> None:
    out = apiserver.kubectl("api-resources").stdout
    rows = {line.split()[0] for line in out.splitlines()[1:]}
    assert {"pods", "deployments", "services", "customresourcedefinitions", "leases"} <= rows
    assert "po" in out and "deploy" in out


def test_explain_pod(apiserver) -> None:
    out = apiserver.kubectl("explain", "pod.spec.containers").stdout
    assert "KIND:" in out and "Pod" in out and "image" in out
