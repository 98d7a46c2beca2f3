"""The one place runtime errors become gRPC status codes, and where every CRI call is logged.

A server interceptor wraps each RuntimeService method: domain errors map to their code with
their message, anything unexpected becomes INTERNAL (logged with its traceback) so the daemon
never dies of a bad request. Each call is logged with its method, duration and code.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from runtime import errors
from runtime.cgroups import CgroupError
from runtime.forkserver_client import ForkServerError
from runtime.linux.syscalls import SyscallError
from runtime.network import errors as network_errors

log = logging.getLogger("runtime.cri")

CODES: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (network_errors.InvalidNetworkConfig, grpc.StatusCode.INVALID_ARGUMENT),
    (network_errors.HostPortConflict, grpc.StatusCode.FAILED_PRECONDITION),
    (network_errors.AlreadyAttached, grpc.StatusCode.ALREADY_EXISTS),
    (network_errors.IPAMExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (network_errors.NetnsNotFound, grpc.StatusCode.NOT_FOUND),
    (network_errors.NodeNotReady, grpc.StatusCode.UNAVAILABLE),
    (network_errors.NetworkError, grpc.StatusCode.INTERNAL),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ProcessStartFailed, grpc.StatusCode.UNKNOWN),
    (errors.Timeout, grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.Unimplemented, grpc.StatusCode.UNIMPLEMENTED),
    (errors.InternalError, grpc.StatusCode.INTERNAL),
    (ForkServerError, grpc.StatusCode.INTERNAL),
    (CgroupError, grpc.StatusCode.INTERNAL),
    (SyscallError, grpc.StatusCode.INTERNAL),
]


# The node's disk (or the runtime's quota on it) is full: the caller can act on that, and the
# kubelet's eviction manager does; it is not a bug of ours.
OUT_OF_SPACE = (errno.ENOSPC, errno.EDQUOT)


def code_for(error: BaseException) -> grpc.StatusCode | None:
    cause: BaseException | None = error
    while cause is not None:  # OSError and CgroupError both carry the kernel's errno
        if isinstance(cause, OSError | CgroupError) and cause.errno in OUT_OF_SPACE:
            return grpc.StatusCode.RESOURCE_EXHAUSTED
        cause = cause.__cause__
    for kind, code in CODES:
        if isinstance(error, kind):
            return code
    return None


def _wrap(method: str, behavior: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        started = time.monotonic()
        code = grpc.StatusCode.OK
        try:
            return behavior(request, context)
        except Exception as e:
            if context.code() not in (None, grpc.StatusCode.OK):
                code = context.code()
                raise  # the handler already aborted with its own status
            mapped = code_for(e)
            if mapped is None:
                log.exception("CRI call failed unexpectedly", extra={"method": method})
                mapped = grpc.StatusCode.INTERNAL
            code = mapped
            context.abort(mapped, str(e) or type(e).__name__)
        finally:
            log.debug("CRI call", extra={"method": method, "code": code.name,
                                         "duration_ms": round((time.monotonic() - started) * 1000, 2)})

    return handle


class ErrorInterceptor(grpc.ServerInterceptor):
    """Applies ``_wrap`` to every unary RuntimeService method."""

    prefix = "/runtime.v1.RuntimeService/"

    def intercept_service(self, continuation: Callable, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith(self.prefix) or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _wrap(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
