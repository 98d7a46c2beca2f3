"""`stats` and `statsp`: containers' and pods' CPU and memory use, like crictl's.

CPU % needs two samples: we list stats, wait `--seconds`, list again and divide the CPU time
used in between by the time between the two samples. Containers that use neither CPU nor
memory are taken as not running and left out unless `--all`.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from cri import api_pb2
from kyb.crictl import output
from kyb.crictl.listing import parse_labels
from kyb.crictl.output import add_output_flag
from kyb.crictl.session import Session


def run_stats(session: Session, args: argparse.Namespace) -> int:
    container_id = args.id or (args.container_id or "")
    flt = api_pb2.ContainerStatsFilter(id=container_id, pod_sandbox_id=args.pod or "")
    for key, value in parse_labels(args.label).items():
        flt.label_selector[key] = value
    with session.attempt("listing container stats"):
        first = sorted(session.runtime.list_container_stats(flt), key=lambda s: s.attributes.id)
    if args.output in ("json", "yaml"):
        doc = output.message_to_dict(api_pb2.ListContainerStatsResponse(stats=first))
        doc.setdefault("stats", [])
        session.print(output.dumps(doc, args.output), end="")
        return 0
    old = {s.attributes.id: s for s in first}
    time.sleep(max(0, args.seconds))
    with session.attempt("listing container stats"):
        second = sorted(session.runtime.list_container_stats(flt), key=lambda s: s.attributes.id)
    rows = [["CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES", "SWAP"]]
    for s in second:
        cpu = s.cpu.usage_core_nano_seconds.value
        mem = s.memory.working_set_bytes.value
        if not args.all and cpu == 0 and mem == 0:
            continue  # not running
        before = old.get(s.attributes.id)
        if before is None:
            continue  # appeared during the sample
        percent = 0.0
        elapsed = s.cpu.timestamp - before.cpu.timestamp
        if cpu and elapsed > 0:
            percent = (cpu - before.cpu.usage_core_nano_seconds.value) / elapsed * 100
        rows.append(
            [
                output.truncate_id(s.attributes.id),
                s.attributes.metadata.name,
                f"{percent:.2f}",
                output.human_size(mem),
                output.human_size(s.writable_layer.used_bytes.value),
                str(s.writable_layer.inodes_used.value),
                output.human_size(s.swap.swap_usage_bytes.value),
            ]
        )
    session.print(output.render_table(rows), end="")
    return 0


def run_statsp(session: Session, args: argparse.Namespace) -> int:
    """crictl's `statsp`: pod CPU % (two samples) and working-set memory."""
    flt = api_pb2.PodSandboxStatsFilter(id=args.id or (args.pod_id or ""))
    for key, value in parse_labels(args.label).items():
        flt.label_selector[key] = value
    request = api_pb2.ListPodSandboxStatsRequest(filter=flt)

    def sample() -> list[api_pb2.PodSandboxStats]:
        response = session.call_runtime("ListPodSandboxStats", request, "listing pod sandbox stats")
        return sorted(response.stats, key=lambda s: s.attributes.id)

    first = sample()
    if args.output in ("json", "yaml"):
        doc = output.message_to_dict(api_pb2.ListPodSandboxStatsResponse(stats=first))
        doc.setdefault("stats", [])
        session.print(output.dumps(doc, args.output), end="")
        return 0
    old = {s.attributes.id: s for s in first}
    time.sleep(max(0, args.seconds))
    rows = [["POD", "POD ID", "CPU %", "MEM"]]
    for s in sample():
        cpu = s.linux.cpu.usage_core_nano_seconds.value
        mem = s.linux.memory.working_set_bytes.value
        before = old.get(s.attributes.id)
        if (cpu == 0 and mem == 0) or before is None:
            continue
        percent = 0.0
        elapsed = s.linux.cpu.timestamp - before.linux.cpu.timestamp
        if cpu and elapsed > 0:
            percent = (cpu - before.linux.cpu.usage_core_nano_seconds.value) / elapsed * 100
        rows.append(
            [
                s.attributes.metadata.name,
                output.truncate_id(s.attributes.id),
                f"{percent:.2f}",
                output.human_size(mem),
            ]
        )
    session.print(output.render_table(rows), end="")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("stats", help="list container(s) resource usage statistics")
    p.add_argument("container_id", nargs="?", metavar="ID")
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default: just running)")
    p.add_argument("--id", default="", help="filter by container id")
    p.add_argument("-p", "--pod", default="", help="filter by pod id")
    p.add_argument("--label", action="append", help="filter by key=value label")
    add_output_flag(p, "table", output.OUTPUT_FORMATS)
    p.add_argument("-s", "--seconds", type=float, default=1, help="sample duration for CPU usage in seconds")
    p.set_defaults(_cri_run=run_stats)

    p = sub.add_parser("statsp", help="list pod resource usage statistics")
    p.add_argument("pod_id", nargs="?", metavar="ID")
    p.add_argument("--id", default="", help="filter by pod id")
    p.add_argument("--label", action="append", help="filter by key=value label")
    add_output_flag(p, "table", output.OUTPUT_FORMATS)
    p.add_argument("-s", "--seconds", type=float, default=1, help="sample duration for CPU usage in seconds")
    p.set_defaults(_cri_run=run_statsp)
