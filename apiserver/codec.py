"""Request bodies in, response bodies out: JSON or YAML, size limits, and the Accept header.

Bodies are read with a hard limit (upstream's 3 MiB) before any parsing, so a huge body costs
nothing but the bytes read. Objects are plain dicts end to end; JSON is what is stored and what
is served, YAML is accepted (and served when asked for) because people write manifests in it.

``Accept`` negotiation only has to tell apart the shapes kubectl and client-go ask for: the
object itself, a ``Table`` (``as=Table;g=meta.k8s.io;v=v1``), ``PartialObjectMetadata`` and
the aggregated discovery document.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml
from aiohttp import web

from apiserver import protobuf
from apiserver.errors import BadRequest, NotAcceptable, RequestEntityTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 3 * 1024 * 1024

JSON = "application/json"
YAML = "application/yaml"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


@dataclass(frozen=True)
class MediaType:
    type: str
    params: dict[str, str] = field(default_factory=dict)

    def wants(self, as_: str, group: str) -> bool:
        return self.params.get("as") == as_ and self.params.get("g") == group


def parse_media_types(header: str) -> list[MediaType]:
    """The media ranges of an Accept header, in the order given (kube ignores q-values too)."""
    out = []
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        bits = [b.strip() for b in item.split(";")]
        params = {}
        for b in bits[1:]:
            k, _, v = b.partition("=")
            params[k.strip().lower()] = v.strip().strip('"')
        out.append(MediaType(bits[0].lower(), params))
    return out


@dataclass(frozen=True)
class Rendering:
    """What shape and encoding the client asked for."""

    as_: str = ""  # "", "Table", "PartialObjectMetadata", "PartialObjectMetadataList"
    version: str = "v1"  # version of meta.k8s.io for Table/PartialObjectMetadata
    yaml: bool = False


def negotiate(accept: str) -> Rendering:
    """Pick the first Accept entry we can serve; 406 when none is servable."""
    if not accept:
        return Rendering()
    for mt in parse_media_types(accept):
        if mt.type not in (JSON, YAML, "*/*", "application/*"):
            continue
        as_ = mt.params.get("as", "")
        is_yaml = mt.type == YAML
        if not as_:
            return Rendering(yaml=is_yaml)
        if mt.params.get("g") == "meta.k8s.io" and as_ in ("Table", "PartialObjectMetadata",
                                                           "PartialObjectMetadataList"):
            version = mt.params.get("v", "v1")
            if version in ("v1", "v1beta1"):
                return Rendering(as_=as_, version=version, yaml=is_yaml)
    if any(mt.type.startswith("application/vnd.kubernetes.protobuf") for mt in parse_media_types(accept)):
        raise NotAcceptable("only the following media types are accepted: application/json, application/yaml")
    raise NotAcceptable("only the following media types are accepted: application/json, application/yaml")


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refusing anything over ``limit`` with 413 before reading it all."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"the request body is too large ({request.content_length} bytes;"
                                    f" the limit is {limit})")
    chunks = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge(f"the request body is too large (over {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def content_type_of(request: web.Request) -> str:
    return request.headers.get("Content-Type", JSON).split(";")[0].strip().lower() or JSON


def decode_document(raw: bytes, content_type: str) -> Any:
    """Parse a JSON or YAML body (any JSON value); 400 with the parser's complaint when malformed."""
    if not raw.strip():
        raise BadRequest("the request body is empty")
    if content_type in (JSON, MERGE_PATCH, JSON_PATCH, STRATEGIC_MERGE_PATCH, "*/*", ""):
        try:
            return json.loads(raw, object_pairs_hook=_reject_duplicates)
        except _DuplicateField as e:
            raise BadRequest(f'json: duplicate field "{e.args[0]}"') from e
        except (ValueError, UnicodeDecodeError) as e:
            # Tolerate YAML-in-JSON clients the way upstream's decoder does not: stay strict.
            raise BadRequest(f"the body of the request was in an unknown format: {e}") from e
    if content_type == protobuf.CONTENT_TYPE:
        try:
            return protobuf.decode_object(raw)
        except (protobuf.ProtobufError, UnicodeDecodeError) as e:
            raise UnsupportedMediaType(f"the protobuf body could not be decoded: {e}") from e
    if content_type in (YAML, "application/x-yaml", "text/yaml", APPLY_PATCH):
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise BadRequest(f"error converting YAML to JSON: {e}") from e
    raise UnsupportedMediaType(f"the body of the request was in an unknown format - accepted media types"
                               f" include: {JSON}, {YAML} (got {content_type!r})")


def decode_object(raw: bytes, content_type: str) -> dict[str, Any]:
    doc = decode_document(raw, content_type)
    if not isinstance(doc, dict):
        raise BadRequest("the body of the request must be an object")
    return doc


class _DuplicateField(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateField(k)
        out[k] = v
    return out


T = TypeVar("T")


def clone(obj: T) -> T:
    """A deep copy of a JSON-shaped value (dicts, lists, strings, numbers, bools, None).

    Every write copies whole objects a few times (the body kept for a retry, the stored object
    kept to compare against); a pickle round trip does that in C, about twice as fast as
    ``copy.deepcopy``, which matters once objects carry their managedFields.
    """
    result: T = pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
    return result


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def respond(obj: Any, status: int = 200, rendering: Rendering | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    if rendering is not None and rendering.yaml:
        body = yaml.safe_dump(obj, sort_keys=False).encode()
        return web.Response(body=body, status=status, content_type=YAML, headers=headers)
    return web.Response(body=dumps(obj), status=status, content_type=JSON, headers=headers)
