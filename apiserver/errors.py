"""The apiserver's one exception tree, and the one place it becomes a metav1 ``Status``.

Handlers raise an ``APIError`` subclass (or let a storage error escape); the HTTP middleware
calls ``status_for`` on whatever was raised and writes the result. Messages follow the wording
of upstream Kubernetes (``pods "x" not found``, ``Operation cannot be fulfilled on ...``)
because clients such as kubectl show them to people verbatim and some tools match on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apiserver.storage import interface as storage


@dataclass(frozen=True)
class StatusCause:
    reason: str
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class APIError(Exception):
    """An error with an HTTP code and a Kubernetes ``reason``; carries optional ``details``."""

    code = 500
    reason = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        group: str = "",
        kind: str = "",
        causes: list[StatusCause] | None = None,
        retry_after: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes or []
        self.retry_after = retry_after

    def status(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after:
            details["retryAfterSeconds"] = self.retry_after
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


class BadRequest(APIError):
    code, reason = 400, "BadRequest"


class Forbidden(APIError):
    code, reason = 403, "Forbidden"


class NotFound(APIError):
    code, reason = 404, "NotFound"


class MethodNotAllowed(APIError):
    code, reason = 405, "MethodNotAllowed"


class NotAcceptable(APIError):
    code, reason = 406, "NotAcceptable"


class AlreadyExists(APIError):
    code, reason = 409, "AlreadyExists"


class Conflict(APIError):
    code, reason = 409, "Conflict"


class Gone(APIError):
    """410: the resource version asked for has been compacted away."""

    code, reason = 410, "Expired"


class RequestEntityTooLarge(APIError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(APIError):
    code, reason = 415, "UnsupportedMediaType"


class Invalid(APIError):
    code, reason = 422, "Invalid"


class InternalError(APIError):
    code, reason = 500, "InternalError"


class ServiceUnavailable(APIError):
    code, reason = 503, "ServiceUnavailable"


class Timeout(APIError):
    code, reason = 504, "Timeout"


def qualified_resource(plural: str, group: str) -> str:
    """``pods`` or ``deployments.apps``: how upstream names a resource in messages."""
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> NotFound:
    return NotFound(
        f'{qualified_resource(plural, group)} "{name}" not found', name=name, group=group, kind=plural
    )


def already_exists(plural: str, group: str, name: str) -> AlreadyExists:
    return AlreadyExists(
        f'{qualified_resource(plural, group)} "{name}" already exists', name=name, group=group, kind=plural
    )


def conflict(plural: str, group: str, name: str, why: str) -> Conflict:
    return Conflict(
        f'Operation cannot be fulfilled on {qualified_resource(plural, group)} "{name}": {why}',
        name=name,
        group=group,
        kind=plural,
    )


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, group: str, name: str, causes: list[StatusCause]) -> Invalid:
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return Invalid(f'{kind}{"." + group if group else ""} "{name}" is invalid: {summary}', name=name,
                   group=group, kind=kind, causes=causes)


def too_old(requested: int, current: int) -> Gone:
    return Gone(f"too old resource version: {requested} ({current})")


def status_for(exc: BaseException) -> APIError:
    """The APIError any exception raised while serving a request stands for."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, storage.Compacted):
        return too_old(exc.requested, exc.current_revision)
    if isinstance(exc, storage.FutureRevision):
        return Timeout(f"Too large resource version: {exc.requested}, current: {exc.current_revision}",
                       retry_after=1)
    if isinstance(exc, storage.Unavailable):
        return ServiceUnavailable(f"storage unavailable: {exc}", retry_after=1)
    if isinstance(exc, storage.StorageError):
        return InternalError(f"storage error: {exc}")
    return InternalError(f"an error on the server ({type(exc).__name__}: {exc}) has prevented the request"
                         " from succeeding")


def success_status(name: str, group: str, plural: str, uid: str = "") -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "group": group, "kind": plural}
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
