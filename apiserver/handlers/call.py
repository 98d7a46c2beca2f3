"""One resource request, resolved: its type, scope, verb, options and the shape to answer in.

Everything a verb handler needs to know about the request is checked here once (the type
exists, the scope fits, the verb and subresource are served, query options are well formed),
so the handlers hold only the behaviour of their verb.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from apiserver import codec, errors
from apiserver.context import APIContext
from apiserver.kinds.registry import ResourceType, lookup
from apiserver.openapi.typecheck import decode_error_message
from apiserver.paths import ResourceRequest

FIELD_VALIDATION = ("Strict", "Warn", "Ignore")
MAX_FIELD_MANAGER = 128


@dataclass
class Call:
    ctx: APIContext
    request: web.Request
    target: ResourceRequest
    rt: ResourceType
    rendering: codec.Rendering

    @property
    def query(self) -> Any:
        return self.request.query

    @property
    def namespace(self) -> str:
        return self.target.namespace

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def dry_run(self) -> bool:
        values = self.request.query.getall("dryRun", [])
        for v in values:
            if v != "All":
                raise errors.BadRequest(f'unsupported dry run value "{v}"; the only supported value is "All"')
        return bool(values)

    @property
    def field_validation(self) -> str:
        value = self.request.query.get("fieldValidation", "") or "Warn"
        if value not in FIELD_VALIDATION:
            raise errors.BadRequest(f'fieldValidation "{value}" is invalid: valid values are Strict, Warn,'
                                    ' Ignore')
        return value

    @property
    def field_manager(self) -> str:
        """Who is writing: ``fieldManager``, else the program name in the User-Agent (upstream's rule)."""
        given = self.request.query.get("fieldManager", "")
        if len(given) > MAX_FIELD_MANAGER:
            raise errors.BadRequest(f"fieldManager: Too long: may not be more than {MAX_FIELD_MANAGER} bytes")
        if given:
            return given
        agent = self.request.headers.get("User-Agent", "")
        return agent.split("/", 1)[0][:MAX_FIELD_MANAGER]

    def int_param(self, name: str, default: int | None = None) -> int | None:
        raw = self.request.query.get(name)
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except ValueError as e:
            raise errors.BadRequest(f'invalid value for {name}: "{raw}" is not an integer') from e

    def bool_param(self, name: str) -> bool:
        return self.request.query.get(name, "").lower() in ("1", "true", "yes")

    def not_found(self, name: str | None = None) -> errors.NotFound:
        return errors.not_found(self.rt.plural, self.rt.group, name if name is not None else self.name)


def resolve(ctx: APIContext, request: web.Request, target: ResourceRequest) -> Call:
    rt = lookup(target.group, target.version, target.plural)
    if rt is None:
        raise errors.NotFound("the server could not find the requested resource")
    if target.namespace and not rt.namespaced:
        raise errors.NotFound("the server could not find the requested resource")
    if target.subresource and target.subresource not in rt.subresources:
        raise errors.NotFound("the server could not find the requested resource")
    verb = target.verb
    if not target.subresource and verb not in rt.verbs:
        raise errors.MethodNotAllowed(f'the server does not allow this method on the requested resource'
                                      f' ({verb} {rt.resource})')
    if verb == "create" and rt.namespaced and not target.namespace and not target.subresource:
        raise errors.MethodNotAllowed(f"{rt.resource} must be created in a namespace:"
                                      f" POST {rt.api_prefix}/namespaces/<namespace>/{rt.plural}")
    rendering = codec.negotiate(request.headers.get("Accept", ""))
    return Call(ctx, request, target, rt, rendering)


async def read_object(call: Call, expect_api_version: str = "", expect_kind: str = "") -> dict[str, Any]:
    """The body as an object of the expected kind; a missing apiVersion/kind is filled in."""
    raw = await codec.read_body(call.request)
    obj = codec.decode_object(raw, codec.content_type_of(call.request))
    api_version = expect_api_version or call.rt.api_version
    kind = expect_kind or call.rt.kind
    check_type(obj, api_version, kind)
    if not expect_kind:
        # A value of the wrong JSON type is a body that does not decode (400), not an invalid object.
        message = decode_error_message(call.rt, obj)
        if message is not None:
            raise errors.BadRequest(message)
    return obj


def check_type(obj: dict[str, Any], api_version: str, kind: str) -> None:
    have_version, have_kind = obj.get("apiVersion"), obj.get("kind")
    if have_kind and have_kind != kind:
        raise errors.BadRequest(f"the kind in the request body ({have_kind}) does not match the kind of the"
                                f" resource ({kind})")
    if have_version and have_version != api_version:
        raise errors.BadRequest(f"the API version in the data ({have_version}) does not match the expected"
                                f" API version ({api_version})")
    obj["apiVersion"], obj["kind"] = api_version, kind
    meta = obj.get("metadata")
    if meta is None:
        obj["metadata"] = {}
    elif not isinstance(meta, dict):
        raise errors.BadRequest("metadata must be an object")
