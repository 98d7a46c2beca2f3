"""The `kyb cri` command line: global flags, the verbs, and how failures end.

Global flags come before the verb, as with crictl: `kyb cri -r unix:///run/x.sock ps -a`. The
endpoints also come from crictl's environment variables (CONTAINER_RUNTIME_ENDPOINT,
IMAGE_SERVICE_ENDPOINT) and crictl's config file (/etc/crictl.yaml, or --config /
CRI_CONFIG_FILE). `--timeout` bounds each call (pulls and exec have their own);
its default is longer than crictl's 2s because a runtime on a loaded small machine can take
longer than that to create a pod.

Exit codes: 0 success; 1 a call failed or a file is unusable (one line on stderr); 2 a bad
command line; `exec -s` exits with the command's own code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from kyb.crictl import (
    container_logs,
    containers,
    images,
    metrics,
    pods,
    port_forward,
    remote_exec,
    runtime_info,
    stats,
)
from kyb.crictl.config import ConfigError
from kyb.crictl.session import CRIFailure, Session, UsageError, parse_duration
from kyb.defaults import DEFAULT_RUNTIME_ENDPOINT

DEFAULT_TIMEOUT = "10s"
DEFAULT_CONFIG_FILE = "/etc/crictl.yaml"


@dataclass(frozen=True)
class Settings:
    runtime_endpoint: str
    image_endpoint: str | None
    timeout: float


def resolve_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Flags win, then crictl's environment variables, then crictl's config file, then defaults.

    The config file is crictl's (`runtime-endpoint`, `image-endpoint`, `timeout` in seconds), so
    a machine set up for crictl needs nothing more for `kyb cri`.
    """
    path = args.config or environ.get("CRI_CONFIG_FILE")
    file_settings: dict[str, object] = {}
    if path or os.path.exists(DEFAULT_CONFIG_FILE):
        file_settings = _read_config_file(path or DEFAULT_CONFIG_FILE, required=bool(path))
    runtime = (
        args.runtime_endpoint
        or environ.get("CONTAINER_RUNTIME_ENDPOINT")
        or str(file_settings.get("runtime-endpoint") or "")
        or DEFAULT_RUNTIME_ENDPOINT
    )
    image = (
        args.image_endpoint
        or environ.get("IMAGE_SERVICE_ENDPOINT")
        or file_settings.get("image-endpoint")
        or None
    )
    timeout = args.timeout
    if timeout is None and file_settings.get("timeout"):
        try:
            timeout = _duration(str(file_settings["timeout"]))
        except argparse.ArgumentTypeError as e:
            raise UsageError(f"config file: timeout: {e}") from None
    return Settings(runtime, str(image) if image else None, timeout or _duration(DEFAULT_TIMEOUT))


def _read_config_file(path: str, required: bool) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8") as f:
            document = yaml.safe_load(f) or {}
    except FileNotFoundError:
        if required:
            raise UsageError(f"config file {path} not found") from None
        return {}
    except (OSError, yaml.YAMLError) as e:
        raise UsageError(f"config file {path}: {e}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"config file {path}: not UTF-8 text (byte {e.start})") from None
    if not isinstance(document, dict):
        raise UsageError(f"config file {path}: want a YAML mapping of settings")
    return document


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"timeout must be positive, got {text!r}")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        help=f"crictl's client config file (env CRI_CONFIG_FILE; default {DEFAULT_CONFIG_FILE} if it exists)",
    )
    parser.add_argument(
        "-r",
        "--runtime-endpoint",
        help=f"endpoint of the CRI runtime service (env CONTAINER_RUNTIME_ENDPOINT; default {DEFAULT_RUNTIME_ENDPOINT})",
    )
    parser.add_argument(
        "-i",
        "--image-endpoint",
        help="endpoint of the CRI image service (env IMAGE_SERVICE_ENDPOINT; default: the runtime endpoint)",
    )
    parser.add_argument(
        "-t",
        "--timeout",
        type=_duration,
        help=f"timeout of each call, e.g. 2s, 1m (default {DEFAULT_TIMEOUT})",
    )
    sub = parser.add_subparsers(dest="cri_verb", metavar="VERB")
    sub.required = True
    for module in (runtime_info, pods, containers, stats, metrics, container_logs, remote_exec, port_forward, images):
        module.register(sub)


def run(args: argparse.Namespace) -> int:
    from kyb.errors import CommandError

    try:
        settings = resolve_settings(args, os.environ)
        session = Session(settings.runtime_endpoint, settings.image_endpoint, settings.timeout)
    except UsageError as e:
        print(f"kyb cri: error: {e}", file=sys.stderr)
        return 2
    try:
        return int(args._cri_run(session, args) or 0)
    except UsageError as e:
        print(f"kyb cri {args.cri_verb}: error: {e}", file=sys.stderr)
        return 2
    except (CRIFailure, ConfigError) as e:
        raise CommandError(f"{args.cri_verb}: {e}") from e
    except BrokenPipeError:
        return 0
    finally:
        session.close()
