"""critest "Runtime info" (runtime_info.go): Version and Status."""

from __future__ import annotations

import grpc
import pytest
from cri_validation_runtime import Cri, v1

pytestmark = pytest.mark.root


def test_runtime_returns_version_info(cri: Cri) -> None:
    version = cri.rt.Version(v1.VersionRequest(version="0.1.0"), timeout=10)
    assert version.version and version.runtime_name and version.runtime_version
    assert version.runtime_api_version == "v1"


def test_runtime_reports_runtime_and_network_ready(cri: Cri) -> None:
    conditions = cri.rt.Status(v1.StatusRequest(verbose=False), timeout=10).status.conditions
    ready = {c.type for c in conditions if c.status}
    assert {"RuntimeReady", "NetworkReady"} <= ready, conditions


def test_metrics_calls_answer_unimplemented_so_critest_skips_them(cri: Cri) -> None:
    """critest's metrics specs run when ListMetricDescriptors succeeds and are skipped only on
    UNIMPLEMENTED; any other error fails them."""
    for call, request in ((cri.rt.ListMetricDescriptors, v1.ListMetricDescriptorsRequest()),
                          (cri.rt.ListPodSandboxMetrics, v1.ListPodSandboxMetricsRequest())):
        try:
            call(request, timeout=10)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNIMPLEMENTED, e.details()

