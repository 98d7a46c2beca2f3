"""The `kyb cri` command line: global flags, the verbs, and how failures end.

Global flags come before the verb, as with crictl: `kyb cri -r unix:///run/x.sock ps -a`. The
endpoints also come from crictl's environment variables (CONTAINER_RUNTIME_ENDPOINT,
IMAGE_SERVICE_ENDPOINT). `--timeout` bounds each call (pulls and exec have their own);
its default is longer than crictl's 2s because a runtime on a loaded small machine can take
longer than that to create a pod.

Exit codes: 0 success; 1 a call failed or a file is unusable (one line on stderr); 2 a bad
command line; `exec -s` exits with the command's own code.
"""

from __future__ import annotations

import argparse
import os
import sys

from kyb.crictl import container_logs, containers, images, pods, remote_exec, runtime_info, stats
from kyb.crictl.config import ConfigError
from kyb.crictl.session import CRIFailure, Session, UsageError, parse_duration
from kyb.defaults import DEFAULT_RUNTIME_ENDPOINT

DEFAULT_TIMEOUT = "10s"


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
        "-r",
        "--runtime-endpoint",
        default=os.environ.get("CONTAINER_RUNTIME_ENDPOINT") or DEFAULT_RUNTIME_ENDPOINT,
        help=f"endpoint of the CRI runtime service (env CONTAINER_RUNTIME_ENDPOINT; default {DEFAULT_RUNTIME_ENDPOINT})",
    )
    parser.add_argument(
        "-i",
        "--image-endpoint",
        default=os.environ.get("IMAGE_SERVICE_ENDPOINT") or None,
        help="endpoint of the CRI image service (env IMAGE_SERVICE_ENDPOINT; default: the runtime endpoint)",
    )
    parser.add_argument(
        "-t",
        "--timeout",
        type=_duration,
        default=_duration(DEFAULT_TIMEOUT),
        help=f"timeout of each call, e.g. 2s, 1m (default {DEFAULT_TIMEOUT})",
    )
    sub = parser.add_subparsers(dest="cri_verb", metavar="VERB")
    sub.required = True
    for module in (runtime_info, pods, containers, stats, container_logs, remote_exec, images):
        module.register(sub)


def run(args: argparse.Namespace) -> int:
    from kyb.errors import CommandError

    try:
        session = Session(args.runtime_endpoint, args.image_endpoint, args.timeout)
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
