"""Subresources: status, scale, pods' binding and eviction, namespaces' finalize.

``/status`` reads the whole object and writes only its status (``update.replace`` with
subresource "status"). ``/scale`` is an ``autoscaling/v1 Scale`` view of a workload's replica
count: reads build it from the object, writes (PUT or any patch) change ``spec.replicas`` only,
with the Scale's resourceVersion as precondition. ``/binding`` is how the scheduler assigns a
pod to a node (once only: a bound pod answers 409). ``/eviction`` deletes the pod (no disruption
budgets yet). ``/finalize`` changes only a namespace's ``spec.finalizers``.

The kubelet-backed subresources (log, exec, attach, portforward, proxy) answer 503 until the
kubelet serves them.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from apiserver import codec, crds, errors
from apiserver.handlers import update as update_verb
from apiserver.handlers.call import Call, read_object
from apiserver.handlers.delete import delete_one
from apiserver.kinds.registry import ResourceType, lookup
from apiserver.object_store import parse_resource_version
from apiserver.strategy import now_rfc3339
from client.labels import format_label_selector

KUBELET_SUBRESOURCES = ("log", "exec", "attach", "portforward", "proxy")


def _replica_paths(call: Call) -> tuple[str, str, str]:
    if call.rt.custom:
        paths = crds.scale_paths(call.rt.group, call.rt.plural)
        if paths is None:
            raise errors.NotFound("the server could not find the requested resource")
        return paths.spec_replicas, paths.status_replicas, paths.label_selector
    return ".spec.replicas", ".status.replicas", ""


def to_scale(call: Call, obj: dict[str, Any]) -> dict[str, Any]:
    spec_path, status_path, selector_path = _replica_paths(call)
    meta = obj.get("metadata") or {}
    if selector_path:
        selector = crds.get_path(obj, selector_path) or ""
    else:
        selector = format_label_selector((obj.get("spec") or {}).get("selector"))
    status: dict[str, Any] = {"replicas": int(crds.get_path(obj, status_path) or 0)}
    if selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if k in meta},
        "spec": {"replicas": int(crds.get_path(obj, spec_path) or 0)},
        "status": status,
    }


async def get(call: Call) -> web.Response:
    sub = call.target.subresource
    if sub in KUBELET_SUBRESOURCES:
        raise _kubelet_unavailable(call)
    obj = await call.ctx.objects.get(call.rt, call.namespace, call.name)
    if sub == "scale":
        return codec.respond(to_scale(call, obj))
    if sub in ("status", "finalize"):
        return codec.respond(obj)
    raise errors.MethodNotAllowed(f"GET is not supported on {call.rt.plural}/{sub}")


def _apply_scale(call: Call, current: dict[str, Any], scale: dict[str, Any]) -> dict[str, Any]:
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid("Scale", "autoscaling", call.name, [errors.StatusCause(
            "FieldValueInvalid", "spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal"
                                                  " to 0")])
    given_rv = (scale.get("metadata") or {}).get("resourceVersion")
    if given_rv:
        current["metadata"]["resourceVersion"] = given_rv
    spec_path, _, _ = _replica_paths(call)
    crds.set_path(current, spec_path, replicas)
    return current


async def _scale_write(call: Call, make_scale: Any) -> web.Response:
    holder: dict[str, Any] = {}

    def transform(current: dict[str, Any]) -> dict[str, Any]:
        scale = make_scale(to_scale(call, current))
        holder["scale"] = scale
        current["metadata"].pop("resourceVersion", None)
        return _apply_scale(call, current, scale)

    obj = await update_verb.replace_object(call, transform)
    return codec.respond(to_scale(call, obj))


async def update(call: Call) -> web.Response:
    sub = call.target.subresource
    if sub == "status":
        return await update_verb.update(call)
    if sub == "scale":
        body = await read_object(call, "autoscaling/v1", "Scale")
        return await _scale_write(call, lambda _current: copy.deepcopy(body))
    if sub == "finalize":
        return await _finalize(call)
    if sub in KUBELET_SUBRESOURCES:
        raise _kubelet_unavailable(call)
    raise errors.MethodNotAllowed(f"PUT is not supported on {call.rt.plural}/{sub}")


async def patch(call: Call) -> web.Response:
    sub = call.target.subresource
    if sub == "status":
        return await update_verb.patch(call)
    if sub == "scale":
        content_type, doc = await update_verb.read_patch(call)

        def make(current_scale: dict[str, Any]) -> dict[str, Any]:
            current_scale["metadata"].pop("resourceVersion", None)
            # A Scale has no lists, so a strategic merge patch of it is a plain merge patch.
            kind = codec.MERGE_PATCH if content_type == codec.STRATEGIC_MERGE_PATCH else content_type
            return update_verb.apply_patch(kind, current_scale, doc, call.rt)

        return await _scale_write(call, make)
    if sub in KUBELET_SUBRESOURCES:
        raise _kubelet_unavailable(call)
    raise errors.MethodNotAllowed(f"PATCH is not supported on {call.rt.plural}/{sub}")


async def create(call: Call) -> web.Response:
    sub = call.target.subresource
    if call.rt.group == "" and call.rt.plural == "pods":
        if sub == "binding":
            return await _bind(call)
        if sub == "eviction":
            return await _evict(call)
    if sub in KUBELET_SUBRESOURCES:
        raise _kubelet_unavailable(call)
    raise errors.MethodNotAllowed(f"POST is not supported on {call.rt.plural}/{sub}")


async def _bind(call: Call) -> web.Response:
    return await _bind_pod(call, call.rt, call.name, await read_object(call, "v1", "Binding"))


async def create_binding(call: Call) -> web.Response:
    """POST to the ``bindings`` collection: the Binding names the pod in its metadata."""
    binding = await read_object(call, "v1", "Binding")
    name = (binding.get("metadata") or {}).get("name") or ""
    if not name:
        raise errors.invalid("Binding", "", "", [errors.StatusCause(
            "FieldValueRequired", "metadata.name", "Required value: name or generateName is required")])
    namespace = (binding.get("metadata") or {}).get("namespace") or call.namespace
    if namespace != call.namespace:
        raise errors.BadRequest("the namespace of the provided object does not match the namespace sent on the"
                                " request")
    pods = lookup("", "v1", "pods")
    assert pods is not None  # a built-in type
    return await _bind_pod(call, pods, name, binding)


async def _bind_pod(call: Call, pods: ResourceType, name: str, binding: dict[str, Any]) -> web.Response:
    target = binding.get("target") or {}
    node = target.get("name") or ""
    if not node:
        raise errors.invalid("Binding", "", name, [errors.StatusCause(
            "FieldValueRequired", "target.name", "Required value")])
    if target.get("kind", "Node") not in ("Node", ""):
        raise errors.invalid("Binding", "", name, [errors.StatusCause(
            "FieldValueNotSupported", "target.kind", f'Unsupported value: "{target.get("kind")}"')])

    async def bind(current: dict[str, Any]) -> dict[str, Any]:
        pre_uid = (binding.get("metadata") or {}).get("uid")
        meta = current["metadata"]
        if pre_uid and pre_uid != meta.get("uid"):
            raise errors.conflict("pods", "", name, "the UID in the binding does not match the pod")
        if meta.get("deletionTimestamp"):
            raise errors.conflict("pods", "", name, "pod is being deleted, cannot be assigned to a host")
        spec = current.setdefault("spec", {})
        if spec.get("nodeName"):
            raise errors.conflict("pods", "", name,
                                  f'pod {name} is already assigned to node "{spec["nodeName"]}"')
        spec["nodeName"] = node
        status = current.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": now_rfc3339()})
        status["conditions"] = conditions
        return current

    await call.ctx.objects.guaranteed_update(pods, call.namespace, name, bind, 0, call.dry_run)
    return codec.respond(errors.success_status(name, "", "pods"), status=201)


async def _evict(call: Call) -> web.Response:
    eviction = await read_object(call, "policy/v1", "Eviction")
    opts = dict(eviction.get("deleteOptions") or {})
    await delete_one(call, call.name, opts, call.dry_run or "All" in (opts.get("dryRun") or []))
    return codec.respond(errors.success_status(call.name, "", "pods"), status=201)


async def _finalize(call: Call) -> web.Response:
    body = await read_object(call, "v1", "Namespace")
    wanted = list((body.get("spec") or {}).get("finalizers") or [])

    def transform(current: dict[str, Any]) -> dict[str, Any]:
        given_rv = (body.get("metadata") or {}).get("resourceVersion")
        if given_rv:
            current["metadata"]["resourceVersion"] = given_rv
        else:
            current["metadata"].pop("resourceVersion", None)
        current.setdefault("spec", {})["finalizers"] = wanted
        return current

    # Not through update.replace: the Namespace strategy keeps spec.finalizers on ordinary updates.
    async def fn(current: dict[str, Any]) -> dict[str, Any]:
        rv = current["metadata"]["resourceVersion"]
        new = transform(copy.deepcopy(current))
        given = new["metadata"].get("resourceVersion")
        if given and parse_resource_version(given) != parse_resource_version(rv):
            raise errors.conflict("namespaces", "", call.name, errors.STALE_OBJECT)
        return new

    _, new = await call.ctx.objects.guaranteed_update(call.rt, "", call.name, fn, 0, call.dry_run)
    if not call.dry_run and update_verb.finished_deleting(new):
        try:
            new = await call.ctx.objects.delete(call.rt, "", call.name,
                                                parse_resource_version(new["metadata"]["resourceVersion"]))
        except (errors.NotFound, errors.Conflict):
            pass
    return codec.respond(new)


def _kubelet_unavailable(call: Call) -> errors.ServiceUnavailable:
    return errors.ServiceUnavailable(
        f"{call.rt.plural}/{call.target.subresource} is served through the node's kubelet, which this server"
        " cannot reach yet", name=call.name, kind=call.rt.plural, retry_after=5)
