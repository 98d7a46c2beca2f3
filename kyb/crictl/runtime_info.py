"""Runtime-wide verbs: `version` (Version), `info` (Status), `runtime-config` (RuntimeConfig) and
`events` (GetContainerEvents, one JSON line or YAML document per event)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from kyb.crictl import output
from kyb.crictl.output import add_output_flag
from kyb.crictl.session import Session


def run_version(session: Session, args: argparse.Namespace) -> int:
    with session.attempt("getting the runtime version"):
        v = session.runtime.version("v1")
    # crictl prints label and value with Println, hence two spaces.
    session.print(f"Version:  {v.version}")
    session.print(f"RuntimeName:  {v.runtime_name}")
    session.print(f"RuntimeVersion:  {v.runtime_version}")
    session.print(f"RuntimeApiVersion:  {v.runtime_api_version}")
    return 0


def run_info(session: Session, args: argparse.Namespace) -> int:
    with session.attempt("getting status of runtime"):
        r = session.runtime.status(verbose=not args.quiet)
    doc: dict[str, Any] = {"status": output.message_to_dict(r.status)}
    if len(r.runtime_handlers):
        doc["runtimeHandlers"] = [output.message_to_dict(h) for h in r.runtime_handlers]
    if r.HasField("features"):
        doc["features"] = output.message_to_dict(r.features)
    for key in sorted(r.info):
        value = r.info[key]
        try:
            doc[key] = json.loads(value) if value.startswith("{") else value.strip('"')
        except json.JSONDecodeError:
            doc[key] = value
    session.print(output.dumps(doc, args.output), end="")
    return 0


def run_runtime_config(session: Session, args: argparse.Namespace) -> int:
    with session.attempt("getting the runtime config"):
        r = session.runtime.runtime_config()
    session.print(output.dumps(output.message_to_dict(r), args.output), end="")
    return 0


def run_events(session: Session, args: argparse.Namespace) -> int:
    """crictl's `events`: container events as the runtime streams them, one document each."""
    try:
        with session.attempt("streaming container events"):
            for event in session.runtime.container_events():
                doc = output.message_to_dict(event)
                if args.output == "json":
                    session.print(json.dumps(doc))
                else:
                    session.print("---\n" + output.dumps(doc, "yaml"), end="")
                session.out.flush()
    except KeyboardInterrupt:
        return 0
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("version", help="display runtime version information")
    p.set_defaults(_cri_run=run_version)

    p = sub.add_parser("info", help="display information of the container runtime")
    add_output_flag(p, "json", ("json", "yaml"))
    p.add_argument("-q", "--quiet", action="store_true", help="do not show verbose information")
    p.set_defaults(_cri_run=run_info)

    p = sub.add_parser("events", help="stream container events until interrupted")
    add_output_flag(p, "json", ("json", "yaml"))
    p.set_defaults(_cri_run=run_events)

    p = sub.add_parser("runtime-config", help="retrieve the container runtime configuration (cgroup driver)")
    add_output_flag(p, "json", ("json", "yaml"))
    p.set_defaults(_cri_run=run_runtime_config)
