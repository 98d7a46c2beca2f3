"""The CRI RuntimeService as served by `kyb runtime`.

Calls this module does not implement yet answer UNIMPLEMENTED (the generated servicer base
class does that), so a CRI client gets an honest status instead of a fake success.
"""

from __future__ import annotations

import os
from pathlib import Path

import grpc

from cri import api_pb2, api_pb2_grpc

RUNTIME_NAME = "kybernetes"
RUNTIME_VERSION = "0.1.0"
CRI_API_VERSION = "v1"
KUBELET_API_VERSION = "0.1.0"


class RuntimeService(api_pb2_grpc.RuntimeServiceServicer):
    """Version and Status; the pod and container calls arrive with the runtime issue."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def Version(self, request: api_pb2.VersionRequest, context: grpc.ServicerContext) -> api_pb2.VersionResponse:
        return api_pb2.VersionResponse(
            version=KUBELET_API_VERSION,
            runtime_name=RUNTIME_NAME,
            runtime_version=RUNTIME_VERSION,
            runtime_api_version=CRI_API_VERSION,
        )

    def Status(self, request: api_pb2.StatusRequest, context: grpc.ServicerContext) -> api_pb2.StatusResponse:
        return api_pb2.StatusResponse(status=api_pb2.RuntimeStatus(conditions=[
            self._runtime_condition(),
            api_pb2.RuntimeCondition(
                type="NetworkReady",
                status=False,
                reason="NetworkNotConfigured",
                message="pod networking is not set up by this runtime yet; sandboxes get loopback only",
            ),
        ]))

    def _runtime_condition(self) -> api_pb2.RuntimeCondition:
        if os.access(self.root, os.W_OK | os.X_OK):
            return api_pb2.RuntimeCondition(type="RuntimeReady", status=True)
        return api_pb2.RuntimeCondition(
            type="RuntimeReady",
            status=False,
            reason="RootNotWritable",
            message=f"runtime root {self.root} is not writable",
        )
