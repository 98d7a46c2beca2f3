"""RuntimeClient: endpoint parsing and calls against a real gRPC server on a unix socket."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from cri import api_pb2, api_pb2_grpc
from cri.client import CRIError, Endpoint, RuntimeClient, Unavailable, Unimplemented, parse_endpoint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("unix:///run/kyb/cri.sock", Endpoint("unix", "/run/kyb/cri.sock")),
        ("unix:/run/kyb/cri.sock", Endpoint("unix", "/run/kyb/cri.sock")),
        ("/run/containerd/containerd.sock", Endpoint("unix", "/run/containerd/containerd.sock")),
        ("tcp://127.0.0.1:10010", Endpoint("tcp", "127.0.0.1:10010")),
        ("tcp://localhost:1234/", Endpoint("tcp", "localhost:1234")),
    ],
)
def test_accepted_endpoint_forms_normalise(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text) == expected


def test_unix_endpoint_targets_the_absolute_socket_path() -> None:
    assert parse_endpoint("unix:/a/b.sock").target == "unix:///a/b.sock"


def test_tcp_endpoint_targets_host_and_port() -> None:
    assert parse_endpoint("tcp://node1:10010").target == "node1:10010"


@pytest.mark.parametrize(
    "text",
    [
        "http://127.0.0.1:10010",
        "npipe:////./pipe/containerd",
        "relative/path.sock",
        "unix://relative/path.sock",
        "unix://",
        "tcp://127.0.0.1",
        "tcp://:10010",
        "tcp://host:notaport",
        "tcp://host:70000",
        "",
    ],
)
def test_bad_endpoint_raises_value_error_naming_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="tcp://host:port"):
        parse_endpoint(text)


def test_client_rejects_bad_scheme_before_connecting() -> None:
    with pytest.raises(ValueError, match="bad CRI endpoint"):
        RuntimeClient("http://localhost:1")


def test_client_rejects_non_positive_timeout() -> None:
    with pytest.raises(ValueError, match="timeout"):
        RuntimeClient("/tmp/none.sock", timeout=0)


class _VersionOnly(api_pb2_grpc.RuntimeServiceServicer):
    """Answers Version from the request; every other RPC keeps the generated UNIMPLEMENTED."""

    def Version(self, request: api_pb2.VersionRequest, context: grpc.ServicerContext) -> api_pb2.VersionResponse:
        return api_pb2.VersionResponse(
            version=request.version,
            runtime_name="fake-runtime",
            runtime_version="9.9.9",
            runtime_api_version="v1",
        )


@pytest.fixture
def socket_path(tmp_path: Path) -> Iterator[Path]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    api_pb2_grpc.add_RuntimeServiceServicer_to_server(_VersionOnly(), server)
    path = tmp_path / "cri.sock"
    server.add_insecure_port(f"unix://{path}")
    server.start()
    try:
        yield path
    finally:
        server.stop(grace=None)


def test_version_round_trips_over_a_unix_socket(socket_path: Path) -> None:
    with RuntimeClient(f"unix://{socket_path}", timeout=5) as client:
        client.wait_ready(5)
        version = client.version()
    assert (version.version, version.runtime_name, version.runtime_version, version.runtime_api_version) == (
        "v1",
        "fake-runtime",
        "9.9.9",
        "v1",
    )


def test_bare_path_endpoint_reaches_the_same_server(socket_path: Path) -> None:
    with RuntimeClient(str(socket_path), timeout=5) as client:
        assert client.version().runtime_name == "fake-runtime"


def test_raw_stub_is_available_for_uncommon_calls(socket_path: Path) -> None:
    with RuntimeClient(f"unix:{socket_path}", timeout=5) as client:
        response = client.runtime.Version(api_pb2.VersionRequest(version="v1"), timeout=5)
    assert response.runtime_api_version == "v1"


def test_unimplemented_rpc_raises_unimplemented_with_method_name(socket_path: Path) -> None:
    with RuntimeClient(str(socket_path), timeout=5) as client, pytest.raises(Unimplemented) as caught:
        client.status()
    assert caught.value.method == "Status"
    assert caught.value.code is grpc.StatusCode.UNIMPLEMENTED


def test_unserved_image_service_raises_a_cri_error(socket_path: Path) -> None:
    with RuntimeClient(str(socket_path), timeout=5) as client, pytest.raises(CRIError) as caught:
        client.list_images()
    assert caught.value.code is grpc.StatusCode.UNIMPLEMENTED


def test_wait_ready_on_a_missing_socket_raises_unavailable(tmp_path: Path) -> None:
    with RuntimeClient(str(tmp_path / "nobody.sock")) as client, pytest.raises(Unavailable, match="nobody.sock"):
        client.wait_ready(0.3)


def test_call_to_a_missing_socket_raises_unavailable(tmp_path: Path) -> None:
    with RuntimeClient(str(tmp_path / "nobody.sock"), timeout=2) as client, pytest.raises(Unavailable):
        client.version()
