"""The real kubectl (1.32) against `kyb apiserver`: server-side apply and its conflicts."""

from __future__ import annotations

import json
import textwrap

DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: {name}
    spec:
      replicas: {replicas}
      selector:
        matchLabels: {app: {name}}
      template:
        metadata:
          labels: {app: {name}}
        spec:
          containers:
          - name: main
            image: {image}
    """)


def manifest(name: str, replicas: int, image: str) -> str:
    return DEPLOYMENT.replace("{name}", name).replace("{replicas}", str(replicas)).replace("{image}", image)


def get(apiserver, *what: str) -> dict:
    return json.loads(apiserver.kubectl("get", *what, "-o", "json").stdout)


def test_server_side_apply_creates_then_changes(apiserver, tmp_path) -> None:
    path = tmp_path / "ssa.yaml"
    path.write_text(manifest("ssa", 1, "busybox:1"))
    assert "serverside-applied" in apiserver.kubectl("apply", "--server-side", "-f", str(path)).stdout
    path.write_text(manifest("ssa", 2, "busybox:2"))
    assert "serverside-applied" in apiserver.kubectl("apply", "--server-side", "-f", str(path)).stdout
    got = get(apiserver, "deployment", "ssa")
    assert got["spec"]["replicas"] == 2
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:2"
    got = get(apiserver, "deployment", "ssa", "--show-managed-fields")
    assert [(e["manager"], e["operation"]) for e in got["metadata"]["managedFields"]] == [("kubectl", "Apply")]


def test_server_side_apply_conflicts_with_kubectl_scale_until_forced(apiserver, tmp_path) -> None:
    path = tmp_path / "ssa-scaled.yaml"
    path.write_text(manifest("ssa-scaled", 1, "busybox:1"))
    apiserver.kubectl("apply", "--server-side", "-f", str(path))
    apiserver.kubectl("scale", "deployment", "ssa-scaled", "--replicas=4")
    path.write_text(manifest("ssa-scaled", 2, "busybox:1"))
    refused = apiserver.kubectl("apply", "--server-side", "-f", str(path), check=False)
    assert refused.returncode != 0
    # kubectl scale names no field manager: the server takes the program name from its User-Agent.
    assert 'conflict with "kubectl" with subresource "scale"' in refused.stderr
    assert ".spec.replicas" in refused.stderr
    assert get(apiserver, "deployment", "ssa-scaled")["spec"]["replicas"] == 4
    apiserver.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    assert get(apiserver, "deployment", "ssa-scaled")["spec"]["replicas"] == 2


CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: gadgets.example.com
    spec:
      group: example.com
      scope: Namespaced
      names: {plural: gadgets, singular: gadget, kind: Gadget}
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                properties:
                  size: {type: integer}
                  colour: {type: string}
    """)

GADGET = textwrap.dedent("""\
    apiVersion: example.com/v1
    kind: Gadget
    metadata:
      name: g1
    spec:
      size: {size}
      colour: red
    """)


def test_client_side_apply_of_a_custom_resource_creates_then_changes(apiserver, tmp_path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text(CRD)
    apiserver.kubectl("apply", "-f", str(crd))
    apiserver.kubectl("wait", "--for=condition=Established", "crd/gadgets.example.com", "--timeout=20s")
    path = tmp_path / "gadget.yaml"
    path.write_text(GADGET.replace("{size}", "1"))
    assert "created" in apiserver.kubectl("apply", "-f", str(path)).stdout
    path.write_text(GADGET.replace("{size}", "2"))
    # The second apply is a patch: kubectl must choose a JSON merge patch, as the server advertises.
    assert "configured" in apiserver.kubectl("apply", "-f", str(path)).stdout
    got = get(apiserver, "gadget", "g1")
    assert got["spec"] == {"size": 2, "colour": "red"}


def test_a_manifest_with_a_wrong_json_type_is_a_bad_request(apiserver, tmp_path) -> None:
    path = tmp_path / "typed.yaml"
    path.write_text(manifest("typed", 1, "busybox").replace("replicas: 1", 'replicas: "three"'))
    result = apiserver.kubectl("create", "--validate=false", "-f", str(path), check=False)
    assert result.returncode != 0
    assert "BadRequest" in result.stderr and "cannot unmarshal string" in result.stderr
    assert apiserver.kubectl("get", "deployment", "typed", check=False).returncode != 0


def test_autoscale_creates_an_autoscaler_that_get_hpa_shows(apiserver) -> None:
    apiserver.kubectl("create", "deployment", "scaled-web", "--image=busybox")
    out = apiserver.kubectl("autoscale", "deployment", "scaled-web", "--min=1", "--max=3", "--cpu-percent=50").stdout
    assert "autoscaled" in out
    table = apiserver.kubectl("get", "hpa").stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    row = next(line for line in table[1:] if line.startswith("scaled-web"))
    assert row.split()[1] == "Deployment/scaled-web" and "cpu: <unknown>/50%" in row
    assert row.split()[-4:-1] == ["1", "3", "0"]
    got = get(apiserver, "hpa", "scaled-web")
    assert got["apiVersion"] == "autoscaling/v2"
    assert got["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 50


def test_create_job_from_a_cronjob_copies_its_template(apiserver) -> None:
    apiserver.kubectl("create", "cronjob", "nightly", "--image=busybox", "--schedule=0 3 * * *", "--", "true")
    out = apiserver.kubectl("create", "job", "nightly-now", "--from=cronjob/nightly").stdout
    assert "job.batch/nightly-now created" in out
    job = get(apiserver, "job", "nightly-now")
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    pod_spec = job["spec"]["template"]["spec"]
    assert pod_spec["containers"][0]["image"] == "busybox" and pod_spec["containers"][0]["command"] == ["true"]
    assert pod_spec["securityContext"] == {}


CRONJOB = textwrap.dedent("""\
    apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: detailed
    spec:
      schedule: "*/5 * * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              securityContext: {runAsUser: 1000, fsGroup: 2000, seccompProfile: {type: RuntimeDefault}}
              containers:
              - name: main
                image: busybox
                securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
                env:
                - name: NODE
                  valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
                envFrom:
                - configMapRef: {name: settings}
                livenessProbe:
                  exec: {command: [cat, /tmp/healthy]}
                  periodSeconds: 7
                lifecycle:
                  preStop: {exec: {command: [sleep, "1"]}}
    """)


def test_create_job_from_a_detailed_cronjob_keeps_every_field(apiserver, tmp_path) -> None:
    path = tmp_path / "cronjob.yaml"
    path.write_text(CRONJOB)
    apiserver.kubectl("create", "-f", str(path))
    apiserver.kubectl("create", "job", "detailed-now", "--from=cronjob/detailed")
    cron = get(apiserver, "cronjob", "detailed")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    job = get(apiserver, "job", "detailed-now")["spec"]["template"]["spec"]
    for field in ("securityContext", "restartPolicy"):
        assert job[field] == cron[field]
    for field in ("securityContext", "env", "envFrom", "livenessProbe", "lifecycle"):
        assert job["containers"][0][field] == cron["containers"][0][field], field
