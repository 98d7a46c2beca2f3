"""`kyb apiserver`: the Kubernetes API over an embedded SQLite store or an etcd cluster."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
from pathlib import Path

from kyb import logging_setup
from kyb.errors import CommandError

NAME = "apiserver"
HELP = "serve the Kubernetes API (kubectl-compatible) over SQLite or etcd"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="directory for the SQLite store and the kubeconfig written for kubectl")
    parser.add_argument("--datastore", default="sqlite",
                        help='"sqlite" (default, embedded) or "etcd://host:port[,host:port]"')
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--advertise-address", default="",
                        help="IP published in the kubernetes Service's endpoints (default: the bind address)")
    parser.add_argument("--port", type=int, default=6443, help="port to listen on (default: 6443; 0 = any)")
    parser.add_argument("--service-cidr", default="10.96.0.0/12",
                        help="range Service ClusterIPs come from (default: 10.96.0.0/12)")
    parser.add_argument("--cluster-cidr", default="10.244.0.0/16",
                        help="range Node podCIDRs are carved from (default: 10.244.0.0/16)")
    parser.add_argument("--node-cidr-mask", type=int, default=24,
                        help="prefix length of each Node's podCIDR (default: 24)")
    parser.add_argument("--watch-bookmark-interval", type=float, default=60.0,
                        help="seconds between BOOKMARK events on idle watches (default: 60)")
    parser.add_argument("--compaction-interval", type=float, default=300.0,
                        help="seconds between store compactions; 0 disables (default: 300)")
    logging_setup.add_log_level_argument(parser)


def _check(args: argparse.Namespace) -> None:
    for flag, value in (("--service-cidr", args.service_cidr), ("--cluster-cidr", args.cluster_cidr)):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as e:
            raise CommandError(f"{flag} {value!r} is not a CIDR: {e}") from e
    net = ipaddress.ip_network(args.cluster_cidr, strict=False)
    if not net.prefixlen <= args.node_cidr_mask <= net.max_prefixlen:
        raise CommandError(f"--node-cidr-mask {args.node_cidr_mask} must be between the cluster CIDR's prefix"
                           f" length ({net.prefixlen}) and {net.max_prefixlen}")
    if not 0 <= args.port < 65536:
        raise CommandError(f"--port {args.port} is not a TCP port")


def run(args: argparse.Namespace) -> int:
    from apiserver.context import ServerConfig
    from apiserver.server import run_forever
    from apiserver.storage.interface import StorageError

    logging_setup.configure(args.log_level)
    _check(args)
    config = ServerConfig(
        data_dir=args.data_dir.absolute(), datastore=args.datastore, bind=args.bind, port=args.port,
        advertise_address=args.advertise_address,
        service_cidr=args.service_cidr, cluster_cidr=args.cluster_cidr, node_cidr_mask=args.node_cidr_mask,
        bookmark_interval=args.watch_bookmark_interval, compaction_interval=args.compaction_interval,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_forever(config, stop)

    try:
        asyncio.run(main())
    except StorageError as e:
        raise CommandError(f"datastore {args.datastore!r}: {e}") from e
    except OSError as e:
        raise CommandError(f"cannot serve on {args.bind}:{args.port}: {e}") from e
    return 0
