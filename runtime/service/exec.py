"""ExecSync here; Exec, Attach and PortForward need the streaming server (not built yet)."""

from __future__ import annotations

import grpc

from cri import api_pb2
from runtime.container.exec_sync import exec_sync
from runtime.container.manager import ContainerManager


class ExecCalls:
    containers: ContainerManager

    def ExecSync(self, request: api_pb2.ExecSyncRequest, context: grpc.ServicerContext) -> api_pb2.ExecSyncResponse:
        result = exec_sync(self.containers, request.container_id, list(request.cmd), float(request.timeout))
        return api_pb2.ExecSyncResponse(stdout=result.stdout, stderr=result.stderr, exit_code=result.exit_code)
