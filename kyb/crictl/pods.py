"""Pod sandbox verbs: runp, pods, inspectp, stopp, rmp.

Listing asks the runtime to filter by id, state and labels (the CRI filter), then filters by
name and namespace regular expressions and sorts newest first on our side, as crictl does, so
`--latest`/`--last N` mean the same thing against every runtime.
"""

from __future__ import annotations

import argparse
from typing import Any

from cri import api_pb2
from kyb.crictl import output
from kyb.crictl.config import load_pod_config
from kyb.crictl.listing import compile_pattern, cut_to_latest, parse_labels
from kyb.crictl.output import add_output_flag, print_map, print_statuses
from kyb.crictl.session import CRIFailure, Session, UsageError

POD_STATES = {"ready": api_pb2.SANDBOX_READY, "notready": api_pb2.SANDBOX_NOTREADY}
_STATE_NAMES = {api_pb2.SANDBOX_READY: "Ready", api_pb2.SANDBOX_NOTREADY: "NotReady"}


def state_name(state: int) -> str:
    return _STATE_NAMES.get(state, "Unknown")


def list_pods(session: Session, args: argparse.Namespace) -> list[api_pb2.PodSandbox]:
    """Pods matching the command line's filters, newest first, cut to --latest/--last."""
    flt = api_pb2.PodSandboxFilter()
    if getattr(args, "id", None):
        flt.id = args.id
    state = getattr(args, "state", None)
    if state:
        if state.lower() not in POD_STATES:
            raise UsageError("--state should be ready or notready")
        flt.state.state = POD_STATES[state.lower()]
    for key, value in parse_labels(getattr(args, "label", None)).items():
        flt.label_selector[key] = value
    name_re = compile_pattern(getattr(args, "name", None), "--name")
    ns_re = compile_pattern(getattr(args, "namespace", None), "--namespace")
    with session.attempt("listing pod sandboxes"):
        pods = session.runtime.list_pod_sandbox(flt)
    pods = [
        p
        for p in pods
        if (name_re is None or name_re.search(p.metadata.name))
        and (ns_re is None or ns_re.search(p.metadata.namespace))
    ]
    pods.sort(key=lambda p: p.created_at, reverse=True)
    return cut_to_latest(pods, getattr(args, "latest", False), getattr(args, "last", 0))


def run_runp(session: Session, args: argparse.Namespace) -> int:
    config = load_pod_config(args.pod_config)
    with session.attempt("run pod sandbox"):
        pod_id = session.runtime.run_pod_sandbox(config, runtime_handler=args.runtime or "")
    session.print(pod_id)
    return 0


def run_pods(session: Session, args: argparse.Namespace) -> int:
    pods = list_pods(session, args)
    if args.output in ("json", "yaml"):
        doc = output.message_to_dict(api_pb2.ListPodSandboxResponse(items=pods))
        doc.setdefault("items", [])
        session.print(output.dumps(doc, args.output), end="")
        return 0
    if args.quiet:
        for pod in pods:
            session.print(pod.id)
        return 0
    if args.verbose:
        for pod in pods:
            _print_pod_verbose(session, pod)
        return 0
    rows = [["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"]]
    for pod in pods:
        rows.append(
            [
                pod.id if args.no_trunc else output.truncate_id(pod.id),
                output.ago(pod.created_at),
                state_name(pod.state),
                pod.metadata.name,
                pod.metadata.namespace,
                str(pod.metadata.attempt),
                pod.runtime_handler or "(default)",
            ]
        )
    session.print(output.render_table(rows), end="")
    return 0


def _print_pod_verbose(session: Session, pod: api_pb2.PodSandbox) -> None:
    session.print(f"ID: {pod.id}")
    for label, value in (
        ("Name", pod.metadata.name),
        ("UID", pod.metadata.uid),
        ("Namespace", pod.metadata.namespace),
    ):
        if value:
            session.print(f"{label}: {value}")
    if pod.metadata.attempt:
        session.print(f"Attempt: {pod.metadata.attempt}")
    session.print(f"Status: {state_name(pod.state)}")
    session.print(f"Created: {output.rfc3339_ns(pod.created_at)}")
    print_map(session, "Labels", pod.labels)
    print_map(session, "Annotations", pod.annotations)
    session.print(f"Runtime: {pod.runtime_handler or '(default)'}")
    session.print()


def run_inspectp(session: Session, args: argparse.Namespace) -> int:
    ids = list(args.ids) or [p.id for p in list_pods(session, args)]
    if not ids:
        raise UsageError("no pod ids given and none match the filters")
    fmt = args.output or "json"
    documents = []
    for pod_id in ids:
        with session.attempt(f"getting the status of pod sandbox {pod_id}"):
            response = session.runtime.pod_sandbox_status(pod_id, verbose=not args.quiet)
        status = response.status
        if fmt == "table":
            _print_pod_status_table(session, response, verbose=not args.quiet)
            continue
        documents.append(
            output.status_document(status, dict(response.info), {"createdAt": status.created_at})
        )
    print_statuses(session, documents, fmt)
    return 0


def _print_pod_status_table(
    session: Session, response: api_pb2.PodSandboxStatusResponse, verbose: bool
) -> None:
    status = response.status
    session.print(f"ID: {status.id}")
    for label, value in (("Name", status.metadata.name), ("UID", status.metadata.uid)):
        if value:
            session.print(f"{label}: {value}")
    if status.metadata.namespace:
        session.print(f"Namespace: {status.metadata.namespace}")
    session.print(f"Attempt: {status.metadata.attempt}")
    session.print(f"Status: {api_pb2.PodSandboxState.Name(status.state)}")
    session.print(f"Created: {output.rfc3339_ns(status.created_at)}")
    if status.HasField("network"):
        session.print(f"IP Addresses: {status.network.ip}")
        for extra in status.network.additional_ips:
            session.print(f"Additional IP: {extra.ip}")
    print_map(session, "Labels", status.labels)
    print_map(session, "Annotations", status.annotations)
    if verbose:
        session.print(f"Info: {dict(response.info)}")


def run_stopp(session: Session, args: argparse.Namespace) -> int:
    for pod_id in args.ids:
        with session.attempt(f"stopping the pod sandbox {pod_id}"):
            session.runtime.stop_pod_sandbox(pod_id)
        session.print(f"Stopped sandbox {pod_id}")
    return 0


def run_rmp(session: Session, args: argparse.Namespace) -> int:
    ids = list(args.ids)
    if args.all:
        if ids:
            raise UsageError("cannot name pod ids together with --all")
        with session.attempt("listing pod sandboxes"):
            ids = [p.id for p in session.runtime.list_pod_sandbox()]
        if not ids:
            session.warn("no pods to remove")
            return 0
    if not ids:
        raise UsageError("rmp needs at least one POD-ID (or --all)")
    for pod_id in ids:
        with session.attempt(f"getting the status of pod sandbox {pod_id}"):
            status = session.runtime.pod_sandbox_status(pod_id).status
        if status.state == api_pb2.SANDBOX_READY:
            if not args.force:
                raise CRIFailure(f"pod sandbox {pod_id} is running, please stop it first (or use --force)")
            with session.attempt(f"stopping the pod sandbox {pod_id}"):
                session.runtime.stop_pod_sandbox(pod_id)
        with session.attempt(f"removing the pod sandbox {pod_id}"):
            session.runtime.remove_pod_sandbox(pod_id)
        session.print(f"Removed sandbox {pod_id}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("runp", help="run a new pod", description="Run a new pod from a pod config file.")
    p.add_argument("pod_config", metavar="POD_CONFIG", help="pod-config.[json|yaml] (a CRI PodSandboxConfig)")
    p.add_argument("-r", "--runtime", default="", help="runtime handler to use")
    p.set_defaults(_cri_run=run_runp)

    p = sub.add_parser("pods", help="list pods", description="List pods.")
    p.add_argument("--id", default="", help="filter by pod id")
    p.add_argument("--name", help="filter by pod name regular expression pattern")
    p.add_argument("--namespace", help="filter by pod namespace regular expression pattern")
    p.add_argument("-s", "--state", help="filter by pod state (ready, notready)")
    p.add_argument("--label", action="append", help="filter by key=value label (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="show verbose info for pods")
    p.add_argument("-q", "--quiet", action="store_true", help="list only pod IDs")
    add_output_flag(p, "table", output.OUTPUT_FORMATS)
    p.add_argument("-l", "--latest", action="store_true", help="show the most recently created pod")
    p.add_argument("-n", "--last", type=int, default=0, help="show last n recently created pods")
    p.add_argument("--no-trunc", action="store_true", help="show output without truncating the ID")
    p.set_defaults(_cri_run=run_pods)

    p = sub.add_parser("inspectp", help="display the status of one or more pods")
    p.add_argument("ids", nargs="*", metavar="POD-ID")
    add_output_flag(p, None, output.OUTPUT_FORMATS)
    p.add_argument("-q", "--quiet", action="store_true", help="do not show verbose information")
    p.add_argument("--name", help="filter by pod name regular expression pattern")
    p.add_argument("--namespace", help="filter by pod namespace regular expression pattern")
    p.add_argument("-s", "--state", help="filter by pod state")
    p.add_argument("--label", action="append", help="filter by key=value label")
    p.add_argument("-l", "--latest", action="store_true", help="show the most recently created pod")
    p.add_argument("-n", "--last", type=int, default=0, help="show last n recently created pods")
    p.set_defaults(_cri_run=run_inspectp)

    p = sub.add_parser("stopp", help="stop one or more running pods")
    p.add_argument("ids", nargs="+", metavar="POD-ID")
    p.set_defaults(_cri_run=run_stopp)

    p = sub.add_parser("rmp", help="remove one or more pods")
    p.add_argument("ids", nargs="*", metavar="POD-ID")
    p.add_argument("-f", "--force", action="store_true", help="stop the pod first if it is running")
    p.add_argument("-a", "--all", action="store_true", help="remove all pods")
    p.set_defaults(_cri_run=run_rmp)
