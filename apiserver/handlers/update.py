"""UPDATE (PUT) and PATCH of an object or its ``/status``: one read-modify-write path.

Both verbs end in ``replace``: inside the store's compare-and-swap loop, the new object is
prepared from the stored one (system fields kept, status or spec kept depending on the
subresource, generation bumped), defaulted, validated and admitted. A ``resourceVersion`` in a
PUT body or in a patch is a precondition: stale means 409 Conflict with upstream's message, and
no retry. Without one, a lost race is retried against the newer object.

After an update that leaves an object with a ``deletionTimestamp``, no finalizers and no grace
period pending, the object is deleted: removing the last finalizer is what completes a deletion.

Field ownership: every ordinary write (here and in create) gives its field manager (the
``fieldManager`` parameter, else the program name in the User-Agent, as upstream) the fields it
changed in ``metadata.managedFields``. Server-side apply (``application/apply-patch+yaml``)
settles ownership itself and answers conflicts with other managers' fields with 409 unless
``force=true``; applying to a missing object creates it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from apiserver import admission, codec, errors, field_validation
from apiserver.allocation import Reservation
from apiserver.handlers.call import Call, check_type, read_object
from apiserver.handlers.create import check_valid, create_object
from apiserver.kinds.defaults import apply_defaults
from apiserver.kinds.registry import ResourceType
from apiserver.object_store import parse_resource_version
from apiserver.patch import ApplyConflict, PatchError, apply_server_side, record_update
from apiserver.rendering import render_object
from apiserver.strategy import prepare_for_update

Transform = Callable[[dict[str, Any]], dict[str, Any]]


def record_write(rt: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], manager: str,
                 subresource: str = "") -> None:
    """Ownership after an ordinary write; a body without managedFields keeps the stored ones."""
    meta = new.get("metadata")
    if not isinstance(meta, dict):
        return
    if old is not None and "managedFields" not in meta and (old.get("metadata") or {}).get("managedFields"):
        meta["managedFields"] = codec.clone(old["metadata"]["managedFields"])
    record_update(old, new, rt, manager, subresource=subresource)


def finished_deleting(obj: dict[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if meta.get("deletionGracePeriodSeconds"):
        return False
    return not (obj.get("kind") == "Namespace" and (obj.get("spec") or {}).get("finalizers"))


async def replace(call: Call, transform: Transform, precondition_rv: int = 0, subresource: str = "",
                  warnings: list[str] | None = None, record: bool = True) -> web.Response:
    new = await replace_object(call, transform, precondition_rv, subresource, record)
    return codec.respond(render_object(call.rt, new, call.rendering, call.query), rendering=call.rendering,
                         headers=field_validation.warning_headers(warnings or []))


async def replace_object(call: Call, transform: Transform, precondition_rv: int = 0,
                         subresource: str = "", record: bool = True) -> dict[str, Any]:
    """Store ``transform(current)`` over the current object, the way every write path must.

    ``record``: give the request's field manager the fields it changed (server-side apply has
    already settled ownership itself, so it passes False).
    """
    rt = call.rt
    dry_run = call.dry_run
    manager = call.field_manager if record else ""
    reservations: list[Reservation] = []

    async def build(current: dict[str, Any]) -> dict[str, Any]:
        for r in reservations:
            await r.rollback()
        reservations.clear()
        wanted = transform(codec.clone(current))
        meta = wanted.setdefault("metadata", {})
        if meta.get("name", call.name) != call.name:
            raise errors.BadRequest(f"the name of the object ({meta.get('name')}) does not match the name on the"
                                    f" URL ({call.name})")
        meta["name"] = call.name
        if rt.namespaced:
            if meta.get("namespace", call.namespace) != call.namespace:
                raise errors.BadRequest("the namespace of the provided object does not match the namespace"
                                        " sent on the request")
            meta["namespace"] = call.namespace
        given_rv = meta.get("resourceVersion", "")
        if given_rv and parse_resource_version(given_rv) != parse_resource_version(
                current["metadata"]["resourceVersion"]):
            raise errors.conflict(rt.plural, rt.group, call.name, errors.STALE_OBJECT)
        new = prepare_for_update(rt, wanted, current, subresource)
        if subresource != "status":
            apply_defaults(rt, new)
        if manager:
            record_write(rt, current, new, manager, call.target.subresource)
        check_valid(rt, new, current, subresource)
        reservations.append(await admission.before_update(call.ctx, rt, new, current, dry_run))
        return new

    try:
        old, new = await call.ctx.objects.guaranteed_update(rt, call.namespace, call.name, build,
                                                            precondition_rv, dry_run)
    except BaseException:
        for r in reservations:
            await r.rollback()
        raise
    for r in reservations:
        await r.commit()
    if not dry_run and new is not old:
        admission.after_write(rt, new)
        if finished_deleting(new):
            try:
                new = await call.ctx.objects.delete(rt, call.namespace, call.name,
                                                    parse_resource_version(new["metadata"]["resourceVersion"]))
                await admission.after_delete(call.ctx, rt, new)
            except (errors.NotFound, errors.Conflict):
                pass  # someone else finished or changed it; their write wins
    return new


async def update(call: Call) -> web.Response:
    body = await read_object(call)
    warnings: list[str] = []
    precondition = parse_resource_version((body.get("metadata") or {}).get("resourceVersion", ""))

    def transform(current: dict[str, Any]) -> dict[str, Any]:
        warnings[:] = field_validation.check(call, body, current)
        return codec.clone(body)

    try:
        return await replace(call, transform, precondition, call.target.subresource, warnings)
    except errors.NotFound:
        if call.target.subresource or not creates_on_update(call.rt) or precondition:
            raise
    if body["metadata"].get("name", call.name) != call.name:
        raise errors.BadRequest(f"the name of the object ({body['metadata'].get('name')}) does not match the name"
                                f" on the URL ({call.name})")
    body["metadata"]["name"] = call.name
    return await create_object(call, body)


# Kinds whose PUT creates a missing object, as upstream's strategies allow (AllowCreateOnUpdate).
_CREATE_ON_UPDATE = {("", "endpoints"), ("", "events"), ("events.k8s.io", "events"), ("coordination.k8s.io", "leases")}


def creates_on_update(rt: ResourceType) -> bool:
    return not rt.custom and (rt.group, rt.plural) in _CREATE_ON_UPDATE


def apply_patch(content_type: str, current: dict[str, Any], patch: Any, rt: ResourceType) -> dict[str, Any]:
    """``patch`` applied to ``current`` (merge, JSON or strategic merge; apply has its own path)."""
    from apiserver.patch import apply_json_patch, apply_merge_patch, apply_strategic_merge_patch

    try:
        if content_type == codec.MERGE_PATCH:
            if not isinstance(patch, dict):
                raise errors.BadRequest("a merge patch must be a JSON object")
            return apply_merge_patch(current, patch)
        if content_type == codec.JSON_PATCH:
            if not isinstance(patch, list):
                raise errors.BadRequest("a JSON patch must be a JSON array of operations")
            return apply_json_patch(current, patch)
        if content_type == codec.STRATEGIC_MERGE_PATCH:
            if rt.custom:
                raise errors.UnsupportedMediaType("the body of the request was in an unknown format - accepted"
                                                  f" media types include: {codec.JSON_PATCH},"
                                                  f" {codec.MERGE_PATCH}, {codec.APPLY_PATCH}")
            if not isinstance(patch, dict):
                raise errors.BadRequest("a strategic merge patch must be a JSON object")
            return apply_strategic_merge_patch(current, patch, rt)
    except PatchError as e:
        raise patch_error(e) from e
    raise errors.UnsupportedMediaType(f"the body of the request was in an unknown format - accepted media types"
                                      f" include: {', '.join(PATCH_TYPES)}")


PATCH_TYPES = (codec.JSON_PATCH, codec.MERGE_PATCH, codec.STRATEGIC_MERGE_PATCH, codec.APPLY_PATCH)


def patch_error(e: PatchError) -> errors.APIError:
    """The Status a patch that cannot be applied answers: 409 for apply conflicts, 400 when malformed."""
    if isinstance(e, ApplyConflict):
        return errors.Conflict(str(e), causes=[errors.StatusCause(c["reason"], c.get("field", ""), c["message"])
                                               for c in e.causes()])
    if e.malformed:
        return errors.BadRequest(str(e))
    return errors.Invalid(f"the patch could not be applied: {e}")


async def read_patch(call: Call) -> tuple[str, Any]:
    content_type = codec.content_type_of(call.request)
    if content_type not in PATCH_TYPES:
        apply_patch(content_type, {}, None, call.rt)  # raises the 415 that names what is supported
    raw = await codec.read_body(call.request)
    return content_type, codec.decode_document(raw, content_type)


async def patch(call: Call) -> web.Response:
    content_type, doc = await read_patch(call)
    if content_type == codec.APPLY_PATCH:
        return await server_side_apply(call, doc)
    warnings: list[str] = []

    def transform(current: dict[str, Any]) -> dict[str, Any]:
        current["metadata"].pop("resourceVersion", None)
        before = codec.clone(current)
        patched = apply_patch(content_type, current, doc, call.rt)
        if not isinstance(patched, dict):
            raise errors.BadRequest("the patched object is not a JSON object")
        check_type(patched, call.rt.api_version, call.rt.kind)
        warnings[:] = field_validation.check(call, patched, before)
        return patched

    return await replace(call, transform, 0, call.target.subresource, warnings)


async def server_side_apply(call: Call, doc: Any) -> web.Response:
    """PATCH with ``application/apply-patch+yaml``: merge a configuration, owning what it sets.

    The field manager is required; ``force=true`` takes fields other managers own instead of
    answering 409. Applying to an object that does not exist creates it (not through a
    subresource), as upstream does.
    """
    if not call.request.query.get("fieldManager"):
        raise errors.BadRequest("PATCH, application/apply-patch+yaml requests must set the fieldManager query"
                                " parameter")
    manager = call.field_manager
    force_raw = call.request.query.get("force", "")
    if force_raw not in ("", "true", "false"):
        raise errors.BadRequest(f'invalid value for force: "{force_raw}" is not a boolean')
    force = force_raw == "true"
    warnings: list[str] = []

    def transform(current: dict[str, Any]) -> dict[str, Any]:
        current["metadata"].pop("resourceVersion", None)
        before = codec.clone(current)
        try:
            applied = apply_server_side(current, doc, call.rt, manager, force)
        except PatchError as e:
            raise patch_error(e) from e
        check_type(applied, call.rt.api_version, call.rt.kind)
        warnings[:] = field_validation.check(call, applied, before)
        return applied

    try:
        return await replace(call, transform, 0, call.target.subresource, warnings, record=False)
    except errors.NotFound:
        if call.target.subresource:
            raise
    try:
        created = apply_server_side(None, doc, call.rt, manager, force)
    except PatchError as e:
        raise patch_error(e) from e
    check_type(created, call.rt.api_version, call.rt.kind)
    name = created["metadata"].get("name", call.name)
    if name != call.name:
        raise errors.BadRequest(f"the name of the object ({name}) does not match the name on the URL ({call.name})")
    created["metadata"]["name"] = call.name
    return await create_object(call, created, record=False)
