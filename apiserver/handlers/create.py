"""CREATE (POST to a collection): name, defaults, server fields, admission, validation, store.

The order is upstream's: decode and type-check the body, settle the name (``generateName``),
default, let the strategy set server-owned fields, admit (namespace lifecycle, allocation),
validate, then write. Allocations made for an object that then fails to store are rolled back,
so nothing is stored or reserved for an invalid request. ``dryRun=All`` stops before the write.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from apiserver import admission, codec, errors, field_validation
from apiserver.handlers.call import Call, read_object
from apiserver.kinds.defaults import apply_defaults
from apiserver.kinds.registry import ResourceType
from apiserver.kinds.validation import validate, validate_status_update
from apiserver.patch import record_update
from apiserver.rendering import render_object
from apiserver.strategy import generate_name, prepare_for_create

_GENERATE_NAME_ATTEMPTS = 5


def check_valid(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None = None,
                subresource: str = "") -> None:
    """422 Invalid naming every bad field, or nothing."""
    if subresource == "status" and old is not None:
        causes = validate_status_update(rt, obj, old)
    else:
        causes = validate(rt, obj, old)
    if causes:
        name = (obj.get("metadata") or {}).get("name", "")
        raise errors.invalid(rt.kind, rt.group, name, [
            errors.StatusCause(c.reason, c.field, c.message) for c in causes])


def settle_namespace(call: Call, obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    if not call.rt.namespaced:
        meta.pop("namespace", None)
        return
    given = meta.get("namespace") or ""
    if given and given != call.namespace:
        raise errors.BadRequest("the namespace of the provided object does not match the namespace sent on the"
                                " request")
    meta["namespace"] = call.namespace


async def create(call: Call) -> web.Response:
    return await create_object(call, await read_object(call))


async def create_object(call: Call, obj: dict[str, Any], record: bool = True) -> web.Response:
    """Create ``obj`` (a decoded, type-checked body) the way POST does; also PUT's create-on-update
    and apply's create. ``record``: the request's field manager owns what it set."""
    settle_namespace(call, obj)
    meta = obj["metadata"]
    warnings = field_validation.check(call, obj)
    generated = not meta.get("name") and bool(meta.get("generateName"))
    if not meta.get("name") and not generated:
        raise errors.invalid(call.rt.kind, call.rt.group, "", [errors.StatusCause(
            "FieldValueRequired", "metadata.name", "Required value: name or generateName is required")])
    await admission.check_namespace(call.ctx, call.rt, call.namespace, meta.get("name") or meta["generateName"])
    dry_run = call.dry_run
    manager = call.field_manager
    for attempt in range(_GENERATE_NAME_ATTEMPTS):
        candidate = _fresh_copy(obj) if generated else obj
        if generated:
            candidate["metadata"]["name"] = generate_name(meta["generateName"])
        apply_defaults(call.rt, candidate)
        prepare_for_create(call.rt, candidate)
        if record and manager:
            record_update(None, candidate, call.rt, manager)
        check_valid(call.rt, candidate)
        reservation = await admission.before_create(call.ctx, call.rt, candidate, dry_run)
        if dry_run:
            return _created(call, candidate, warnings)
        try:
            stored = await call.ctx.objects.create(call.rt, candidate)
        except errors.AlreadyExists:
            await reservation.rollback()
            if generated and attempt + 1 < _GENERATE_NAME_ATTEMPTS:
                continue
            raise
        except BaseException:
            await reservation.rollback()
            raise
        admission.after_write(call.rt, stored)
        return _created(call, stored, warnings)
    raise errors.InternalError("could not generate a unique name")  # pragma: no cover - loop always returns


def _fresh_copy(obj: dict[str, Any]) -> dict[str, Any]:
    return codec.clone(obj)


def _created(call: Call, obj: dict[str, Any], warnings: list[str]) -> web.Response:
    return codec.respond(render_object(call.rt, obj, call.rendering, call.query), status=201,
                         rendering=call.rendering, headers=field_validation.warning_headers(warnings))
