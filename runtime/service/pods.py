"""RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox."""

from __future__ import annotations

import time

import grpc

from cri import api_pb2
from runtime.container.manager import ContainerManager
from runtime.sandbox.manager import SandboxManager
from runtime.service import convert


class PodCalls:
    sandboxes: SandboxManager
    containers: ContainerManager

    def RunPodSandbox(self, request: api_pb2.RunPodSandboxRequest, context: grpc.ServicerContext) -> api_pb2.RunPodSandboxResponse:
        return api_pb2.RunPodSandboxResponse(pod_sandbox_id=self.sandboxes.run(request.config, request.runtime_handler))

    def StopPodSandbox(self, request: api_pb2.StopPodSandboxRequest, context: grpc.ServicerContext) -> api_pb2.StopPodSandboxResponse:
        self.sandboxes.stop(request.pod_sandbox_id)
        return api_pb2.StopPodSandboxResponse()

    def RemovePodSandbox(self, request: api_pb2.RemovePodSandboxRequest, context: grpc.ServicerContext) -> api_pb2.RemovePodSandboxResponse:
        self.sandboxes.remove(request.pod_sandbox_id)
        return api_pb2.RemovePodSandboxResponse()

    def PodSandboxStatus(self, request: api_pb2.PodSandboxStatusRequest, context: grpc.ServicerContext) -> api_pb2.PodSandboxStatusResponse:
        record = self.sandboxes.get(request.pod_sandbox_id)
        response = api_pb2.PodSandboxStatusResponse(status=convert.pod_sandbox_status(record), timestamp=time.time_ns())
        if request.verbose:
            response.info.update(convert.sandbox_info(record))
        return response

    def ListPodSandbox(self, request: api_pb2.ListPodSandboxRequest, context: grpc.ServicerContext) -> api_pb2.ListPodSandboxResponse:
        f = request.filter
        items = []
        for record in self.sandboxes.list():
            if f.id and not record["id"].startswith(f.id):
                continue
            item = convert.pod_sandbox(record)
            if f.HasField("state") and item.state != f.state.state:
                continue
            if not convert.labels_match(item.labels, f.label_selector):
                continue
            items.append(item)
        return api_pb2.ListPodSandboxResponse(items=items)

    def UpdatePodSandboxResources(
        self, request: api_pb2.UpdatePodSandboxResourcesRequest, context: grpc.ServicerContext
    ) -> api_pb2.UpdatePodSandboxResourcesResponse:
        # A notice after the kubelet resized the pod cgroup it owns: the containers' own limits
        # arrive through UpdateContainerResources, so there is nothing to change here.
        self.sandboxes.get(request.pod_sandbox_id)
        return api_pb2.UpdatePodSandboxResourcesResponse()
