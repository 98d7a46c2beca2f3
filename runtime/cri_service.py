"""The CRI RuntimeService as served by `kyb runtime`: the call groups composed into one servicer.

Each group lives in its own module under ``runtime.service`` and reaches the sandbox and
container managers through attributes set here. Errors are turned into gRPC codes by the
interceptor in ``runtime.service.errors``, not here. CheckpointContainer answers
UNIMPLEMENTED with a message saying so (``runtime.service.containers``): an honest status,
never a fake success.
"""

from __future__ import annotations

import json
import os
import threading

import grpc

from cri import api_pb2, api_pb2_grpc
from runtime.container.manager import ContainerManager
from runtime.context import RuntimeContext
from runtime.sandbox.manager import SUPPORTED_HANDLERS, SandboxManager
from runtime.service.containers import ContainerCalls
from runtime.service.events import EventBus, EventCalls
from runtime.service.exec import ExecCalls
from runtime.service.metrics import MetricsCalls
from runtime.service.pods import PodCalls
from runtime.service.runtime_handlers import RuntimeHandlers
from runtime.service.stats import StatsCalls
from runtime.streaming.server import StreamingServer

RUNTIME_NAME = "kybernetes"
RUNTIME_VERSION = "0.1.0"
CRI_API_VERSION = "v1"
KUBELET_API_VERSION = "0.1.0"


class RuntimeService(
    PodCalls, ContainerCalls, ExecCalls, StatsCalls, MetricsCalls, EventCalls, api_pb2_grpc.RuntimeServiceServicer
):
    def __init__(self, ctx: RuntimeContext, streaming: StreamingServer | None = None) -> None:
        self.ctx = ctx
        self.streaming = streaming
        self.root = ctx.root
        self.containers = ContainerManager(ctx)
        self.sandboxes = SandboxManager(ctx, self.containers)
        self.handlers = RuntimeHandlers(SUPPORTED_HANDLERS, str(ctx.root))
        self.events = EventBus(self.sandboxes, self.containers)
        self.containers.on_event = self.events.publish
        self._cpu_samples = {}
        self._cpu_lock = threading.Lock()

    def Version(self, request: api_pb2.VersionRequest, context: grpc.ServicerContext) -> api_pb2.VersionResponse:
        return api_pb2.VersionResponse(
            version=KUBELET_API_VERSION,
            runtime_name=RUNTIME_NAME,
            runtime_version=RUNTIME_VERSION,
            runtime_api_version=CRI_API_VERSION,
        )

    def Status(self, request: api_pb2.StatusRequest, context: grpc.ServicerContext) -> api_pb2.StatusResponse:
        response = api_pb2.StatusResponse(status=api_pb2.RuntimeStatus(conditions=[
            self._runtime_condition(), self._network_condition(),
        ]), runtime_handlers=self.handlers.messages())
        if request.verbose:
            # stateDir as containerd names it: critest probes idmapped mounts on its parent.
            response.info["config"] = json.dumps({
                "root": str(self.root), "stateDir": str(self.root), "cgroupVersion": self.ctx.cgroups.version,
                "cgroupRoot": self.ctx.cgroup_root,
                "apparmor": {"enabled": self.ctx.apparmor.enabled, "defaultProfile": self.ctx.apparmor.default_profile or "",
                             "problem": self.ctx.apparmor.default_problem},
                "enableSelinux": False,
            })
        return response

    def RuntimeConfig(self, request: api_pb2.RuntimeConfigRequest, context: grpc.ServicerContext) -> api_pb2.RuntimeConfigResponse:
        return api_pb2.RuntimeConfigResponse(linux=api_pb2.LinuxRuntimeConfiguration(cgroup_driver=api_pb2.CGROUPFS))

    def UpdateRuntimeConfig(
        self, request: api_pb2.UpdateRuntimeConfigRequest, context: grpc.ServicerContext
    ) -> api_pb2.UpdateRuntimeConfigResponse:
        # The pod CIDR comes from `kyb runtime --pod-cidr`; the kubelet's notice needs no action.
        return api_pb2.UpdateRuntimeConfigResponse()

    def _runtime_condition(self) -> api_pb2.RuntimeCondition:
        if os.access(self.root, os.W_OK | os.X_OK):
            return api_pb2.RuntimeCondition(type="RuntimeReady", status=True)
        return api_pb2.RuntimeCondition(
            type="RuntimeReady", status=False, reason="RootNotWritable",
            message=f"runtime root {self.root} is not writable",
        )

    def _network_condition(self) -> api_pb2.RuntimeCondition:
        network = self.ctx.network
        if network is None:
            return api_pb2.RuntimeCondition(
                type="NetworkReady", status=False, reason="NetworkNotConfigured",
                message="no pod network configured (start kyb runtime with --pod-cidr); sandboxes get loopback only",
            )
        ready, reason = network.status()
        if ready:
            return api_pb2.RuntimeCondition(type="NetworkReady", status=True)
        return api_pb2.RuntimeCondition(type="NetworkReady", status=False, reason="NetworkPluginNotReady", message=reason)
