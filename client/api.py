"""``ApiClient``: the verbs every component uses, each a request builder plus one transport call.

The methods mirror the REST verbs one to one (list, get, create, update, update_status, patch,
delete, delete_collection, watch) and take a ``Resource`` first, so a call reads like the URL it
makes: ``await api.get(PODS, "web-0", "default")``. Objects are plain dicts, returned as the server
sent them (the caller owns them and may change them). Errors are the ``client.errors`` tree.

Informers and controllers share their ApiClient; stop them before closing it.

Usage::

    async with ApiClient.from_kubeconfig(path) as api:
        pods = await api.list(PODS, "default", label_selector="app=web")
        async for event_type, pod in api.watch(PODS, "default", resource_version=pods.resource_version):
            ...
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from client import request as rq
from client.kubeconfig import ClusterConfig, load_config, load_kubeconfig
from client.labels import Selector, selector_from_set
from client.ratelimit import TokenBucket
from client.request import DeleteOptions, ListOptions, PatchType, PropagationPolicy
from client.resources import Resource
from client.transport import DEFAULT_RETRY, RetryPolicy, Transport
from client.watch import WatchEvent, watch_events


@dataclass
class ObjectList:
    """One page (or, from ``list_all``, every page) of a list answer."""

    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str | None = None
    remaining_item_count: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


LabelSelector = str | Mapping[str, str] | Selector


def selector_text(value: LabelSelector | None) -> str | None:
    """Selectors may be text (``app=web,tier!=db``), a parsed ``Selector``, or an equality mapping
    (checked for valid label keys and values before anything is sent)."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, Selector):
        return str(value) or None
    return str(selector_from_set(value)) or None


class ApiClient:
    def __init__(self, config: ClusterConfig, *, timeout: float = 30.0, retry: RetryPolicy = DEFAULT_RETRY,
                 session: aiohttp.ClientSession | None = None, qps: float | None = None, burst: int = 10) -> None:
        """``qps``/``burst`` pace requests client-side (None: no client-side limit)."""
        self.config = config
        throttle = TokenBucket(qps, burst) if qps else None
        self.transport = Transport(config, timeout=timeout, retry=retry, session=session, throttle=throttle)

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str] | None = None, context: str | None = None,
                        **kwargs: Any) -> ApiClient:
        """From a kubeconfig (explicit path, else $KUBECONFIG, else ~/.kube/config)."""
        return cls(load_kubeconfig(path, context), **kwargs)

    @classmethod
    def from_environment(cls, path: str | os.PathLike[str] | None = None, context: str | None = None,
                         **kwargs: Any) -> ApiClient:
        """From a kubeconfig if one is named, else in-cluster credentials inside a pod, else ~/.kube/config."""
        return cls(load_config(path, context), **kwargs)

    @property
    def default_namespace(self) -> str:
        return self.config.namespace

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, req: rq.Request) -> dict[str, Any]:
        """Send any prepared request (discovery, a verb this class has no method for)."""
        return await self.transport.send_object(req)

    # -- reads -----------------------------------------------------------------------------------

    async def get(self, resource: Resource, name: str, namespace: str | None = None, *,
                  subresource: str | None = None) -> dict[str, Any]:
        return await self.transport.send_object(rq.get_request(resource, name, namespace, subresource))

    async def list(self, resource: Resource, namespace: str | None = None, *,
                   label_selector: LabelSelector | None = None, field_selector: str | None = None,
                   limit: int | None = None, continue_token: str | None = None,
                   resource_version: str | None = None, resource_version_match: str | None = None) -> ObjectList:
        """One page: all of it without ``limit``; otherwise pass ``continue_token`` on for the next."""
        opts = ListOptions(label_selector=selector_text(label_selector), field_selector=field_selector,
                           limit=limit, continue_token=continue_token, resource_version=resource_version,
                           resource_version_match=resource_version_match)
        raw = await self.transport.send_object(rq.list_request(resource, namespace, opts))
        meta = raw.get("metadata") or {}
        return ObjectList(items=list(raw.get("items") or []), resource_version=str(meta.get("resourceVersion", "")),
                          continue_token=meta.get("continue") or None,
                          remaining_item_count=meta.get("remainingItemCount"), raw=raw)

    async def list_all(self, resource: Resource, namespace: str | None = None, *,
                       label_selector: LabelSelector | None = None, field_selector: str | None = None,
                       page_size: int | None = 500, resource_version: str | None = None) -> ObjectList:
        """Every item, fetched ``page_size`` at a time; the resourceVersion is the first page's,
        which is the consistent snapshot the continue token pins the later pages to."""
        first = await self.list(resource, namespace, label_selector=label_selector, field_selector=field_selector,
                                limit=page_size, resource_version=resource_version)
        items = list(first.items)
        token = first.continue_token
        while token:
            page = await self.list(resource, namespace, label_selector=label_selector,
                                   field_selector=field_selector, limit=page_size, continue_token=token)
            items.extend(page.items)
            token = page.continue_token
        return ObjectList(items=items, resource_version=first.resource_version, raw=first.raw)

    def watch(self, resource: Resource, namespace: str | None = None, *,
              label_selector: LabelSelector | None = None, field_selector: str | None = None,
              resource_version: str | None = None, timeout_seconds: int | None = None,
              yield_bookmarks: bool = False, max_reconnects: int = 10) -> AsyncIterator[WatchEvent]:
        """Async iterator of ``WatchEvent(type, object)``; resumes on connection loss, raises
        ``Gone`` when ``resource_version`` is too old (list again, then watch from the list's)."""
        opts = ListOptions(label_selector=selector_text(label_selector), field_selector=field_selector,
                           resource_version=resource_version, timeout_seconds=timeout_seconds)
        return watch_events(self.transport, resource, namespace, opts, yield_bookmarks=yield_bookmarks,
                            max_reconnects=max_reconnects)

    # -- writes ----------------------------------------------------------------------------------

    async def create(self, resource: Resource, obj: Mapping[str, Any], namespace: str | None = None, *,
                     dry_run: bool = False, field_manager: str | None = None) -> dict[str, Any]:
        return await self.transport.send_object(rq.create_request(resource, obj, namespace, dry_run=dry_run,
                                                           field_manager=field_manager))

    async def create_subresource(self, resource: Resource, name: str, subresource: str,
                                 obj: Mapping[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """POST to ``<object>/<subresource>``: ``pods/<name>/binding``, ``pods/<name>/eviction``."""
        return await self.transport.send_object(rq.create_request(resource, obj, namespace, subresource_of=name,
                                                           subresource=subresource))

    async def update(self, resource: Resource, obj: Mapping[str, Any], namespace: str | None = None, *,
                     dry_run: bool = False, field_manager: str | None = None) -> dict[str, Any]:
        """PUT the whole object; raises ``Conflict`` when its resourceVersion is stale."""
        return await self.transport.send_object(rq.update_request(resource, obj, namespace, dry_run=dry_run,
                                                           field_manager=field_manager))

    async def update_status(self, resource: Resource, obj: Mapping[str, Any],
                            namespace: str | None = None) -> dict[str, Any]:
        """PUT to the ``/status`` subresource: only ``status`` changes, whatever the body says."""
        return await self.transport.send_object(rq.update_request(resource, obj, namespace, subresource="status"))

    async def patch(self, resource: Resource, name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: PatchType = PatchType.MERGE, subresource: str | None = None,
                    dry_run: bool = False, field_manager: str | None = None) -> dict[str, Any]:
        return await self.transport.send_object(rq.patch_request(resource, name, patch, namespace, patch_type=patch_type,
                                                          subresource=subresource, dry_run=dry_run,
                                                          field_manager=field_manager))

    async def patch_status(self, resource: Resource, name: str, patch: Any, namespace: str | None = None, *,
                           patch_type: PatchType = PatchType.MERGE) -> dict[str, Any]:
        return await self.patch(resource, name, patch, namespace, patch_type=patch_type, subresource="status")

    async def delete(self, resource: Resource, name: str, namespace: str | None = None, *,
                     propagation_policy: PropagationPolicy | str | None = None,
                     grace_period_seconds: int | None = None, preconditions_uid: str | None = None,
                     preconditions_resource_version: str | None = None,
                     dry_run: bool = False) -> dict[str, Any]:
        """Delete one object. The answer is the object (when finalizers or a grace period keep it
        around for now) or a success ``Status``."""
        opts = DeleteOptions(propagation_policy=_policy(propagation_policy),
                             grace_period_seconds=grace_period_seconds, preconditions_uid=preconditions_uid,
                             preconditions_resource_version=preconditions_resource_version, dry_run=dry_run)
        return await self.transport.send_object(rq.delete_request(resource, name, namespace, opts))

    async def delete_collection(self, resource: Resource, namespace: str | None = None, *,
                                label_selector: LabelSelector | None = None,
                                field_selector: str | None = None,
                                propagation_policy: PropagationPolicy | str | None = None,
                                grace_period_seconds: int | None = None) -> dict[str, Any]:
        list_opts = ListOptions(label_selector=selector_text(label_selector), field_selector=field_selector)
        opts = DeleteOptions(propagation_policy=_policy(propagation_policy), grace_period_seconds=grace_period_seconds)
        return await self.transport.send_object(rq.delete_collection_request(resource, namespace, list_opts, opts))


def _policy(value: PropagationPolicy | str | None) -> PropagationPolicy | None:
    if value is None or isinstance(value, PropagationPolicy):
        return value
    return PropagationPolicy(value)
