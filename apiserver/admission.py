"""What the server does around a write beyond storing it: namespace lifecycle, allocation, CRDs.

Upstream spreads this over admission plugins and REST storage hooks; here it is one module with
three entry points the verb handlers call:

- ``before_create`` / ``before_update``: refuse content in missing or terminating namespaces,
  reserve ClusterIPs, NodePorts and podCIDRs, fill in a CRD's status. They return the
  ``Reservation`` the handler rolls back if the write fails and commits if it succeeds;
- ``after_write`` / ``after_delete``: serve or stop serving custom types, release allocations.

Dry runs check everything but reserve nothing.
"""

from __future__ import annotations

from typing import Any

from apiserver import crds, errors
from apiserver.allocation import Reservation
from apiserver.context import APIContext
from apiserver.kinds.registry import ResourceType, lookup
from apiserver.object_store import object_prefix

NAMESPACES = lookup("", "v1", "namespaces")
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


def _is(rt: ResourceType, group: str, plural: str) -> bool:
    return rt.group == group and rt.plural == plural and not rt.custom


async def check_namespace(ctx: APIContext, rt: ResourceType, namespace: str, name: str) -> None:
    """Namespaced objects are created only in namespaces that exist and are not terminating."""
    if not rt.namespaced:
        return
    assert NAMESPACES is not None
    ns = await ctx.objects.try_get(NAMESPACES, "", namespace)
    if ns is None:
        raise errors.not_found("namespaces", "", namespace)
    if (ns.get("metadata") or {}).get("deletionTimestamp") or (ns.get("status") or {}).get("phase") == \
            "Terminating":
        raise errors.Forbidden(
            f'{errors.qualified_resource(rt.plural, rt.group)} "{name}" is forbidden: unable to create new'
            f" content in namespace {namespace} because it is being terminated",
            name=name, group=rt.group, kind=rt.plural)


async def before_create(ctx: APIContext, rt: ResourceType, obj: dict[str, Any], dry_run: bool) -> Reservation:
    res = Reservation()
    if _is(rt, "apiextensions.k8s.io", "customresourcedefinitions"):
        crds.set_status(obj)
    if dry_run:
        return res
    try:
        if _is(rt, "", "services"):
            await ctx.services.on_create(obj, res)
        elif _is(rt, "", "nodes"):
            await ctx.nodes.on_create(obj, res)
    except BaseException:
        await res.rollback()
        raise
    return res


async def before_update(ctx: APIContext, rt: ResourceType, new: dict[str, Any], old: dict[str, Any],
                        dry_run: bool) -> Reservation:
    res = Reservation()
    if _is(rt, "apiextensions.k8s.io", "customresourcedefinitions"):
        crds.set_status(new)
    if _is(rt, "", "nodes"):
        await ctx.nodes.on_update(new, old)
    if dry_run:
        return res
    try:
        if _is(rt, "", "services"):
            await ctx.services.on_update(new, old, res)
    except BaseException:
        await res.rollback()
        raise
    return res


def after_write(rt: ResourceType, obj: dict[str, Any]) -> None:
    if _is(rt, "apiextensions.k8s.io", "customresourcedefinitions"):
        crds.register(obj)


async def after_delete(ctx: APIContext, rt: ResourceType, obj: dict[str, Any]) -> None:
    if _is(rt, "", "services"):
        await ctx.services.on_delete(obj)
    elif _is(rt, "", "nodes"):
        await ctx.nodes.on_delete(obj)
    elif _is(rt, "apiextensions.k8s.io", "customresourcedefinitions"):
        await _delete_custom_objects(ctx, obj)
        crds.unregister((obj.get("metadata") or {}).get("name", ""))


async def _delete_custom_objects(ctx: APIContext, crd: dict[str, Any]) -> None:
    types = crds.types_of(crd)
    if not types:
        return
    rt = types[0][0]
    kvs, _, _ = await ctx.store.list(object_prefix(rt))
    for kv in kvs:
        try:
            await ctx.store.delete(kv.key)
        except Exception:  # already gone: another writer won
            continue


def check_namespace_deletable(name: str) -> None:
    if name in IMMORTAL_NAMESPACES:
        raise errors.Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                               name=name, kind="namespaces")
