"""ExecSync, and Exec, Attach and PortForward through the streaming server."""

from __future__ import annotations

import grpc

from cri import api_pb2
from runtime.config_text import reject_nul_bytes
from runtime.container.exec_sync import exec_sync
from runtime.container.manager import ContainerManager
from runtime.errors import FailedPrecondition, InvalidArgument, Unimplemented
from runtime.sandbox.manager import SandboxManager
from runtime.streaming.server import StreamingServer
from runtime.streaming.tokens import StreamRequest


class ExecCalls:
    containers: ContainerManager
    sandboxes: SandboxManager
    streaming: StreamingServer | None

    def ExecSync(self, request: api_pb2.ExecSyncRequest, context: grpc.ServicerContext) -> api_pb2.ExecSyncResponse:
        result = exec_sync(self.containers, request.container_id, list(request.cmd), float(request.timeout))
        return api_pb2.ExecSyncResponse(stdout=result.stdout, stderr=result.stderr, exit_code=result.exit_code)

    def Exec(self, request: api_pb2.ExecRequest, context: grpc.ServicerContext) -> api_pb2.ExecResponse:
        if self.streaming is None:
            raise Unimplemented("this runtime was started without a streaming server")
        if not request.cmd:
            raise InvalidArgument("exec needs a command (cmd is empty)")
        reject_nul_bytes(("exec cmd", arg) for arg in request.cmd)
        if not (request.stdin or request.stdout or request.stderr):
            raise InvalidArgument("one of stdin, stdout or stderr must be set")
        if request.tty and request.stderr:
            raise InvalidArgument("tty and stderr cannot both be set: a terminal has one output stream")
        record = self.containers.require_running(request.container_id)
        url = self.streaming.issue(StreamRequest(
            kind="exec", container_id=record["id"], cmd=list(request.cmd), tty=request.tty,
            stdin=request.stdin, stdout=request.stdout, stderr=request.stderr,
        ))
        return api_pb2.ExecResponse(url=url)

    def Attach(self, request: api_pb2.AttachRequest, context: grpc.ServicerContext) -> api_pb2.AttachResponse:
        if self.streaming is None:
            raise Unimplemented("this runtime was started without a streaming server")
        if not (request.stdin or request.stdout or request.stderr):
            raise InvalidArgument("one of stdin, stdout or stderr must be set")
        record = self.containers.require_running(request.container_id)
        config = record["config"]
        if request.stdin and not config.get("stdin"):
            raise FailedPrecondition("the container was not created with stdin; it cannot take input")
        url = self.streaming.issue(StreamRequest(
            kind="attach", container_id=record["id"], tty=bool(config.get("tty")),
            stdin=request.stdin, stdout=request.stdout, stderr=request.stderr,
        ))
        return api_pb2.AttachResponse(url=url)

    def PortForward(self, request: api_pb2.PortForwardRequest, context: grpc.ServicerContext) -> api_pb2.PortForwardResponse:
        if self.streaming is None:
            raise Unimplemented("this runtime was started without a streaming server")
        if any(not 0 < p < 65536 for p in request.port):
            raise InvalidArgument(f"ports must be 1-65535, got {list(request.port)}")
        sandbox = self.sandboxes.require_ready(request.pod_sandbox_id)
        url = self.streaming.issue(StreamRequest(
            kind="portforward", container_id="", netns=sandbox["namespaces"].get("net"), ports=list(request.port),
        ))
        return api_pb2.PortForwardResponse(url=url)
