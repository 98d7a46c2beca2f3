"""GET of one object and LIST of many, with selectors, pagination and resourceVersion semantics.

resourceVersion on a list (upstream's rules, with a revision-log store underneath):

- unset or "0": the newest state;
- "N" (or resourceVersionMatch=NotOlderThan): the newest state, which is never older than N;
  N ahead of the store answers 504 "Too large resource version";
- "N" with resourceVersionMatch=Exact: the state at revision N, or 410 if compacted away.

Pagination: ``limit`` caps the items returned; the ``continue`` token records the revision of
the first page and the key to resume after, so every page reads the same snapshot. A token whose
revision has been compacted answers 410 Expired. With a selector, pages are filled by reading
further until ``limit`` matching items are found (as upstream does).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web

from apiserver import codec, errors
from apiserver.handlers.call import Call
from apiserver.object_store import object_prefix, parse_resource_version
from apiserver.rendering import render_list, render_object
from apiserver.selection import parse_selection
from apiserver.storage.interface import Compacted


def encode_continue(revision: int, start_after: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start_after}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        revision, start = int(data["rv"]), str(data["start"])
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise errors.BadRequest(f"continue key is not valid: {e}") from e
    if revision <= 0 or start.startswith("/") or ".." in start.split("/"):
        raise errors.BadRequest("continue key is not valid: bad revision or key")
    return revision, start


async def get(call: Call) -> web.Response:
    rv = call.query.get("resourceVersion", "")
    revision = 0
    if rv not in ("", "0"):
        requested = parse_resource_version(rv)
        current = await call.ctx.store.current_revision()
        if requested > current:
            raise errors.Timeout(f"Too large resource version: {requested}, current: {current}", retry_after=1)
    obj = await call.ctx.objects.get(call.rt, call.namespace, call.name, revision)
    return codec.respond(render_object(call.rt, obj, call.rendering, call.query), rendering=call.rendering)


async def list_revision(call: Call) -> int:
    """The revision a (first page of a) list reads at; 0 for the newest."""
    rv = call.query.get("resourceVersion", "")
    match = call.query.get("resourceVersionMatch", "")
    if match and rv == "":
        raise errors.BadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
    if match not in ("", "NotOlderThan", "Exact"):
        raise errors.BadRequest(f'resourceVersionMatch "{match}" is invalid: valid values are NotOlderThan, Exact')
    requested = parse_resource_version(rv) if rv else 0
    if match == "Exact":
        if requested == 0:
            raise errors.BadRequest('resourceVersionMatch "Exact" is forbidden for resourceVersion "0"')
        return requested
    if requested:
        current = await call.ctx.store.current_revision()
        if requested > current:
            raise errors.Timeout(f"Too large resource version: {requested}, current: {current}", retry_after=1)
    return 0


async def collect(call: Call, raw: bool = False) -> tuple[list[Any], int, str]:
    """The selected objects of one page, the revision read at, and the continue token ('' if done).

    With ``raw`` and no selector, the objects come as JSON bytes straight from the store.
    """
    selection = parse_selection(call.query.get("labelSelector", ""), call.query.get("fieldSelector", ""), call.rt)
    limit = call.int_param("limit", 0) or 0
    if limit < 0:
        raise errors.BadRequest("limit must not be negative")
    token = call.query.get("continue", "")
    prefix = object_prefix(call.rt, call.namespace)
    if token:
        if call.query.get("resourceVersion", "") not in ("", "0"):
            raise errors.BadRequest("specifying resource version is not allowed when using continue")
        revision, start_after = decode_continue(token)
        start = prefix + start_after + "\x00"
    else:
        revision = await list_revision(call)
        start = ""
    items: list[Any] = []  # objects, or their JSON bytes on the raw path
    last_key = ""
    rev = revision
    try:
        while True:
            page = limit - len(items) if limit else 0
            if raw and selection.everything:
                found_raw, rev, more = await call.ctx.objects.list_raw(call.rt, call.namespace, rev, start, page)
                items.extend(value for _, value in found_raw)
                found: list[Any] = found_raw
                if found_raw:
                    last_key = found_raw[-1][0]
            else:
                found, rev, more = await call.ctx.objects.list(call.rt, call.namespace, rev, start, page)
                for key, obj in found:
                    last_key = key
                    if selection.everything or selection.matches(obj):
                        items.append(obj)
            if not more or not found or (limit and len(items) >= limit):
                break
            start = last_key + "\x00"
    except Compacted as e:
        if token:
            raise errors.Gone("The provided continue parameter is too old to display a consistent list result."
                              " You can start a new list without the continue parameter.") from e
        raise
    next_token = encode_continue(rev, last_key[len(prefix):]) if limit and more else ""
    return items, rev, next_token


async def list_(call: Call) -> web.Response:
    plain = not call.rendering.as_ and not call.rendering.yaml
    items, rev, next_token = await collect(call, raw=plain)
    meta: dict[str, Any] = {"resourceVersion": str(rev)}
    if next_token:
        meta["continue"] = next_token
    if plain:
        return _raw_list(call, items, meta)
    body = render_list(call.rt, items, meta, call.rendering, call.query)
    return codec.respond(body, rendering=call.rendering)


def _raw_list(call: Call, items: list[Any], meta: dict[str, Any]) -> web.Response:
    """The list document assembled from stored JSON, parsing nothing (the big-LIST fast path)."""
    parts = [b'{"kind":', codec.dumps(call.rt.list_kind), b',"apiVersion":', codec.dumps(call.rt.api_version),
             b',"metadata":', codec.dumps(meta), b',"items":[']
    parts.append(b",".join(item if isinstance(item, bytes) else codec.dumps(item) for item in items))
    parts.append(b"]}")
    return web.Response(body=b"".join(parts), content_type=codec.JSON)
