"""Container verbs: create, start, ps, inspect, stop, rm (`stats` and `logs` have modules of their own).

`ps` lists running containers unless `-a` or `--state` says otherwise, like crictl. Its POD and
NAMESPACE columns come from the kubelet's labels (`io.kubernetes.pod.name`/`namespace`) when
present and otherwise from the sandbox itself, so containers created straight from config files
still show their pod. `rm` deletes the container's log file afterwards unless `--keep-logs`, as
crictl does.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
from typing import Any

from cri import api_pb2
from kyb.crictl import output
from kyb.crictl.config import load_container_config, load_pod_config
from kyb.crictl.images import auth_from_flags, pull_flags
from kyb.crictl.listing import compile_pattern, cut_to_latest, parse_labels
from kyb.crictl.output import add_output_flag, print_map, print_statuses
from kyb.crictl.session import CRIFailure, Session, UsageError, parse_duration

CONTAINER_STATES = {
    "created": api_pb2.CONTAINER_CREATED,
    "running": api_pb2.CONTAINER_RUNNING,
    "exited": api_pb2.CONTAINER_EXITED,
    "unknown": api_pb2.CONTAINER_UNKNOWN,
}
_STATE_NAMES = {
    api_pb2.CONTAINER_CREATED: "Created",
    api_pb2.CONTAINER_RUNNING: "Running",
    api_pb2.CONTAINER_EXITED: "Exited",
    api_pb2.CONTAINER_UNKNOWN: "Unknown",
}
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
_DIGEST = re.compile(r"^(sha256|sha512):[0-9a-f]{32,}$")


def state_name(state: int) -> str:
    return _STATE_NAMES.get(state, "Unknown")


def _pod_names(session: Session) -> dict[str, tuple[str, str]]:
    with session.attempt("listing pod sandboxes"):
        return {p.id: (p.metadata.name, p.metadata.namespace) for p in session.runtime.list_pod_sandbox()}


def pod_of(container: api_pb2.Container, pods: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """(pod name, pod namespace): kubelet labels first, then the sandbox, else 'unknown'."""
    name, namespace = pods.get(container.pod_sandbox_id, ("unknown", "unknown"))
    return container.labels.get(POD_NAME_LABEL, name), container.labels.get(POD_NAMESPACE_LABEL, namespace)


def list_containers(
    session: Session, args: argparse.Namespace, pods: dict[str, tuple[str, str]] | None = None
) -> list[api_pb2.Container]:
    """Containers matching the command line's filters, newest first, cut to --latest/--last."""
    flt = api_pb2.ContainerFilter()
    if getattr(args, "id", None):
        flt.id = args.id
    if getattr(args, "pod", None):
        flt.pod_sandbox_id = args.pod
    state = getattr(args, "state", None)
    latest, last = getattr(args, "latest", False), getattr(args, "last", 0)
    if state:
        if state.lower() not in CONTAINER_STATES:
            raise UsageError("--state should be one of created, running, exited or unknown")
        flt.state.state = CONTAINER_STATES[state.lower()]
    elif not getattr(args, "all", False):
        flt.state.state = api_pb2.CONTAINER_RUNNING
    if latest or (last and last > 0):
        flt.ClearField("state")
    for key, value in parse_labels(getattr(args, "label", None)).items():
        flt.label_selector[key] = value
    name_re = compile_pattern(getattr(args, "name", None), "--name")
    ns_re = compile_pattern(getattr(args, "namespace", None), "--namespace")
    with session.attempt("listing containers"):
        containers = session.runtime.list_containers(flt)
    image = getattr(args, "image", None)
    image_id = _image_id(session, image) if image else None
    if ns_re is not None and pods is None:
        pods = _pod_names(session)
    result = []
    for c in containers:
        if name_re is not None and not name_re.search(c.metadata.name):
            continue
        if ns_re is not None and not ns_re.search(pod_of(c, pods or {})[1]):
            continue
        if image_id is not None and _image_id(session, c.image.image) != image_id:
            continue
        result.append(c)
    result.sort(key=lambda c: c.created_at, reverse=True)
    return cut_to_latest(result, latest, last)


def _image_id(session: Session, image: str) -> str:
    with session.attempt(f"getting the status of image {image}"):
        response = session.image.image_status(image)
    return response.image.id if response.HasField("image") else f"(absent) {image}"


def run_create(session: Session, args: argparse.Namespace) -> int:
    if args.no_pull and args.with_pull:
        raise UsageError("conflict: --no-pull and --with-pull are both set")
    config = load_container_config(args.container_config)
    pod_config = load_pod_config(args.pod_config)
    if args.with_pull:
        _pull_for(session, args, config, pod_config)
    with session.attempt("creating container"):
        container_id = session.runtime.create_container(args.pod_id, config, pod_config)
    session.print(container_id)
    return 0


def run_run(session: Session, args: argparse.Namespace) -> int:
    """crictl's `run`: a new pod, then a container in it, started; prints the container id."""
    if args.no_pull and args.with_pull:
        raise UsageError("conflict: --no-pull and --with-pull are both set")
    config = load_container_config(args.container_config)
    pod_config = load_pod_config(args.pod_config)
    if args.with_pull:
        _pull_for(session, args, config, pod_config)
    with session.attempt("run pod sandbox"):
        pod_id = session.runtime.run_pod_sandbox(pod_config, runtime_handler=args.runtime or "")
    with session.attempt("creating container"):
        container_id = session.runtime.create_container(pod_id, config, pod_config)
    with session.attempt(f"starting the container {container_id}"):
        session.runtime.start_container(container_id)
    session.print(container_id)
    return 0


def _pull_for(
    session: Session, args: argparse.Namespace, config: api_pb2.ContainerConfig, pod: api_pb2.PodSandboxConfig
) -> None:
    auth = auth_from_flags(args)
    timeout = parse_duration(args.pull_timeout) if args.pull_timeout else None
    kwargs: dict[str, Any] = {"timeout": timeout} if timeout else {}
    with session.attempt(f"pulling image {config.image.image}"):
        session.image.pull_image(config.image.image, auth=auth, sandbox_config=pod, **kwargs)


def run_start(session: Session, args: argparse.Namespace) -> int:
    for container_id in args.ids:
        with session.attempt(f"starting the container {container_id}"):
            session.runtime.start_container(container_id)
        session.print(container_id)
    return 0


def run_ps(session: Session, args: argparse.Namespace) -> int:
    pods = _pod_names(session)
    containers = list_containers(session, args, pods)
    if args.output in ("json", "yaml"):
        doc = output.message_to_dict(api_pb2.ListContainersResponse(containers=containers))
        doc.setdefault("containers", [])
        session.print(output.dumps(doc, args.output), end="")
        return 0
    if args.quiet:
        for c in containers:
            session.print(c.id)
        return 0
    if args.verbose:
        for c in containers:
            _print_container_verbose(session, c, pods)
        return 0
    rows = [["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD", "NAMESPACE"]]
    for c in containers:
        image = c.image.image
        if args.resolve_image_path:
            image = _repo_tag(session, image)
        elif not args.no_trunc and _DIGEST.match(image):
            image = output.truncate_id(image, image.split(":", 1)[0] + ":")
        pod_name, pod_namespace = pod_of(c, pods)
        rows.append(
            [
                c.id if args.no_trunc else output.truncate_id(c.id),
                image,
                output.ago(c.created_at),
                state_name(c.state),
                c.metadata.name,
                str(c.metadata.attempt),
                c.pod_sandbox_id if args.no_trunc else output.truncate_id(c.pod_sandbox_id),
                pod_name,
                pod_namespace,
            ]
        )
    session.print(output.render_table(rows), end="")
    return 0


def _repo_tag(session: Session, image: str) -> str:
    with session.attempt(f"getting the status of image {image}"):
        response = session.image.image_status(image)
    return response.image.repo_tags[0] if response.image.repo_tags else image


def _print_container_verbose(
    session: Session, c: api_pb2.Container, pods: dict[str, tuple[str, str]]
) -> None:
    session.print(f"ID: {c.id}")
    session.print(f"PodID: {c.pod_sandbox_id}")
    session.print(f"Namespace: {pod_of(c, pods)[1]}")
    if c.metadata.name:
        session.print(f"Name: {c.metadata.name}")
    session.print(f"Attempt: {c.metadata.attempt}")
    session.print(f"State: {state_name(c.state)}")
    session.print(f"Image: {c.image.image}")
    session.print(f"Created: {output.ago(c.created_at)}")
    print_map(session, "Labels", c.labels)
    print_map(session, "Annotations", c.annotations)
    session.print()


_ZERO_TIME = "0001-01-01T00:00:00Z"


def status_timestamps(status: api_pb2.ContainerStatus) -> dict[str, Any]:
    """crictl's inspect dates: started only once started, finished only once exited."""
    stamps: dict[str, Any] = {"createdAt": status.created_at}
    stamps["startedAt"] = status.started_at if status.state != api_pb2.CONTAINER_CREATED else None
    finished = status.state == api_pb2.CONTAINER_EXITED or (
        status.state == api_pb2.CONTAINER_UNKNOWN and status.finished_at > 0
    )
    stamps["finishedAt"] = status.finished_at if finished else None
    return stamps


def run_inspect(session: Session, args: argparse.Namespace) -> int:
    ids = list(args.ids) or [c.id for c in list_containers(session, args)]
    if not ids:
        raise UsageError("no container ids given and none match the filters")
    fmt = args.output or "json"
    documents = []
    for container_id in ids:
        with session.attempt(f"getting the status of container {container_id}"):
            response = session.runtime.container_status(container_id, verbose=not args.quiet)
        if fmt == "table":
            _print_container_status_table(session, response, verbose=not args.quiet)
            continue
        stamps = status_timestamps(response.status)
        doc = output.status_document(
            response.status, dict(response.info), {k: v for k, v in stamps.items() if v is not None}
        )
        for key, value in stamps.items():
            if value is None:
                doc["status"][key] = _ZERO_TIME
        documents.append(doc)
    print_statuses(session, documents, fmt)
    return 0


def _print_container_status_table(
    session: Session, response: api_pb2.ContainerStatusResponse, verbose: bool
) -> None:
    s = response.status
    session.print(f"ID: {s.id}")
    if s.metadata.name:
        session.print(f"Name: {s.metadata.name}")
    if s.metadata.attempt:
        session.print(f"Attempt: {s.metadata.attempt}")
    session.print(f"State: {api_pb2.ContainerState.Name(s.state)}")
    session.print(f"Created: {output.ago(s.created_at)}")
    if s.state != api_pb2.CONTAINER_CREATED:
        session.print(f"Started: {output.ago(s.started_at)}")
    if s.state == api_pb2.CONTAINER_EXITED:
        if s.finished_at > 0:
            session.print(f"Finished: {output.ago(s.finished_at)}")
        session.print(f"Exit Code: {s.exit_code}")
    print_map(session, "Labels", s.labels)
    print_map(session, "Annotations", s.annotations)
    if verbose:
        session.print(f"Info: {dict(response.info)}")


def run_update(session: Session, args: argparse.Namespace) -> int:
    """crictl's `update`: new CPU/memory limits for running containers (Linux resources)."""
    resources = api_pb2.LinuxContainerResources(
        cpu_period=args.cpu_period,
        cpu_quota=args.cpu_quota,
        cpu_shares=args.cpu_share,
        memory_limit_in_bytes=args.memory,
        cpuset_cpus=args.cpuset_cpus,
        cpuset_mems=args.cpuset_mems,
    )
    for container_id in args.ids:
        request = api_pb2.UpdateContainerResourcesRequest(container_id=container_id, linux=resources)
        session.call_runtime(
            "UpdateContainerResources",
            request,
            f"updating container resources for {container_id}",
        )
        session.print(container_id)
    return 0


def run_stop(session: Session, args: argparse.Namespace) -> int:
    ids = list(args.ids)
    if args.all:
        if ids:
            raise UsageError("cannot specify CONTAINER-ID(s) when using --all")
        with session.attempt("listing containers"):
            running = api_pb2.ContainerFilter(
                state=api_pb2.ContainerStateValue(state=api_pb2.CONTAINER_RUNNING)
            )
            ids = [c.id for c in session.runtime.list_containers(running)]
        if not ids:
            session.print("No running containers found.")
            return 0
    if not ids:
        raise UsageError("you must specify at least one CONTAINER-ID or use --all")
    for container_id in ids:
        with session.attempt(f"stopping the container {container_id}"):
            session.runtime.stop_container(container_id, timeout=args.stop_timeout)
        session.print(container_id)
    return 0


def run_rm(session: Session, args: argparse.Namespace) -> int:
    ids = list(args.ids)
    if args.all:
        if ids:
            raise UsageError("cannot specify CONTAINER-ID(s) when using --all")
        with session.attempt("listing containers"):
            ids = [c.id for c in session.runtime.list_containers()]
        if not ids:
            session.warn("no containers to remove")
            return 0
    if not ids:
        raise UsageError("rm needs at least one CONTAINER-ID (or --all)")
    for container_id in ids:
        with session.attempt(f"getting the status of container {container_id}"):
            status = session.runtime.container_status(container_id).status
        if status.state == api_pb2.CONTAINER_RUNNING:
            if not args.force:
                raise CRIFailure(
                    f"container {container_id} is running, please stop it first (or use --force)"
                )
            with session.attempt(f"stopping the container {container_id}"):
                session.runtime.stop_container(container_id, timeout=0)
        with session.attempt(f"removing container {container_id}"):
            session.runtime.remove_container(container_id)
        if not args.keep_logs and status.log_path:
            for path in [*glob.glob(glob.escape(status.log_path) + ".*"), status.log_path]:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    session.warn(f"removing log file {path} of container {container_id}: {e.strerror}")
        session.print(container_id)
    return 0


def _add_list_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id", default="", help="filter by container id")
    p.add_argument("--name", help="filter by container name regular expression pattern")
    p.add_argument("-p", "--pod", default="", help="filter by pod id")
    p.add_argument("--image", help="filter by container image")
    p.add_argument("-s", "--state", help="filter by container state (created, running, exited, unknown)")
    p.add_argument("--label", action="append", help="filter by key=value label (repeatable)")
    p.add_argument("-a", "--all", action="store_true", help="show all containers")
    p.add_argument("-l", "--latest", action="store_true", help="show the most recently created container")
    p.add_argument("-n", "--last", type=int, default=0, help="show last n recently created containers")
    p.add_argument("--namespace", help="filter by pod namespace regular expression pattern")


def register(sub: Any) -> None:
    p = sub.add_parser("create", help="create a new container")
    p.add_argument("pod_id", metavar="POD")
    p.add_argument("container_config", metavar="CONTAINER_CONFIG", help="container-config.[json|yaml]")
    p.add_argument("pod_config", metavar="POD_CONFIG", help="pod-config.[json|yaml]")
    p.add_argument("--no-pull", action="store_true", help="do not pull the image (the default)")
    p.add_argument("--with-pull", action="store_true", help="pull the image before creating the container")
    pull_flags(p)
    p.set_defaults(_cri_run=run_create)

    p = sub.add_parser("run", help="run a new container inside a new pod")
    p.add_argument("container_config", metavar="CONTAINER_CONFIG", help="container-config.[json|yaml]")
    p.add_argument("pod_config", metavar="POD_CONFIG", help="pod-config.[json|yaml]")
    p.add_argument("--no-pull", action="store_true", help="do not pull the image (the default)")
    p.add_argument("--with-pull", action="store_true", help="pull the image first")
    p.add_argument("-r", "--runtime", default="", help="runtime handler to use")
    pull_flags(p)
    p.set_defaults(_cri_run=run_run)

    p = sub.add_parser("start", help="start one or more created containers")
    p.add_argument("ids", nargs="+", metavar="CONTAINER-ID")
    p.set_defaults(_cri_run=run_start)

    p = sub.add_parser("ps", help="list containers")
    _add_list_filters(p)
    p.add_argument("-v", "--verbose", action="store_true", help="show verbose information for containers")
    p.add_argument("-q", "--quiet", action="store_true", help="only display container IDs")
    add_output_flag(p, "table", output.OUTPUT_FORMATS)
    p.add_argument("--no-trunc", action="store_true", help="show output without truncating the ID")
    p.add_argument(
        "-r", "--resolve-image-path", action="store_true", help="show image path instead of image id"
    )
    p.set_defaults(_cri_run=run_ps)

    p = sub.add_parser("inspect", help="display the status of one or more containers")
    p.add_argument("ids", nargs="*", metavar="CONTAINER-ID")
    add_output_flag(p, None, output.OUTPUT_FORMATS)
    p.add_argument("-q", "--quiet", action="store_true", help="do not show verbose information")
    _add_list_filters(p)
    p.set_defaults(_cri_run=run_inspect)

    p = sub.add_parser("update", help="update one or more running containers' resources")
    p.add_argument("ids", nargs="+", metavar="CONTAINER-ID")
    p.add_argument(
        "--cpu-period", type=int, default=0, help="CPU CFS period in microseconds (0: runtime default)"
    )
    p.add_argument("--cpu-quota", type=int, default=0, help="CPU CFS quota in microseconds per period")
    p.add_argument("--cpu-share", type=int, default=0, help="CPU shares (relative weight)")
    p.add_argument("--memory", type=int, default=0, help="memory limit in bytes")
    p.add_argument("--cpuset-cpus", default="", help="CPUs to use (e.g. 0-1)")
    p.add_argument("--cpuset-mems", default="", help="memory nodes to use")
    p.set_defaults(_cri_run=run_update)

    p = sub.add_parser("stop", help="stop one or more running containers")
    p.add_argument("ids", nargs="*", metavar="CONTAINER-ID")
    p.add_argument(
        "-t",
        "--timeout",
        dest="stop_timeout",
        type=int,
        default=0,
        help="seconds to wait before killing the container",
    )
    p.add_argument("-a", "--all", action="store_true", help="stop all running containers")
    p.set_defaults(_cri_run=run_stop)

    p = sub.add_parser("rm", help="remove one or more containers")
    p.add_argument("ids", nargs="*", metavar="CONTAINER-ID")
    p.add_argument("-f", "--force", action="store_true", help="stop the container first if it is running")
    p.add_argument("-k", "--keep-logs", action="store_true", help="keep the container's log file")
    p.add_argument("-a", "--all", action="store_true", help="remove all containers")
    p.set_defaults(_cri_run=run_rm)
