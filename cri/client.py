"""A thin, typed client for any CRI v1 runtime (kybernetes, containerd, CRI-O).

``RuntimeClient`` owns one gRPC channel and exposes both raw stubs (``.runtime``, ``.image``)
for anything unusual, plus one method per common call that takes plain Python values and
returns the interesting part of the response. It adds no behaviour of its own beyond three
things every caller needs and would otherwise repeat:

* endpoint parsing with the forms crictl and the kubelet accept (``unix:///path``,
  ``unix:/path``, a bare absolute ``/path``, ``tcp://host:port``), rejecting anything else with
  a ValueError before a channel exists;
* a per-call deadline (``timeout``), so no call can hang forever; calls that legitimately run
  long (exec with its own timeout, image pulls) get that time added or their own override;
* gRPC failures turned into a small exception tree (``CRIError`` and subclasses by status
  code) carrying the method, the code and the runtime's message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

import grpc

from . import api_pb2, api_pb2_grpc

DEFAULT_TIMEOUT = 10.0
"""Seconds a unary call may take unless the method says otherwise."""

DEFAULT_PULL_TIMEOUT = 600.0
"""Image pulls download layers; they get their own, much longer deadline."""

MAX_MESSAGE_SIZE = 16 * 1024 * 1024
"""The largest message either way, as the kubelet and crictl allow (gRPC's default receive
limit is 4 MiB: a node with many containers lists more than that)."""


class CRIError(Exception):
    """A CRI call failed; ``code`` is the gRPC status the runtime answered with."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{method}: {code.name}: {details}")
        self.method = method
        self.code = code
        self.details = details


class NotFound(CRIError):
    """The sandbox, container or image named in the request does not exist."""


class Unavailable(CRIError):
    """Nothing answers at the endpoint (not started, wrong path, or shutting down)."""


class Unimplemented(CRIError):
    """The runtime does not implement this call."""


class DeadlineExceeded(CRIError):
    """The call did not finish within its deadline."""


_ERRORS_BY_CODE: dict[grpc.StatusCode, type[CRIError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def _error_from(method: str, err: grpc.RpcError) -> CRIError:
    code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (err.details() if isinstance(err, grpc.Call) else None) or str(err)
    return _ERRORS_BY_CODE.get(code, CRIError)(method, code, details)


@dataclass(frozen=True)
class Endpoint:
    """Where a CRI runtime listens, normalised from one of the accepted spellings."""

    scheme: Literal["unix", "tcp"]
    address: str  # absolute socket path for unix, host:port for tcp

    @property
    def target(self) -> str:
        """The gRPC channel target for this endpoint."""
        return f"unix://{self.address}" if self.scheme == "unix" else self.address

    def __str__(self) -> str:
        return f"{self.scheme}://{self.address}"


_ACCEPTED = "unix:///path/to.sock, unix:/path/to.sock, /path/to.sock or tcp://host:port"


def parse_endpoint(endpoint: str) -> Endpoint:
    """Parse a CRI endpoint string; raise ValueError naming the accepted forms otherwise."""
    text = endpoint.strip()
    if text.startswith("tcp://"):
        hostport = text.removeprefix("tcp://").rstrip("/")
        host, sep, port = hostport.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad CRI endpoint {endpoint!r}: tcp endpoints need host:port ({_ACCEPTED})")
        return Endpoint("tcp", hostport)
    if text.startswith("unix://"):
        path = text.removeprefix("unix://")
    elif text.startswith("unix:"):
        path = text.removeprefix("unix:")
    elif text.startswith("/"):
        path = text
    else:
        raise ValueError(f"bad CRI endpoint {endpoint!r}: expected {_ACCEPTED}")
    if not path.startswith("/") or path == "/":
        raise ValueError(f"bad CRI endpoint {endpoint!r}: the socket path must be absolute ({_ACCEPTED})")
    return Endpoint("unix", path)


def _image_spec(image: str | api_pb2.ImageSpec) -> api_pb2.ImageSpec:
    return image if isinstance(image, api_pb2.ImageSpec) else api_pb2.ImageSpec(image=image)


class RuntimeClient:
    """One connection to a CRI runtime; use as a context manager or call ``close()``."""

    def __init__(self, endpoint: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.endpoint = parse_endpoint(endpoint)
        self.timeout = timeout
        self._channel = grpc.insecure_channel(self.endpoint.target, options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_SIZE),
            ("grpc.max_send_message_length", MAX_MESSAGE_SIZE),
        ])
        self.runtime = api_pb2_grpc.RuntimeServiceStub(self._channel)
        self.image = api_pb2_grpc.ImageServiceStub(self._channel)

    # -- connection -------------------------------------------------------------------------

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the channel connects; raise Unavailable after ``timeout`` seconds."""
        wait = self.timeout if timeout is None else timeout
        try:
            grpc.channel_ready_future(self._channel).result(timeout=wait)
        except grpc.FutureTimeoutError:
            raise Unavailable(
                "wait_ready", grpc.StatusCode.UNAVAILABLE, f"no CRI runtime answered at {self.endpoint} within {wait}s"
            ) from None

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, stub: object, method: str, request: object, timeout: float | None = None) -> Any:
        try:
            return getattr(stub, method)(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as err:
            raise _error_from(method, err) from err

    # -- runtime ----------------------------------------------------------------------------

    def version(self, api_version: str = "v1") -> api_pb2.VersionResponse:
        return self._call(self.runtime, "Version", api_pb2.VersionRequest(version=api_version))

    def status(self, verbose: bool = False) -> api_pb2.StatusResponse:
        return self._call(self.runtime, "Status", api_pb2.StatusRequest(verbose=verbose))

    def runtime_config(self) -> api_pb2.RuntimeConfigResponse:
        return self._call(self.runtime, "RuntimeConfig", api_pb2.RuntimeConfigRequest())

    # -- pod sandboxes ----------------------------------------------------------------------

    def run_pod_sandbox(self, config: api_pb2.PodSandboxConfig, runtime_handler: str = "") -> str:
        """Create and start a sandbox; return its id."""
        request = api_pb2.RunPodSandboxRequest(config=config, runtime_handler=runtime_handler)
        return self._call(self.runtime, "RunPodSandbox", request).pod_sandbox_id

    def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        self._call(self.runtime, "StopPodSandbox", api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_sandbox_id))

    def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        request = api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_sandbox_id)
        self._call(self.runtime, "RemovePodSandbox", request)

    def pod_sandbox_status(self, pod_sandbox_id: str, verbose: bool = False) -> api_pb2.PodSandboxStatusResponse:
        request = api_pb2.PodSandboxStatusRequest(pod_sandbox_id=pod_sandbox_id, verbose=verbose)
        return self._call(self.runtime, "PodSandboxStatus", request)

    def list_pod_sandbox(self, filter: api_pb2.PodSandboxFilter | None = None) -> list[api_pb2.PodSandbox]:
        return list(self._call(self.runtime, "ListPodSandbox", api_pb2.ListPodSandboxRequest(filter=filter)).items)

    # -- containers -------------------------------------------------------------------------

    def create_container(
        self, pod_sandbox_id: str, config: api_pb2.ContainerConfig, sandbox_config: api_pb2.PodSandboxConfig
    ) -> str:
        """Create a container in a sandbox; return its id."""
        request = api_pb2.CreateContainerRequest(
            pod_sandbox_id=pod_sandbox_id, config=config, sandbox_config=sandbox_config
        )
        return self._call(self.runtime, "CreateContainer", request).container_id

    def start_container(self, container_id: str) -> None:
        self._call(self.runtime, "StartContainer", api_pb2.StartContainerRequest(container_id=container_id))

    def stop_container(self, container_id: str, timeout: int = 0) -> None:
        """Stop with a grace period of ``timeout`` seconds (0 kills at once)."""
        request = api_pb2.StopContainerRequest(container_id=container_id, timeout=timeout)
        self._call(self.runtime, "StopContainer", request, timeout=self.timeout + max(timeout, 0))

    def checkpoint_container(self, container_id: str, location: str = "", timeout: int = 0) -> None:
        """Ask the runtime to checkpoint a container into ``location`` (crictl checkpoint)."""
        request = api_pb2.CheckpointContainerRequest(container_id=container_id, location=location, timeout=timeout)
        self._call(self.runtime, "CheckpointContainer", request)

    def remove_container(self, container_id: str) -> None:
        self._call(self.runtime, "RemoveContainer", api_pb2.RemoveContainerRequest(container_id=container_id))

    def list_containers(self, filter: api_pb2.ContainerFilter | None = None) -> list[api_pb2.Container]:
        response = self._call(self.runtime, "ListContainers", api_pb2.ListContainersRequest(filter=filter))
        return list(response.containers)

    def container_status(self, container_id: str, verbose: bool = False) -> api_pb2.ContainerStatusResponse:
        request = api_pb2.ContainerStatusRequest(container_id=container_id, verbose=verbose)
        return self._call(self.runtime, "ContainerStatus", request)

    def exec_sync(self, container_id: str, cmd: Sequence[str], timeout: int = 0) -> api_pb2.ExecSyncResponse:
        """Run ``cmd`` in the container and wait; ``timeout`` seconds bounds the command (0: none).

        With no command timeout the call still ends at the client's deadline.
        """
        request = api_pb2.ExecSyncRequest(container_id=container_id, cmd=list(cmd), timeout=timeout)
        return self._call(self.runtime, "ExecSync", request, timeout=self.timeout + max(timeout, 0))

    def container_stats(self, container_id: str) -> api_pb2.ContainerStats:
        request = api_pb2.ContainerStatsRequest(container_id=container_id)
        return self._call(self.runtime, "ContainerStats", request).stats

    def list_container_stats(self, filter: api_pb2.ContainerStatsFilter | None = None) -> list[api_pb2.ContainerStats]:
        request = api_pb2.ListContainerStatsRequest(filter=filter)
        return list(self._call(self.runtime, "ListContainerStats", request).stats)

    def reopen_container_log(self, container_id: str) -> None:
        request = api_pb2.ReopenContainerLogRequest(container_id=container_id)
        self._call(self.runtime, "ReopenContainerLog", request)

    def container_events(self) -> Iterator[api_pb2.ContainerEventResponse]:
        """Stream container events until the runtime ends the stream or the client closes."""
        try:
            yield from self.runtime.GetContainerEvents(api_pb2.GetEventsRequest())
        except grpc.RpcError as err:
            raise _error_from("GetContainerEvents", err) from err

    # -- images -----------------------------------------------------------------------------

    def list_images(self, filter: api_pb2.ImageFilter | None = None) -> list[api_pb2.Image]:
        return list(self._call(self.image, "ListImages", api_pb2.ListImagesRequest(filter=filter)).images)

    def image_status(self, image: str | api_pb2.ImageSpec, verbose: bool = False) -> api_pb2.ImageStatusResponse:
        """Status of an image; ``.HasField("image")`` is false when the runtime does not have it."""
        request = api_pb2.ImageStatusRequest(image=_image_spec(image), verbose=verbose)
        return self._call(self.image, "ImageStatus", request)

    def pull_image(
        self,
        image: str | api_pb2.ImageSpec,
        auth: api_pb2.AuthConfig | None = None,
        sandbox_config: api_pb2.PodSandboxConfig | None = None,
        timeout: float = DEFAULT_PULL_TIMEOUT,
    ) -> str:
        """Pull an image; return the image reference the runtime resolved it to."""
        request = api_pb2.PullImageRequest(image=_image_spec(image), auth=auth, sandbox_config=sandbox_config)
        return self._call(self.image, "PullImage", request, timeout=timeout).image_ref

    def remove_image(self, image: str | api_pb2.ImageSpec) -> None:
        self._call(self.image, "RemoveImage", api_pb2.RemoveImageRequest(image=_image_spec(image)))

    def image_fs_info(self) -> api_pb2.ImageFsInfoResponse:
        return self._call(self.image, "ImageFsInfo", api_pb2.ImageFsInfoRequest())
