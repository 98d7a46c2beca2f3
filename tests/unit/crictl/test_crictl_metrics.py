"""`kyb cri metricdescs` and `metricsp` against an in-process fake CRI server on a unix socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from fake_cri_server import run_cri, serving

from cri import api_pb2, api_pb2_grpc
from kyb.crictl import metrics as metrics_verbs

KEYS = ["container", "id", "image", "name", "namespace", "pod"]


class FakeRuntime(api_pb2_grpc.RuntimeServiceServicer):
    def __init__(self) -> None:
        self.calls = 0
        self.refuse = False

    def ListMetricDescriptors(self, request: Any, context: Any) -> Any:
        if self.refuse:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "method ListMetricDescriptors not implemented")
        return api_pb2.ListMetricDescriptorsResponse(descriptors=[
            api_pb2.MetricDescriptor(name="container_memory_rss", help="RSS.", label_keys=KEYS),
        ])

    def ListPodSandboxMetrics(self, request: Any, context: Any) -> Any:
        self.calls += 1
        metric = api_pb2.Metric(name="container_memory_rss", metric_type=api_pb2.GAUGE,
                                label_values=["app", "/kyb/p/c", "busybox", "c", "ns", "p"],
                                value=api_pb2.UInt64Value(value=4096 * self.calls))
        return api_pb2.ListPodSandboxMetricsResponse(pod_metrics=[api_pb2.PodSandboxMetrics(
            pod_sandbox_id="p", container_metrics=[api_pb2.ContainerMetrics(container_id="c", metrics=[metric])])])


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[FakeRuntime, str]]:
    runtime = FakeRuntime()
    with serving(runtime, tmp_path) as endpoint:
        yield runtime, endpoint




def test_metricdescs_prints_the_descriptors_as_json(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "metricdescs")
    assert code == 0
    assert json.loads(out) == {"descriptors": [{"name": "container_memory_rss", "help": "RSS.", "labelKeys": KEYS}]}


def test_metricsp_prints_pod_and_container_metrics_with_camel_case_fields(
    fake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "metricsp")
    (pod,) = json.loads(out)["podMetrics"]
    metric = pod["containerMetrics"][0]["metrics"][0]
    assert code == 0 and pod["podSandboxId"] == "p"
    # protobuf JSON writes 64-bit integers as strings, as crictl's protojson does.
    assert metric["value"] == {"value": "4096"}
    assert (metric["metricType"], metric["timestamp"]) == ("GAUGE", "0")


def test_metricsp_yaml_is_the_same_document(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, endpoint = fake
    as_json = json.loads(run_cri(capsys, endpoint, "metricsp")[1])
    code, out, _ = run_cri(capsys, endpoint, "metricsp", "-o", "yaml")
    as_json["podMetrics"][0]["containerMetrics"][0]["metrics"][0]["value"]["value"] = "8192"  # second call
    assert code == 0 and yaml.safe_load(out) == as_json


def test_metricsp_watch_prints_again_until_interrupted(
    fake: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, endpoint = fake
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(metrics_verbs.time, "sleep", sleep)
    code, out, _ = run_cri(capsys, endpoint, "metricsp", "-w")
    assert code == 0 and runtime.calls == 2 and sleeps == [0.5, 0.5]
    assert out.count('"podMetrics"') == 2


def test_a_runtime_without_metrics_is_a_one_line_error(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    runtime, endpoint = fake
    runtime.refuse = True
    code, out, err = run_cri(capsys, endpoint, "metricdescs")
    assert (code, out) == (1, "")
    assert "ListMetricDescriptors: UNIMPLEMENTED" in err and len(err.strip().splitlines()) == 1


def test_table_output_is_refused_like_crictl(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, endpoint = fake
    assert run_cri(capsys, endpoint, "metricsp", "-o", "table")[0] == 2
