"""Failed answers become the flat ApiError tree, chosen by Status reason first, then HTTP code."""

from __future__ import annotations

import json

import pytest

from client import errors


def _status(code: int, reason: str, **details: object) -> dict:
    out = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": f"msg {reason}",
           "reason": reason, "code": code}
    if details:
        out["details"] = details
    return out


@pytest.mark.parametrize("code, reason, cls", [
    (404, "NotFound", errors.NotFound),
    (409, "AlreadyExists", errors.AlreadyExists),
    (409, "Conflict", errors.Conflict),
    (410, "Expired", errors.Gone),
    (410, "Gone", errors.Gone),
    (422, "Invalid", errors.Invalid),
    (403, "Forbidden", errors.Forbidden),
    (401, "Unauthorized", errors.Unauthorized),
    (429, "TooManyRequests", errors.TooManyRequests),
    (500, "ServerTimeout", errors.ServerTimeout),
    (504, "Timeout", errors.ServerTimeout),
])
def test_reason_selects_the_class(code: int, reason: str, cls: type) -> None:
    err = errors.error_from_status(_status(code, reason))
    assert type(err) is cls
    assert (err.code, err.reason, err.message) == (code, reason, f"msg {reason}")


def test_every_api_error_is_a_direct_child_of_api_error() -> None:
    for cls in (errors.NotFound, errors.Conflict, errors.Gone, errors.Invalid, errors.ServerTimeout):
        assert cls.__bases__ == (errors.ApiError,)


def test_unknown_reason_falls_back_to_http_code() -> None:
    err = errors.error_from_response(404, json.dumps(_status(404, "SomethingNew")).encode())
    assert isinstance(err, errors.NotFound)
    assert err.reason == "SomethingNew"


def test_non_status_body_is_kept_as_message() -> None:
    err = errors.error_from_response(503, b"upstream connect error")
    assert isinstance(err, errors.ServiceUnavailable)
    assert err.message == "upstream connect error"
    assert err.status["code"] == 503


def test_invalid_exposes_field_causes() -> None:
    causes = [{"reason": "FieldValueRequired", "field": "spec.containers", "message": "Required value"}]
    err = errors.error_from_status(_status(422, "Invalid", name="p", kind="Pod", causes=causes))
    assert err.causes == causes
    assert err.details["name"] == "p"


def test_retry_after_header_lands_in_details() -> None:
    err = errors.error_from_response(429, json.dumps(_status(429, "TooManyRequests")).encode(), retry_after=3)
    assert err.retry_after == 3.0


def test_http_code_wins_over_a_disagreeing_status_code() -> None:
    err = errors.error_from_response(500, json.dumps(_status(0, "")).encode())
    assert err.code == 500 and isinstance(err, errors.InternalError)
