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
    parser.add_argument(
        "--pod-cidr", default=None,
        help="this node's pod CIDR (e.g. 10.88.1.0/24): gives pods an eth0 on the kyb0 bridge; "
        "without it pods get loopback only",
    )
    parser.add_argument(
        "--cluster-cidr", default=None,
        help="the whole cluster's pod CIDR (default: the pod CIDR); traffic leaving it is masqueraded",
    )
    parser.add_argument("--bridge", default="kyb0", help="the node's pod bridge (default: kyb0)")
    parser.add_argument(
        "--streaming-address", default="127.0.0.1:0",
        help="host:port of the exec streaming server whose URLs Exec returns (default: 127.0.0.1, any port)",
    )
    logging_setup.add_log_level_argument(parser)


def _pod_network(args: argparse.Namespace) -> object | None:
    """The node's PodNetwork when a pod CIDR is given; its setup runs when the daemon starts."""
    if not args.pod_cidr:
        if args.cluster_cidr:
            raise CommandError("--cluster-cidr needs --pod-cidr")
        return None
    from runtime.network.errors import NetworkError
    from runtime.network.podnetwork import PodNetwork

    try:
        return PodNetwork(
            args.root.absolute() / "network", args.pod_cidr, args.cluster_cidr or args.pod_cidr, bridge=args.bridge
        )
    except NetworkError as e:
        raise CommandError(str(e)) from e


def run(args: argparse.Namespace) -> int:
    from runtime.daemon import DaemonError, RuntimeDaemon

    logging_setup.configure(args.log_level)
    daemon = RuntimeDaemon(
        args.socket.absolute(), args.root.absolute(),
        registry_config=args.registry_config.absolute() if args.registry_config else None,
        cgroup_root=args.cgroup_root,
        network=_pod_network(args),
        streaming_address=args.streaming_address,
    )
    try:
        daemon.serve_until_signalled()
    except DaemonError as e:
        raise CommandError(str(e)) from e
    return 0
