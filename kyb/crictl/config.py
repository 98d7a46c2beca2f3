"""Pod and container config files, read the way crictl reads them.

crictl's `runp pod-config.json` and `create POD container-config.json pod-config.json` take the
CRI messages `PodSandboxConfig` and `ContainerConfig` as JSON or YAML documents with the proto
field names (`log_directory`, `linux: {security_context: ...}`). We parse with protobuf's JSON
mapping, which accepts both those names and the lowerCamelCase ones (`logDirectory`). A field the
message does not have is skipped, as crictl skips it (a file written for a newer CRI, or for
another tool, still works), but never silently: each one is reported as a warning naming it and
where it is, so a typo is seen. A value of the wrong type, or an enum name that does not exist,
is an error. crictl's own checks follow: metadata with a name (and a namespace for pods) must be
there, a pod without a uid gets a random one, a container must name its image, and
`user_specified_image` defaults to that image.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from cri import api_pb2


class ConfigError(ValueError):
    """A config file cannot be used; the message names the file and what is wrong."""


M = TypeVar("M", bound=Message)
Warn = Callable[[str], None]


def warn_on_stderr(message: str) -> None:
    print(f"kyb cri: warning: {message}", file=sys.stderr)


def _read_document(path: str, what: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: not found") from None
    except OSError as e:
        raise ConfigError(f"{what} {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{what} {path}: not UTF-8 text (byte {e.start}): not a JSON or YAML file") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{what} {path}: not valid JSON or YAML{where}: {problem}") from e
    if not isinstance(document, dict):
        raise ConfigError(f"{what} {path}: want a JSON/YAML object, got {type(document).__name__}")
    return document


def known_fields_only(document: Any, descriptor: Descriptor, where: str = "") -> tuple[Any, list[str]]:
    """The document without the keys ``descriptor`` has no field for (at any depth), and the
    dotted paths of those keys. Values are left as they are: their types are the parser's job."""
    if not isinstance(document, dict):
        return document, []
    fields = {**{f.json_name: f for f in descriptor.fields}, **descriptor.fields_by_name}
    kept: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in document.items():
        path = f"{where}.{key}" if where else str(key)
        field = fields.get(key)
        if field is None:
            unknown.append(path)
            continue
        kept[key], below = _known_in_value(value, field, path)
        unknown.extend(below)
    return kept, unknown


def _known_in_value(value: Any, field: Any, path: str) -> tuple[Any, list[str]]:
    message = field.message_type
    if message is None:
        return value, []
    if message.GetOptions().map_entry:  # the keys are the map's; only message values have fields
        inner = message.fields_by_name["value"].message_type
        if inner is None or not isinstance(value, dict):
            return value, []
        pairs = {k: known_fields_only(v, inner, f"{path}.{k}") for k, v in value.items()}
        return {k: kept for k, (kept, _) in pairs.items()}, [u for _, found in pairs.values() for u in found]
    if field.is_repeated:
        if not isinstance(value, list):
            return value, []
        items = [known_fields_only(item, message, f"{path}[{i}]") for i, item in enumerate(value)]
        return [kept for kept, _ in items], [u for _, found in items for u in found]
    return known_fields_only(value, message, path)


def parse_message(document: dict[str, Any], message_type: type[M], what: str, warn: Warn = warn_on_stderr) -> M:
    """Fill a CRI message from a parsed document: unknown fields are skipped with a warning
    each, wrong types are errors."""
    message = message_type()
    # YAML may produce dates and other non-JSON types: round-trip through JSON first so the
    # protobuf parser sees exactly what a JSON file would give it.
    plain = json.loads(json.dumps(document, default=str))
    known, unknown = known_fields_only(plain, message_type.DESCRIPTOR)
    for path in unknown:
        warn(f"{what}: ignoring unknown field {path!r}")
    try:
        json_format.ParseDict(known, message, ignore_unknown_fields=False)
    except json_format.ParseError as e:
        first = str(e).split("\n", 1)[0]
        first = first.split(" Available Fields", 1)[0].strip()
        raise ConfigError(f"{what}: {first}") from e
    return message


def load_pod_config(path: str, warn: Warn = warn_on_stderr) -> api_pb2.PodSandboxConfig:
    """Read a PodSandboxConfig file and apply crictl's checks and defaults."""
    what = f"pod config {path}"
    config = parse_message(_read_document(path, "pod config"), api_pb2.PodSandboxConfig, what, warn)
    if not config.HasField("metadata"):
        raise ConfigError(f"{what}: metadata is not set")
    if not config.metadata.uid:
        config.metadata.uid = str(uuid.uuid4())
    if not config.metadata.name or not config.metadata.namespace:
        raise ConfigError(f"{what}: metadata needs both name and namespace")
    return config


def load_container_config(path: str, warn: Warn = warn_on_stderr) -> api_pb2.ContainerConfig:
    """Read a ContainerConfig file and apply crictl's checks and defaults."""
    what = f"container config {path}"
    config = parse_message(_read_document(path, "container config"), api_pb2.ContainerConfig, what, warn)
    if not config.HasField("metadata"):
        raise ConfigError(f"{what}: metadata is not set")
    if not config.metadata.name:
        raise ConfigError(f"{what}: metadata.name is not set")
    if not config.HasField("image") or not config.image.image:
        raise ConfigError(f"{what}: image.image is not set")
    if not config.image.user_specified_image:
        config.image.user_specified_image = config.image.image
    return config
