"""Pod and container config files, read the way crictl reads them.

crictl's `runp pod-config.json` and `create POD container-config.json pod-config.json` take the
CRI messages `PodSandboxConfig` and `ContainerConfig` as JSON or YAML documents with the proto
field names (`log_directory`, `linux: {security_context: ...}`). We parse with protobuf's JSON
mapping, which accepts both those names and the lowerCamelCase ones (`logDirectory`), and which
refuses fields the message does not have: a typo is an error naming the field and where it is,
never a silently ignored setting. crictl's own checks follow: metadata with a name (and a
namespace for pods) must be there, a pod without a uid gets a random one, a container must name
its image, and `user_specified_image` defaults to that image.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeVar

import yaml
from google.protobuf import json_format
from google.protobuf.message import Message

from cri import api_pb2


class ConfigError(ValueError):
    """A config file cannot be used; the message names the file and what is wrong."""


M = TypeVar("M", bound=Message)


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


def parse_message(document: dict[str, Any], message_type: type[M], what: str) -> M:
    """Fill a CRI message from a parsed document; unknown fields and wrong types are errors."""
    message = message_type()
    try:
        # YAML may produce dates and other non-JSON types: round-trip through JSON first so the
        # protobuf parser sees exactly what a JSON file would give it.
        json_format.ParseDict(
            json.loads(json.dumps(document, default=str)), message, ignore_unknown_fields=False
        )
    except json_format.ParseError as e:
        first = str(e).split("\n", 1)[0]
        first = first.split(" Available Fields", 1)[0].strip()
        raise ConfigError(f"{what}: {first}") from e
    return message


def load_pod_config(path: str) -> api_pb2.PodSandboxConfig:
    """Read a PodSandboxConfig file and apply crictl's checks and defaults."""
    what = f"pod config {path}"
    config = parse_message(_read_document(path, "pod config"), api_pb2.PodSandboxConfig, what)
    if not config.HasField("metadata"):
        raise ConfigError(f"{what}: metadata is not set")
    if not config.metadata.uid:
        config.metadata.uid = str(uuid.uuid4())
    if not config.metadata.name or not config.metadata.namespace:
        raise ConfigError(f"{what}: metadata needs both name and namespace")
    return config


def load_container_config(path: str) -> api_pb2.ContainerConfig:
    """Read a ContainerConfig file and apply crictl's checks and defaults."""
    what = f"container config {path}"
    config = parse_message(_read_document(path, "container config"), api_pb2.ContainerConfig, what)
    if not config.HasField("metadata"):
        raise ConfigError(f"{what}: metadata is not set")
    if not config.metadata.name:
        raise ConfigError(f"{what}: metadata.name is not set")
    if not config.HasField("image") or not config.image.image:
        raise ConfigError(f"{what}: image.image is not set")
    if not config.image.user_specified_image:
        config.image.user_specified_image = config.image.image
    return config
