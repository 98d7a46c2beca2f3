"""DELETE of one object and DELETECOLLECTION: finalizers, graceful pod deletion, propagation.

An object is removed from the store at once only when nothing has to happen first. Otherwise
the delete is recorded on the object and the object stays:

- finalizers present (or added by ``propagationPolicy``: Foreground adds ``foregroundDeletion``,
  Orphan adds ``orphan``; Background adds nothing): ``deletionTimestamp`` is set and whoever owns
  each finalizer removes it; the update removing the last one completes the deletion;
- a pod bound to a node, deleted with a grace period (the request's ``gracePeriodSeconds``,
  else the pod's ``terminationGracePeriodSeconds``, else 30): ``deletionTimestamp`` (now + grace)
  and ``deletionGracePeriodSeconds`` are set and the kubelet, after stopping the containers,
  deletes it again with grace 0. A pod never scheduled, or already finished, goes at once;
- a namespace: phase Terminating with its ``kubernetes`` finalizer until the namespace
  controller has emptied it and called ``/finalize``.

Such deferred deletes answer 202 with the object; immediate ones 200 with the last state.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from apiserver import admission, codec, errors
from apiserver.handlers.call import Call
from apiserver.handlers.read import collect
from apiserver.kinds.registry import ResourceType
from apiserver.object_store import parse_resource_version
from apiserver.rendering import render_object
from apiserver.strategy import now_rfc3339, rfc3339_after

FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"
DEFAULT_POD_GRACE = 30


async def delete_options(call: Call) -> dict[str, Any]:
    """DeleteOptions from the body (if any) overlaid with the query parameters."""
    opts: dict[str, Any] = {}
    raw = await codec.read_body(call.request)
    if raw.strip():
        opts = codec.decode_object(raw, codec.content_type_of(call.request))
    grace = call.int_param("gracePeriodSeconds")
    if grace is not None:
        opts["gracePeriodSeconds"] = grace
    policy = call.query.get("propagationPolicy")
    if policy:
        opts["propagationPolicy"] = policy
    if "orphanDependents" in call.query:
        opts["orphanDependents"] = call.bool_param("orphanDependents")
    if opts.get("propagationPolicy") not in (None, "Background", "Foreground", "Orphan"):
        raise errors.BadRequest(f'propagationPolicy "{opts["propagationPolicy"]}" is invalid: valid values are'
                                ' Background, Foreground, Orphan')
    if opts.get("gracePeriodSeconds") is not None and int(opts["gracePeriodSeconds"]) < 0:
        opts["gracePeriodSeconds"] = 1
    if "All" in (opts.get("dryRun") or []):
        opts["_dryRun"] = True
    return opts


def _check_preconditions(rt: ResourceType, obj: dict[str, Any], opts: dict[str, Any]) -> None:
    pre = opts.get("preconditions") or {}
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    if pre.get("uid") and pre["uid"] != meta.get("uid"):
        raise errors.conflict(rt.plural, rt.group, name, f"Precondition failed: UID in precondition: {pre['uid']},"
                                                         f" UID in object meta: {meta.get('uid')}")
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
        raise errors.conflict(rt.plural, rt.group, name, "Precondition failed: ResourceVersion in precondition:"
                              f" {pre['resourceVersion']}, ResourceVersion in object meta:"
                              f" {meta.get('resourceVersion')}")


def _grace_period(rt: ResourceType, obj: dict[str, Any], opts: dict[str, Any]) -> int:
    if not (rt.group == "" and rt.plural == "pods" and not rt.custom):
        return 0
    spec = obj.get("spec") or {}
    if not spec.get("nodeName"):
        return 0
    if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    grace = opts.get("gracePeriodSeconds")
    if grace is None:
        grace = spec.get("terminationGracePeriodSeconds", DEFAULT_POD_GRACE)
    return max(0, int(grace))


def _finalizers_for(opts: dict[str, Any], current: list[str]) -> list[str]:
    """The object's finalizers after this delete: the policy's GC finalizer replaces any earlier one."""
    policy = opts.get("propagationPolicy")
    if policy is None and opts.get("orphanDependents") is not None:
        policy = "Orphan" if opts["orphanDependents"] else "Background"
    if policy is None:
        return list(current)  # no new instruction: an earlier delete's policy stands
    wanted = [f for f in current if f not in (ORPHAN, FOREGROUND)]
    if policy == "Orphan":
        wanted.append(ORPHAN)
    elif policy == "Foreground":
        wanted.append(FOREGROUND)
    return wanted


async def delete_one(call: Call, name: str, opts: dict[str, Any], dry_run: bool) -> tuple[dict[str, Any], bool]:
    """(resulting object, deleted now?) after deleting ``name`` with ``opts``."""
    rt = call.rt
    if rt.group == "" and rt.plural == "namespaces" and not rt.custom:
        admission.check_namespace_deletable(name)
    deferred = False

    async def mark(current: dict[str, Any]) -> dict[str, Any] | None:
        nonlocal deferred
        _check_preconditions(rt, current, opts)
        meta = current["metadata"]
        finalizers = _finalizers_for(opts, meta.get("finalizers") or [])
        grace = _grace_period(rt, current, opts)
        is_namespace = current.get("kind") == "Namespace"
        ns_finalizers = (current.get("spec") or {}).get("finalizers") or [] if is_namespace else []
        if meta.get("deletionTimestamp"):
            old_grace = meta.get("deletionGracePeriodSeconds")
            if old_grace is not None and grace < old_grace:
                meta["deletionGracePeriodSeconds"] = grace
                meta["deletionTimestamp"] = rfc3339_after(grace)
        elif finalizers or grace or ns_finalizers:
            meta["deletionTimestamp"] = rfc3339_after(grace) if grace else now_rfc3339()
            meta["deletionGracePeriodSeconds"] = grace
        else:
            return None
        if finalizers:
            meta["finalizers"] = finalizers
        if is_namespace:
            current.setdefault("status", {})["phase"] = "Terminating"
        deferred = bool(finalizers or meta.get("deletionGracePeriodSeconds") or ns_finalizers)
        if not deferred:
            return None
        return current

    old, new = await call.ctx.objects.guaranteed_update(rt, call.namespace, name, mark, 0, dry_run)
    if deferred:
        return new, False
    if dry_run:
        return old, True
    obj = await call.ctx.objects.delete(rt, call.namespace, name, parse_resource_version(
        old["metadata"]["resourceVersion"]))
    await admission.after_delete(call.ctx, rt, obj)
    return obj, True


async def delete(call: Call) -> web.Response:
    if call.target.subresource:
        raise errors.MethodNotAllowed(f"DELETE is not supported on {call.rt.plural}/{call.target.subresource}")
    opts = await delete_options(call)
    dry_run = call.dry_run or bool(opts.get("_dryRun"))
    obj, deleted = await delete_one(call, call.name, opts, dry_run)
    body = render_object(call.rt, obj, call.rendering, call.query)
    return codec.respond(body, status=200 if deleted else 202, rendering=call.rendering)


async def delete_collection(call: Call) -> web.Response:
    opts = await delete_options(call)
    dry_run = call.dry_run or bool(opts.get("_dryRun"))
    items, rev, _ = await collect(call)
    results = []
    for obj in items:
        meta = obj.get("metadata") or {}
        if call.rt.namespaced and not call.namespace:
            target = dataclasses.replace(call.target, namespace=meta.get("namespace", ""))
            sub_call = Call(call.ctx, call.request, target, call.rt, call.rendering)
        else:
            sub_call = call
        try:
            result, _ = await delete_one(sub_call, meta.get("name", ""), opts, dry_run)
        except errors.NotFound:
            continue
        results.append(result)
    return codec.respond({"kind": call.rt.list_kind, "apiVersion": call.rt.api_version,
                          "metadata": {"resourceVersion": str(rev)}, "items": results})
