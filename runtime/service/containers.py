"""CreateContainer, StartContainer, StopContainer, RemoveContainer, ListContainers,
ContainerStatus, UpdateContainerResources, ReopenContainerLog, and CheckpointContainer's refusal."""

from __future__ import annotations

import grpc

from cri import api_pb2
from runtime.atomic_json import read_json
from runtime.container.manager import ContainerManager
from runtime.errors import Unimplemented
from runtime.service import convert


class ContainerCalls:
    containers: ContainerManager

    def CreateContainer(self, request: api_pb2.CreateContainerRequest, context: grpc.ServicerContext) -> api_pb2.CreateContainerResponse:
        container_id = self.containers.create(request.pod_sandbox_id, request.config)
        return api_pb2.CreateContainerResponse(container_id=container_id)

    def StartContainer(self, request: api_pb2.StartContainerRequest, context: grpc.ServicerContext) -> api_pb2.StartContainerResponse:
        self.containers.start(request.container_id)
        return api_pb2.StartContainerResponse()

    def StopContainer(self, request: api_pb2.StopContainerRequest, context: grpc.ServicerContext) -> api_pb2.StopContainerResponse:
        self.containers.stop(request.container_id, request.timeout)
        return api_pb2.StopContainerResponse()

    def RemoveContainer(self, request: api_pb2.RemoveContainerRequest, context: grpc.ServicerContext) -> api_pb2.RemoveContainerResponse:
        self.containers.remove(request.container_id)
        return api_pb2.RemoveContainerResponse()

    def ListContainers(self, request: api_pb2.ListContainersRequest, context: grpc.ServicerContext) -> api_pb2.ListContainersResponse:
        f = request.filter
        items = []
        for record in self.containers.list():
            if f.id and not record["id"].startswith(f.id):
                continue
            if f.pod_sandbox_id and not record["sandbox_id"].startswith(f.pod_sandbox_id):
                continue
            item = convert.container(record)
            if f.HasField("state") and item.state != f.state.state:
                continue
            if not convert.labels_match(item.labels, f.label_selector):
                continue
            items.append(item)
        return api_pb2.ListContainersResponse(containers=items)

    def ContainerStatus(self, request: api_pb2.ContainerStatusRequest, context: grpc.ServicerContext) -> api_pb2.ContainerStatusResponse:
        record = self.containers.get(request.container_id)
        response = api_pb2.ContainerStatusResponse(status=convert.container_status(record))
        if request.verbose:
            spec = record.get("spec") or read_json(str(self.containers.ctx.containers.path(record["id"]) / "spec.json"))
            response.info.update(convert.container_info(record, spec))
        return response

    def UpdateContainerResources(
        self, request: api_pb2.UpdateContainerResourcesRequest, context: grpc.ServicerContext
    ) -> api_pb2.UpdateContainerResourcesResponse:
        self.containers.update_resources(request.container_id, request.linux)
        return api_pb2.UpdateContainerResourcesResponse()

    def ReopenContainerLog(self, request: api_pb2.ReopenContainerLogRequest, context: grpc.ServicerContext) -> api_pb2.ReopenContainerLogResponse:
        self.containers.reopen_log(request.container_id)
        return api_pb2.ReopenContainerLogResponse()

    def CheckpointContainer(
        self, request: api_pb2.CheckpointContainerRequest, context: grpc.ServicerContext
    ) -> api_pb2.CheckpointContainerResponse:
        # An unknown container is NOT_FOUND first, as containerd answers; a known one is left as it is.
        record = self.containers.get(request.container_id)
        raise Unimplemented(f"container {record['id']} was not checkpointed: this runtime cannot checkpoint "
                            "containers (that takes CRIU); the container is unchanged")

