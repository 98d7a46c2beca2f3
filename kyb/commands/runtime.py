"""`kyb runtime`: the CRI v1 runtime daemon on a unix socket."""

from __future__ import annotations

import argparse
from pathlib import Path

from kyb import logging_setup
from kyb.defaults import DEFAULT_RUNTIME_ROOT, DEFAULT_RUNTIME_SOCKET
from kyb.errors import CommandError

NAME = "runtime"
HELP = "serve the CRI v1 runtime (RuntimeService and ImageService) on a unix socket"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--socket", type=Path, default=Path(DEFAULT_RUNTIME_SOCKET),
        help=f"unix socket to serve the CRI on (default: {DEFAULT_RUNTIME_SOCKET})",
    )
    parser.add_argument(
        "--root", type=Path, default=Path(DEFAULT_RUNTIME_ROOT),
        help=f"directory for images, pod and container state (default: {DEFAULT_RUNTIME_ROOT})",
    )
    parser.add_argument(
        "--registry-config", type=Path, default=None,
        help="registry hosts file (TOML): mirrors and plain-HTTP registries for image pulls",
    )
    parser.add_argument(
        "--cgroup-root", default="/kyb",
        help="cgroup under which pod cgroups are made when the kubelet names no cgroup_parent (default: /kyb)",
    )
    logging_setup.add_log_level_argument(parser)


def run(args: argparse.Namespace) -> int:
    from runtime.daemon import DaemonError, RuntimeDaemon

    logging_setup.configure(args.log_level)
    daemon = RuntimeDaemon(
        args.socket.absolute(), args.root.absolute(),
        registry_config=args.registry_config.absolute() if args.registry_config else None,
        cgroup_root=args.cgroup_root,
    )
    try:
        daemon.serve_until_signalled()
    except DaemonError as e:
        raise CommandError(str(e)) from e
    return 0
