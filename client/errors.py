"""The client's one exception tree: what went wrong talking to an apiserver.

Every failed API call raises an ``ApiError`` subclass built from the Kubernetes ``Status`` the
server sent (``status``, ``reason``, ``code``, ``details`` and ``message`` straight from it), so
callers branch on the class (``except NotFound``) rather than on numbers. The tree is flat: each
error is a direct child of ``ApiError``; the class is chosen by ``reason`` first (409 can mean
``AlreadyExists`` or ``Conflict``) and by HTTP code when the reason is unknown or missing, because
proxies and older servers answer with bare codes.

Failures that never produced an answer (refused connections, resets, timeouts, after the retries
ran out) are ``TransportError``; a kubeconfig that cannot be used is ``KubeconfigError``. All three
share ``ClientError`` so a daemon can catch "anything from the client" in one place.
"""

from __future__ import annotations

import json
from typing import Any


class ClientError(Exception):
    """Base of every error this package raises."""


class KubeconfigError(ClientError):
    """A kubeconfig that is missing, malformed, or names things that do not exist."""


class TransportError(ClientError):
    """No HTTP answer at all: connection refused or dropped, or a timeout, after retries."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class ApiError(ClientError):
    """The apiserver answered with a failure ``Status``."""

    default_code = 500
    default_reason = "InternalError"

    def __init__(self, status: dict[str, Any]) -> None:
        self.status: dict[str, Any] = status
        self.code: int = int(status.get("code") or self.default_code)
        self.reason: str = status.get("reason") or self.default_reason
        self.message: str = status.get("message") or self.reason
        self.details: dict[str, Any] = status.get("details") or {}
        super().__init__(f"{self.code} {self.reason}: {self.message}")

    @property
    def causes(self) -> list[dict[str, Any]]:
        """``details.causes``: one entry per bad field for ``Invalid``."""
        return list(self.details.get("causes") or [])

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait (``details.retryAfterSeconds``), if any."""
        value = self.details.get("retryAfterSeconds")
        return float(value) if value else None


class BadRequest(ApiError):
    default_code, default_reason = 400, "BadRequest"


class Unauthorized(ApiError):
    default_code, default_reason = 401, "Unauthorized"


class Forbidden(ApiError):
    default_code, default_reason = 403, "Forbidden"


class NotFound(ApiError):
    default_code, default_reason = 404, "NotFound"


class MethodNotAllowed(ApiError):
    default_code, default_reason = 405, "MethodNotAllowed"


class NotAcceptable(ApiError):
    default_code, default_reason = 406, "NotAcceptable"


class AlreadyExists(ApiError):
    default_code, default_reason = 409, "AlreadyExists"


class Conflict(ApiError):
    default_code, default_reason = 409, "Conflict"


class Gone(ApiError):
    """410: the resource version asked for was compacted away; the caller must list again."""

    default_code, default_reason = 410, "Expired"


class RequestEntityTooLarge(ApiError):
    default_code, default_reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(ApiError):
    default_code, default_reason = 415, "UnsupportedMediaType"


class Invalid(ApiError):
    default_code, default_reason = 422, "Invalid"


class TooManyRequests(ApiError):
    default_code, default_reason = 429, "TooManyRequests"


class InternalError(ApiError):
    default_code, default_reason = 500, "InternalError"


class ServiceUnavailable(ApiError):
    default_code, default_reason = 503, "ServiceUnavailable"


class ServerTimeout(ApiError):
    """The server gave up on the request (reason ``ServerTimeout`` or ``Timeout``, 504)."""

    default_code, default_reason = 504, "Timeout"


_BY_REASON: dict[str, type[ApiError]] = {
    "BadRequest": BadRequest,
    "Unauthorized": Unauthorized,
    "Forbidden": Forbidden,
    "NotFound": NotFound,
    "MethodNotAllowed": MethodNotAllowed,
    "NotAcceptable": NotAcceptable,
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Gone": Gone,
    "Expired": Gone,
    "RequestEntityTooLarge": RequestEntityTooLarge,
    "UnsupportedMediaType": UnsupportedMediaType,
    "Invalid": Invalid,
    "TooManyRequests": TooManyRequests,
    "InternalError": InternalError,
    "ServiceUnavailable": ServiceUnavailable,
    "ServerTimeout": ServerTimeout,
    "Timeout": ServerTimeout,
}

_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    410: Gone,
    413: RequestEntityTooLarge,
    415: UnsupportedMediaType,
    422: Invalid,
    429: TooManyRequests,
    500: InternalError,
    503: ServiceUnavailable,
    504: ServerTimeout,
}


def error_from_status(status: dict[str, Any], http_code: int | None = None) -> ApiError:
    """The ApiError a ``Status`` stands for; ``http_code`` fills in a Status that lacks ``code``."""
    status = dict(status)
    if not status.get("code") and http_code:
        status["code"] = http_code
    code = int(status.get("code") or 500)
    cls = _BY_REASON.get(status.get("reason") or "") or _BY_CODE.get(code) or ApiError
    return cls(status)


def error_from_response(http_code: int, body: bytes, retry_after: float | None = None) -> ApiError:
    """The ApiError for a failed HTTP answer, whether or not its body is a JSON ``Status``."""
    status: dict[str, Any] | None = None
    try:
        decoded = json.loads(body) if body else None
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        status = decoded
    if status is None:
        text = body.decode("utf-8", "replace").strip()[:500]
        status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": http_code,
                  "message": text or f"the server answered HTTP {http_code} without a Status"}
    err = error_from_status(status, http_code)
    if err.code != http_code and http_code >= 400:
        # The HTTP code is authoritative; a Status that disagrees is kept verbatim in .status.
        err.code = http_code
    if retry_after is not None and "retryAfterSeconds" not in err.details:
        err.details = {**err.details, "retryAfterSeconds": retry_after}
    return err
