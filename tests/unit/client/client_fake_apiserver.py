"""An in-process aiohttp server that behaves like the parts of the Kubernetes API the client uses.

It keeps objects in memory with a global revision counter (the resourceVersion), an event log
for watches, and a compaction mark below which watches and continue tokens answer 410. On top
of the honest behaviour it can misbehave on demand, which the real apiserver cannot be made to
do reliably: fail the next requests with 429/5xx (with ``Retry-After``), drop a connection
without answering, cut every open watch stream, or send a bookmark.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from client.api import ApiClient
from client.fields import parse_field_selector
from client.kubeconfig import ClusterConfig
from client.labels import parse_selector
from client.transport import RetryPolicy

Obj = dict[str, Any]

KINDS = {"pods": ("v1", "Pod", True), "nodes": ("v1", "Node", False), "configmaps": ("v1", "ConfigMap", True),
         "events": ("v1", "Event", True), "leases": ("coordination.k8s.io/v1", "Lease", True),
         "deployments": ("apps/v1", "Deployment", True), "replicasets": ("apps/v1", "ReplicaSet", True)}

_DROP = object()


@dataclass
class Fault:
    status: int = 0  # 0: drop the connection without an answer; -1: cut it halfway through the answer
    retry_after: int | None = None
    only: Callable[[web.Request], bool] | None = None


@dataclass
class _Watcher:
    plural: str
    namespace: str
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)


def status(code: int, reason: str, message: str, **details: Any) -> Obj:
    out: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
                "reason": reason, "code": code}
    if details:
        out["details"] = details
    return out


def apply_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = apply_merge_patch(out.get(k), v)
    return out


class FakeApiServer:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}  # (plural, namespace, name)
        self.log: list[tuple[int, str, str, Obj]] = []  # (revision, type, plural, object)
        self.revision = 100
        self.compacted = 0
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, Any]] = []  # (method, path?query, body)
        self.watchers: list[_Watcher] = []
        self.watch_connects = 0
        self._server: TestServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeApiServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for w in self.watchers:
            w.queue.put_nowait(None)
        assert self._server is not None
        await self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def client(self, **kwargs: Any) -> ApiClient:
        kwargs.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05))
        kwargs.setdefault("timeout", 5.0)
        return ApiClient(ClusterConfig(server=self.url), **kwargs)

    # -- test controls ---------------------------------------------------------------------------

    def fail_next(self, count: int, status_code: int = 0, retry_after: int | None = None,
                  only: Callable[[web.Request], bool] | None = None) -> None:
        self.faults.extend(Fault(status_code, retry_after, only) for _ in range(count))

    def drop_watches(self) -> None:
        for w in list(self.watchers):
            w.queue.put_nowait(_DROP)

    def bookmark(self) -> None:
        """Send every watcher a BOOKMARK at the current revision."""
        for w in self.watchers:
            w.queue.put_nowait(("BOOKMARK", {"kind": "Pod", "apiVersion": "v1",
                                             "metadata": {"resourceVersion": str(self.revision)}}))

    def compact(self) -> None:
        """Forget history: watches and continue tokens from before now answer 410."""
        self.compacted = self.revision
        self.log = []

    def put(self, plural: str, obj: Obj) -> Obj:
        """Create or replace an object server-side (as another client would), notifying watchers."""
        meta = obj.setdefault("metadata", {})
        api_version, kind, namespaced = KINDS[plural]
        obj.setdefault("apiVersion", api_version)
        obj.setdefault("kind", kind)
        ns = meta.get("namespace", "") if namespaced else ""
        key = (plural, ns, meta["name"])
        existed = key in self.objects
        meta.setdefault("uid", str(uuid.uuid4()))
        self._commit(plural, key, obj, "MODIFIED" if existed else "ADDED")
        return obj

    def remove(self, plural: str, namespace: str, name: str) -> None:
        obj = self.objects.pop((plural, namespace, name))
        self.revision += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self._notify(plural, "DELETED", obj)

    # -- internals -------------------------------------------------------------------------------

    def _commit(self, plural: str, key: tuple[str, str, str], obj: Obj, event: str) -> Obj:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self.objects[key] = obj
        self._notify(plural, event, obj)
        return obj

    def _notify(self, plural: str, event: str, obj: Obj) -> None:
        snapshot = copy.deepcopy(obj)
        self.log.append((self.revision, event, plural, snapshot))
        for w in self.watchers:
            if w.plural == plural and (not w.namespace or w.namespace == snapshot["metadata"].get("namespace")):
                w.queue.put_nowait((event, snapshot))

    def _parse(self, path: str) -> tuple[str, str, str, str]:
        parts = [p for p in path.split("/") if p]
        parts = parts[2:] if parts[0] == "api" else parts[3:]
        ns = ""
        if len(parts) >= 2 and parts[0] == "namespaces" and parts[1] and len(parts) > 2:
            ns, parts = parts[1], parts[2:]
        plural = parts[0]
        name = parts[1] if len(parts) > 1 else ""
        sub = parts[2] if len(parts) > 2 else ""
        return plural, ns, name, sub

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path_qs, body))
        for fault in list(self.faults):
            if fault.only is None or fault.only(request):
                self.faults.remove(fault)
                if fault.status == 0:
                    assert request.transport is not None
                    request.transport.close()
                    return web.Response()
                if fault.status == -1:
                    partial = web.StreamResponse(headers={"Content-Type": "application/json"})
                    partial.content_length = 1000
                    await partial.prepare(request)
                    await partial.write(b'{"kind": "Pod", "meta')
                    assert request.transport is not None
                    request.transport.close()
                    return partial
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                reason = {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(fault.status, "InternalError")
                return web.json_response(status(fault.status, reason, "injected failure"),
                                         status=fault.status, headers=headers)
        plural, ns, name, sub = self._parse(request.path)
        if plural not in KINDS:
            return web.json_response(status(404, "NotFound", "the server could not find the requested resource"),
                                     status=404)
        if request.method == "GET" and not name and request.query.get("watch") in ("true", "1"):
            return await self._watch(request, plural, ns)
        handler = {"GET": self._get_or_list, "POST": self._create, "PUT": self._update,
                   "PATCH": self._patch, "DELETE": self._delete}[request.method]
        return await handler(request, plural, ns, name, sub, body)

    def _matching(self, request: web.Request, plural: str, ns: str) -> list[Obj]:
        labels = parse_selector(request.query.get("labelSelector", ""))
        fields = parse_field_selector(request.query.get("fieldSelector", ""))
        out = []
        for (p, o_ns, _), obj in sorted(self.objects.items()):
            if p != plural or (ns and o_ns != ns):
                continue
            if labels.matches(obj["metadata"].get("labels")) and fields.matches(obj):
                out.append(obj)
        return out

    async def _get_or_list(self, request: web.Request, plural: str, ns: str, name: str, sub: str,
                           body: Any) -> web.Response:
        if name:
            obj = self.objects.get((plural, ns, name))
            if obj is None:
                return web.json_response(status(404, "NotFound", f'{plural} "{name}" not found', name=name,
                                                kind=plural), status=404)
            return web.json_response(obj)
        items = self._matching(request, plural, ns)
        list_rv = str(self.revision)
        start = 0
        token = request.query.get("continue")
        if token:
            decoded = json.loads(base64.b64decode(token))
            if decoded["rv"] < self.compacted:
                return web.json_response(status(410, "Expired", "The provided continue parameter is too old"),
                                         status=410)
            start, list_rv = decoded["start"], str(decoded["rv"])
        limit = int(request.query.get("limit", "0") or 0)
        page = items[start:start + limit] if limit else items[start:]
        meta: Obj = {"resourceVersion": list_rv}
        if limit and start + limit < len(items):
            meta["continue"] = base64.b64encode(json.dumps({"rv": int(list_rv), "start": start + limit})
                                                .encode()).decode()
            meta["remainingItemCount"] = len(items) - start - limit
        api_version, kind, _ = KINDS[plural]
        return web.json_response({"kind": f"{kind}List", "apiVersion": api_version, "metadata": meta,
                                  "items": page})

    async def _create(self, request: web.Request, plural: str, ns: str, name: str, sub: str,
                      body: Any) -> web.Response:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if KINDS[plural][2]:
            meta["namespace"] = ns
        key = (plural, ns, meta.get("name", ""))
        if key in self.objects:
            return web.json_response(status(409, "AlreadyExists", f'{plural} "{key[2]}" already exists',
                                            name=key[2], kind=plural), status=409)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
        return web.json_response(self._commit(plural, key, obj, "ADDED"), status=201)

    def _conflict(self, plural: str, name: str) -> web.Response:
        return web.json_response(status(409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}": '
                                         "the object has been modified", name=name, kind=plural), status=409)

    async def _update(self, request: web.Request, plural: str, ns: str, name: str, sub: str,
                      body: Any) -> web.Response:
        key = (plural, ns, name)
        current = self.objects.get(key)
        if current is None:
            return web.json_response(status(404, "NotFound", f'{plural} "{name}" not found'), status=404)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            return self._conflict(plural, name)
        if sub == "status":
            new = copy.deepcopy(current)
            new["status"] = copy.deepcopy(body.get("status"))
        else:
            new = copy.deepcopy(body)
            new["metadata"]["uid"] = current["metadata"]["uid"]
            new.pop("status", None)
            if "status" in current:
                new["status"] = current["status"]
        return web.json_response(self._commit(plural, key, new, "MODIFIED"))

    async def _patch(self, request: web.Request, plural: str, ns: str, name: str, sub: str,
                     body: Any) -> web.Response:
        key = (plural, ns, name)
        current = self.objects.get(key)
        if current is None:
            return web.json_response(status(404, "NotFound", f'{plural} "{name}" not found'), status=404)
        if request.content_type == "application/json-patch+json":
            return web.json_response(status(415, "UnsupportedMediaType", "json patch not emulated"), status=415)
        new = apply_merge_patch(current, body)
        return web.json_response(self._commit(plural, key, new, "MODIFIED"))

    async def _delete(self, request: web.Request, plural: str, ns: str, name: str, sub: str,
                      body: Any) -> web.Response:
        if not name:
            victims = self._matching(request, plural, ns)
            for obj in victims:
                self.remove(plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            api_version, kind, _ = KINDS[plural]
            return web.json_response({"kind": f"{kind}List", "apiVersion": api_version,
                                      "metadata": {"resourceVersion": str(self.revision)}, "items": victims})
        key = (plural, ns, name)
        current = self.objects.get(key)
        if current is None:
            return web.json_response(status(404, "NotFound", f'{plural} "{name}" not found'), status=404)
        pre = (body or {}).get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != current["metadata"]["uid"]:
            return self._conflict(plural, name)
        self.remove(plural, ns, name)
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success",
                                  "details": {"name": name, "kind": plural, "uid": current["metadata"]["uid"]}})

    async def _watch(self, request: web.Request, plural: str, ns: str) -> web.StreamResponse:
        self.watch_connects += 1
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        bookmarks = request.query.get("allowWatchBookmarks") == "true"
        rv_text = request.query.get("resourceVersion", "")
        timeout = float(request.query.get("timeoutSeconds", "0") or 0) or None

        async def send(event: str, obj: Obj) -> None:
            await resp.write(json.dumps({"type": event, "object": obj}).encode() + b"\n")

        watcher = _Watcher(plural, ns)
        if rv_text and rv_text != "0" and int(rv_text) < self.compacted:
            await send("ERROR", status(410, "Expired", f"too old resource version: {rv_text} ({self.compacted})"))
            return resp
        if rv_text and rv_text != "0":
            for rev, event, p, obj in self.log:
                if rev > int(rv_text) and p == plural and (not ns or obj["metadata"].get("namespace") == ns):
                    await send(event, obj)
        else:
            for obj in self._matching(request, plural, ns):
                await send("ADDED", obj)
        self.watchers.append(watcher)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout if timeout else None
            while True:
                remaining = None if deadline is None else deadline - loop.time()
                if remaining is not None and remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), remaining)
                except TimeoutError:
                    break
                if item is None:
                    break
                if item is _DROP:
                    assert request.transport is not None
                    request.transport.close()
                    return resp
                event, obj = item
                if event == "BOOKMARK" and not bookmarks:
                    continue
                await send(event, obj)
        except ConnectionResetError:
            return resp  # the client went away
        finally:
            self.watchers.remove(watcher)
        try:
            await resp.write_eof()
        except ConnectionResetError:
            pass
        return resp
