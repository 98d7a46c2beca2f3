"""WATCH: a chunked stream of JSON events, one per line, from the watch cache.

Where a watch starts (upstream's rules):

- resourceVersion unset or "0": synthetic ADDED events for every selected object that exists
  now, then changes after that state;
- resourceVersion "N": every change after revision N (nothing synthetic); a compacted N
  answers with one ERROR event carrying a 410 Expired Status, and the stream ends;
- ``sendInitialEvents=true`` (the streaming-list form): the synthetic ADDED events, then a
  BOOKMARK annotated ``k8s.io/initial-events-end``.

BOOKMARK events (only when ``allowWatchBookmarks``) carry just a resourceVersion, so an idle
client can resume from a recent revision after a disconnect instead of re-listing. The stream
ends after ``timeoutSeconds`` (or the server's maximum), as upstream's does; clients re-watch.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from apiserver import codec, errors
from apiserver.handlers.call import Call
from apiserver.object_store import object_prefix, parse_resource_version, type_prefix
from apiserver.rendering import include_object, table
from apiserver.selection import Selection, classify, parse_selection
from apiserver.storage.interface import Compacted
from apiserver.stored_versions import converted, from_storage
from apiserver.watch_cache import CachedEvent
from client.fields import FieldRequirement, FieldSelector

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _selection(call: Call) -> Selection:
    selection = parse_selection(call.query.get("labelSelector", ""), call.query.get("fieldSelector", ""), call.rt)
    if call.name:  # /watch/namespaces/ns/pods/name: the legacy single-object form
        fields = FieldSelector([*selection.fields.requirements, FieldRequirement("metadata.name", "=", call.name)])
        selection = Selection(selection.labels, fields)
    return selection


class _EventWriter:
    def __init__(self, call: Call, response: web.StreamResponse) -> None:
        self.call = call
        self.response = response
        self.as_table = call.rendering.as_ == "Table"
        self.include = include_object(call.query) if self.as_table else ""
        # Events sent as stored (no Table, no apiVersion rewrite, no conversion) reuse shared bytes.
        self.verbatim = not self.as_table and not call.rt.custom and not converted(call.rt)

    def _shape(self, obj: dict[str, Any]) -> dict[str, Any]:
        rt = self.call.rt
        if rt.custom and obj.get("apiVersion") != rt.api_version:
            obj = {**obj, "apiVersion": rt.api_version}
        if self.as_table:
            return table(rt, [obj], self.call.rendering, self.include,
                         {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")})
        return obj

    async def send(self, event_type: str, obj: dict[str, Any]) -> None:
        if event_type not in ("BOOKMARK", "ERROR"):
            obj = self._shape(obj)
        await self.response.write(codec.dumps({"type": event_type, "object": obj}) + b"\n")

    async def send_cached(self, event_type: str, ev: CachedEvent) -> None:
        await self.response.write(b'{"type":"%s","object":%s}\n' % (event_type.encode(), ev.object_json()))

    async def bookmark(self, revision: int, initial_end: bool = False) -> None:
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        await self.send("BOOKMARK", {"kind": self.call.rt.kind, "apiVersion": self.call.rt.api_version,
                                     "metadata": meta})


async def watch(call: Call) -> web.StreamResponse:
    selection = _selection(call)
    timeout = call.int_param("timeoutSeconds", 0) or call.ctx.config.max_watch_seconds
    bookmarks = call.bool_param("allowWatchBookmarks")
    send_initial = call.query.get("sendInitialEvents", "")
    rv = call.query.get("resourceVersion", "")
    if send_initial not in ("", "true", "false"):
        raise errors.BadRequest(f'invalid sendInitialEvents "{send_initial}"')
    if send_initial and call.query.get("resourceVersionMatch", "") != "NotOlderThan":
        raise errors.Invalid("sendInitialEvents requires resourceVersionMatch=NotOlderThan")
    initial = rv in ("", "0") if not send_initial else send_initial == "true"
    after = parse_resource_version(rv) if rv not in ("", "0") else 0
    initial_objects: list[dict[str, Any]] = []
    if initial:
        found, after, _ = await call.ctx.objects.list(call.rt, call.namespace)
        initial_objects = [o for _, o in found if selection.everything or selection.matches(o)]
    elif rv in ("", "0"):
        after = await call.ctx.store.current_revision()

    response = web.StreamResponse(status=200, headers={"Content-Type": codec.JSON,
                                                       "Cache-Control": "no-cache, private"})
    response.enable_chunked_encoding()
    await response.prepare(call.request)
    writer = _EventWriter(call, response)
    compacted = await call.ctx.store.compacted_revision()
    if after < compacted:
        # History after ``after`` is gone even if the cache still holds it: the client must
        # re-list, as it would against etcd directly.
        await writer.send("ERROR", errors.too_old(after, compacted).status())
        await response.write_eof()
        return response
    stream = call.ctx.cache.open_stream(type_prefix(call.rt), object_prefix(call.rt, call.namespace), after)
    convert = converted(call.rt)
    deadline = time.monotonic() + timeout
    interval = call.ctx.config.bookmark_interval
    last_sent = after
    try:
        for obj in initial_objects:
            await writer.send("ADDED", obj)
        if send_initial == "true":
            await writer.bookmark(after, initial_end=True)
        next_bookmark = time.monotonic() + interval
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            ev = await stream.get(max(0.0, min(deadline, next_bookmark) - now))
            if ev is None:
                if stream.ended:
                    if isinstance(stream.error, Compacted):
                        status = errors.too_old(after, stream.error.compact_revision).status()
                        await writer.send("ERROR", status)
                    elif stream.error is not None:
                        await writer.send("ERROR", errors.status_for(stream.error).status())
                    break
                if bookmarks and time.monotonic() >= next_bookmark:
                    progress = max(last_sent, call.ctx.cache.progress if stream.cached else last_sent)
                    await writer.bookmark(progress)
                    last_sent = progress
                    next_bookmark = time.monotonic() + interval
                continue
            obj, prev = ev.obj, ev.prev
            if convert:
                obj = from_storage(call.rt, obj)
                prev = from_storage(call.rt, prev) if prev is not None else None
            event_type = classify(ev.type, obj, prev, selection)
            last_sent = ev.revision
            if event_type is not None:
                if writer.verbatim:
                    await writer.send_cached(event_type, ev)
                else:
                    await writer.send(event_type, obj)
    except ConnectionResetError:
        pass
    finally:
        stream.close()
    try:
        await response.write_eof()
    except (ConnectionResetError, RuntimeError):
        pass
    return response
