"""The apiserver process: routing, the error boundary, start-up objects, kubeconfig, compaction.

Every request goes through one aiohttp handler: discovery and health paths are answered
directly, resource paths are parsed (``paths``), resolved (``handlers.call``) and handed to the
handler of their verb. The middleware is the one place exceptions become ``Status`` responses,
and the one place requests are logged.

At start the server opens the store, starts the watch cache, serves the CRDs already stored,
creates the system namespaces and the ``kubernetes`` Service (first IP of the service CIDR), and
writes ``<data-dir>/kubeconfig`` for kubectl. A background task compacts the store the way
upstream does: every interval, up to the revision seen at the previous interval, so watchers
always have at least one interval of history to resume from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from apiserver import allocation, codec, crds, discovery, errors
from apiserver.allocation import ItemRange, Taken
from apiserver.context import APIContext, ServerConfig
from apiserver.handlers import create, delete, read, subresources, update, watch
from apiserver.handlers.call import Call, resolve
from apiserver.kinds.registry import lookup
from apiserver.paths import parse_resource_path, split_group_version
from apiserver.storage.interface import Store, open_store
from apiserver.strategy import now_rfc3339

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
Handler = Callable[[Call], Awaitable[web.StreamResponse]]

_VERBS: dict[str, Handler] = {
    "get": read.get,
    "list": read.list_,
    "watch": watch.watch,
    "create": create.create,
    "update": update.update,
    "patch": update.patch,
    "delete": delete.delete,
    "deletecollection": delete.delete_collection,
}
# Collections whose POST is an action on another object rather than a new stored object.
_COLLECTION_CREATES: dict[tuple[str, str], Handler] = {("", "bindings"): subresources.create_binding}
_SUBRESOURCE_VERBS: dict[str, Handler] = {
    "get": subresources.get,
    "create": subresources.create,
    "update": subresources.update,
    "patch": subresources.patch,
}


@web.middleware
async def error_boundary(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) \
        -> web.StreamResponse:
    started = time.monotonic()
    try:
        response = await handler(request)
    except web.HTTPException:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        err = errors.status_for(exc)
        if err.code >= 500:
            log.error("request failed", exc_info=exc,
                      extra={"method": request.method, "path": request.path, "code": err.code})
        headers = {"Retry-After": str(err.retry_after)} if err.retry_after else None
        response = codec.respond(err.status(), status=err.code, headers=headers)
    log.debug("request", extra={"method": request.method, "path": request.path_qs, "code": response.status,
                                "ms": round((time.monotonic() - started) * 1000, 1)})
    return response


class APIServer:
    def __init__(self, config: ServerConfig, store: Store | None = None) -> None:
        self.config = config
        self._own_store = store is None
        self.store = store if store is not None else open_store(config.datastore, Path(config.data_dir))
        self.ctx = APIContext(config, self.store)
        self.app = web.Application(middlewares=[error_boundary], client_max_size=codec.MAX_BODY_BYTES + 1)
        self.app.router.add_route("*", "/{tail:.*}", self.dispatch)
        self._runner: web.AppRunner | None = None
        self._compactor: asyncio.Task[None] | None = None
        self._repairer: asyncio.Task[None] | None = None
        self.port = config.port

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        Path(self.config.data_dir).mkdir(parents=True, exist_ok=True)
        if self._own_store:
            await self.store.start()
        await self._serve_stored_crds()
        self.ctx.cache.add_listener(crds.CRD_PREFIX, crds.follow)
        await self.ctx.cache.start()
        self._runner = web.AppRunner(self.app, access_log=None, handler_cancellation=True,
                                     shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.bind, self.config.port, reuse_address=True)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        # Bound first (so the kubernetes Service knows the real port), ready only after this.
        await self._bootstrap()
        write_kubeconfig(self.config.kubeconfig_path, self.url)
        if self.config.compaction_interval > 0:
            self._compactor = asyncio.create_task(self._compact_forever(), name="compactor")
        if self.config.repair_delay > 0:
            self._repairer = asyncio.create_task(self._repair_allocations(), name="allocation-repair")
        self.ctx.ready = True
        log.info("apiserver serving", extra={"url": self.url, "datastore": self.config.datastore})

    async def close(self) -> None:
        self.ctx.ready = False
        for task in (self._compactor, self._repairer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.ctx.cache.close()  # ends watch streams, so the HTTP server can stop at once
        if self._runner is not None:
            await self._runner.cleanup()
        if self._own_store:
            await self.store.close()

    @property
    def url(self) -> str:
        host = self.config.bind
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def _serve_stored_crds(self) -> None:
        rt = lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert rt is not None
        found, _, _ = await self.ctx.objects.list(rt)
        for _, crd in found:
            crds.register(crd)

    async def _bootstrap(self) -> None:
        ns_rt = lookup("", "v1", "namespaces")
        assert ns_rt is not None
        for name in SYSTEM_NAMESPACES:
            if await self.ctx.objects.try_get(ns_rt, "", name) is not None:
                continue
            obj = {"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": name, "uid": _uid(), "creationTimestamp": now_rfc3339(),
                                "labels": {"kubernetes.io/metadata.name": name}},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
            with contextlib.suppress(errors.AlreadyExists):
                await self.ctx.objects.create(ns_rt, obj)
        await self._ensure_kubernetes_service()
        await self._ensure_kubernetes_endpoints()

    async def _ensure_kubernetes_service(self) -> None:
        svc_rt = lookup("", "v1", "services")
        assert svc_rt is not None
        if await self.ctx.objects.try_get(svc_rt, "default", "kubernetes") is not None:
            return
        ip = self.ctx.services.first_ip()
        try:
            await self.ctx.services.ips.allocate_specific(ip, "default/kubernetes")
        except Taken:
            return  # another apiserver is creating it right now
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "kubernetes", "namespace": "default", "uid": _uid(),
                            "creationTimestamp": now_rfc3339(),
                            "labels": {"component": "apiserver", "provider": "kubernetes"}},
               "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv4"],
                        "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
                        "internalTrafficPolicy": "Cluster",
                        "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                   "targetPort": self.port}]},
               "status": {"loadBalancer": {}}}
        try:
            await self.ctx.objects.create(svc_rt, svc)
        except errors.AlreadyExists:
            await self.ctx.services.ips.release(ip)

    async def _allocation_leaks(self) -> list[tuple[ItemRange, dict[str, int]]]:
        svc_rt, node_rt = lookup("", "v1", "services"), lookup("", "v1", "nodes")
        assert svc_rt is not None and node_rt is not None
        services = [o for _, o in (await self.ctx.objects.list(svc_rt))[0]]
        nodes = [o for _, o in (await self.ctx.objects.list(node_rt))[0]]
        ips, ports = allocation.services_in_use(services)
        return [
            (self.ctx.services.ips, await allocation.leaked(self.ctx.services.ips, ips)),
            (self.ctx.services.ports, await allocation.leaked(self.ctx.services.ports, ports)),
            (self.ctx.nodes.subnets, await allocation.leaked(self.ctx.nodes.subnets, allocation.cidrs_in_use(nodes))),
        ]

    async def _repair_allocations(self) -> None:
        """Free reservations a crash left without an object, seen unused twice ``repair_delay`` apart.

        A reservation is made just before its object is written, so one seen unused once may
        belong to a write in flight (here or on another apiserver); twice, with the same
        revision, it cannot.
        """
        try:
            first = await self._allocation_leaks()
            await asyncio.sleep(self.config.repair_delay)
            second = await self._allocation_leaks()
            for (rng, before), (_, after) in zip(first, second, strict=True):
                for item, revision in after.items():
                    if before.get(item) == revision:
                        await rng.release(item)
                        log.info("released leaked allocation", extra={"range": rng.prefix, "item": item})
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("allocation repair failed", extra={"error": str(e)})

    @property
    def advertise_address(self) -> str:
        if self.config.advertise_address:
            return self.config.advertise_address
        return "127.0.0.1" if self.config.bind in ("0.0.0.0", "", "::") else self.config.bind

    async def _ensure_kubernetes_endpoints(self) -> None:
        """This server's address in the ``kubernetes`` Endpoints and EndpointSlice (added, never removed)."""
        ip, port = self.advertise_address, self.port
        ep_rt, slice_rt = lookup("", "v1", "endpoints"), lookup("discovery.k8s.io", "v1", "endpointslices")
        assert ep_rt is not None and slice_rt is not None
        meta = {"name": "kubernetes", "namespace": "default", "labels": {
            "endpointslice.kubernetes.io/skip-mirror": "true"}}
        endpoints: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta,
                     "subsets": [{"addresses": [{"ip": ip}],
                                  "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}
        slice_: dict[str, Any] = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                  "metadata": {"name": "kubernetes", "namespace": "default",
                               "labels": {"kubernetes.io/service-name": "kubernetes"}},
                  "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
                  "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}

        async def add_endpoint(current: dict[str, Any]) -> dict[str, Any]:
            subset = (current.get("subsets") or [{}])[0]
            if any(a.get("ip") == ip for a in subset.get("addresses") or []):
                return current
            subset.setdefault("addresses", []).append({"ip": ip})
            current["subsets"] = [subset]
            return current

        async def add_slice_endpoint(current: dict[str, Any]) -> dict[str, Any]:
            eps = current.setdefault("endpoints", [])
            if not any(ip in (e.get("addresses") or []) for e in eps):
                eps.append({"addresses": [ip], "conditions": {"ready": True}})
            return current

        for rt, obj, fn in ((ep_rt, endpoints, add_endpoint), (slice_rt, slice_, add_slice_endpoint)):
            obj["metadata"]["uid"], obj["metadata"]["creationTimestamp"] = _uid(), now_rfc3339()
            try:
                await self.ctx.objects.create(rt, obj)
            except errors.AlreadyExists:
                await self.ctx.objects.guaranteed_update(rt, "default", "kubernetes", fn)

    async def _compact_forever(self) -> None:
        previous = await self.store.current_revision()
        while True:
            await asyncio.sleep(self.config.compaction_interval)
            try:
                target = previous
                previous = await self.store.current_revision()
                if target > await self.store.compacted_revision():
                    await self.store.compact(target)
                    log.info("compacted", extra={"revision": target})
            except Exception as e:
                log.warning("compaction failed", extra={"error": str(e)})

    # ---- routing ---------------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            return self._health(path)
        if path == "/version":
            return codec.respond(discovery.version_info())
        if path == "/api":
            return self._discovery(request, core=True)
        if path == "/apis":
            return self._discovery(request, core=False)
        if path == "/openapi/v2" or path.startswith("/openapi/v3"):
            return self._openapi(request, path)
        if path == "/":
            return codec.respond({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2",
                                            "/openapi/v3", "/readyz", "/version"]})
        watch_q = request.query.get("watch", "").lower() in ("1", "true")
        target = parse_resource_path(request.method, path, watch_q)
        if target is None:
            return self._group_discovery(path)
        call = resolve(self.ctx, request, target)
        table = _SUBRESOURCE_VERBS if target.subresource else _VERBS
        handler = table.get(target.verb)
        if target.verb == "create" and not target.subresource and not call.rt.custom:
            handler = _COLLECTION_CREATES.get((call.rt.group, call.rt.plural), handler)
        if handler is None:
            raise errors.MethodNotAllowed(f"{request.method} is not supported on {path}")
        return await handler(call)

    def _health(self, path: str) -> web.Response:
        if path.startswith("/readyz") and not self.ctx.ready:
            return web.Response(text="[-]apiserver not ready\nreadyz check failed", status=500)
        return web.Response(text="ok", content_type="text/plain")

    def _discovery(self, request: web.Request, core: bool) -> web.Response:
        version = discovery.wants_aggregated(request.headers.get("Accept", ""))
        if version:
            body = discovery.aggregated(core, version)
            response = web.Response(body=codec.dumps(body))
            response.headers["Content-Type"] = discovery.AGGREGATED_TYPE.format(v=version)
            response.headers["Vary"] = "Accept"
            return response
        if core:
            return codec.respond(discovery.api_versions(f"{request.host}"))
        return codec.respond(discovery.api_group_list())

    def _group_discovery(self, path: str) -> web.Response:
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "apis":
            group = discovery.api_group(parts[1])
            if group is None:
                raise errors.NotFound("the server could not find the requested resource")
            return codec.respond(group)
        split = split_group_version(path)
        if split is not None and not split[2]:
            resources = discovery.api_resource_list(split[0], split[1])
            if resources is not None:
                return codec.respond(resources)
        raise errors.NotFound("the server could not find the requested resource")

    def _openapi(self, request: web.Request, path: str) -> web.Response:
        from apiserver import openapi

        if path == "/openapi/v2":
            accept = request.headers.get("Accept", "")
            if accept and "json" not in accept and "*/*" not in accept:
                raise errors.NotAcceptable("only application/json is served for /openapi/v2")
            return codec.respond(openapi.openapi_v2())
        if path == "/openapi/v3":
            return codec.respond(openapi.openapi_v3_paths())
        split = split_group_version(path.removeprefix("/openapi/v3"))
        if split is None or split[2]:
            raise errors.NotFound("the server could not find the requested resource")
        doc = openapi.openapi_v3_group(split[0], split[1])
        if doc is None:
            raise errors.NotFound("the server could not find the requested resource")
        return codec.respond(doc)


def _uid() -> str:
    import uuid

    return str(uuid.uuid4())


def kubeconfig_document(server_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kybernetes", "cluster": {"server": server_url}}],
        "users": [{"name": "admin", "user": {}}],
        "contexts": [{"name": "kybernetes", "context": {"cluster": "kybernetes", "user": "admin",
                                                        "namespace": "default"}}],
        "current-context": "kybernetes",
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str) -> None:
    """Atomically (temp file, fsync, rename), so kubectl never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_dump(kubeconfig_document(server_url), sort_keys=False).encode()
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig.", dir=path.parent)
    try:
        os.write(fd, data)
        os.fchmod(fd, 0o600)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


async def run_forever(config: ServerConfig, stop: asyncio.Event) -> None:
    server = APIServer(config)
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.close()
