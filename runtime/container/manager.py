"""CreateContainer, StartContainer, StopContainer, RemoveContainer and the container's state.

Every verb has the same steps (as youki's do): refresh the record from what the shim wrote on
disk, check the transition guard, act, save through ``update``. Refreshing is how exits are
noticed: the shim records ``exit.json`` when the container ends, whether or not the daemon was
running, so a restarted daemon reports exits that happened while it was down. A shim that died
without recording one marks the container EXITED with reason ``Unknown``.

Creating makes the container directory, cgroup and spec (undone on failure); starting asks the
fork server for a shim and waits for its verdict (exec happened, or the error why not).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import logging
import os
import re
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from cri import api_pb2
from runtime.atomic_json import read_json, stage_json
from runtime.cgroups import CgroupError, Resources
from runtime.container import image_volumes, init_layer
from runtime.container.config_checks import check_container_config
from runtime.container.exit_watcher import ExitWatcher
from runtime.container.prestart import Prestarts
from runtime.container.spec import build_spec, check_namespace_modes
from runtime.context import RuntimeContext
from runtime.errors import (
    FailedPrecondition,
    InternalError,
    InvalidArgument,
    NotFound,
    ProcessStartFailed,
    RuntimeFailure,
)
from runtime.forkserver_client import ForkServerError
from runtime.forkserver_protocol import USER_FILE
from runtime.images.errors import ImageError, ImageNotFound
from runtime.lifecycle import ContainerState, SandboxState, check_container_transition
from runtime.processes import alive, kill_and_wait, signal_process, start_time, wait_gone
from runtime.shim.exit_notice import notice_address
from runtime.state import RECORD

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0
LOG_PATHS = "container-logs"
KILL_TIMEOUT = 10.0
ERROR_START_EXIT_CODE = 128


UNIFIED_KEY = re.compile(r"[a-z][a-z0-9_]*\.[A-Za-z0-9_.]+")  # a cgroup v2 interface file: "memory.high"
HUGEPAGE_SIZE = re.compile(r"[0-9]+[KMG]B")  # as the hugetlb files name it: "2MB", "1GB"


def resources_from(linux: api_pb2.LinuxContainerResources) -> Resources:
    """The cgroup resources a CRI config asks for. Names that become file names (``unified``
    keys, hugepage sizes) must be plain names, so no value is ever written outside the
    container's cgroup: anything else is an invalid argument."""
    for key in linux.unified:
        if not UNIFIED_KEY.fullmatch(key) or ".." in key:
            raise InvalidArgument(f"unified cgroup resource {key!r} is not a cgroup interface file name "
                                  "(expected a name like memory.high)")
    for limit in linux.hugepage_limits:
        if not HUGEPAGE_SIZE.fullmatch(limit.page_size):
            raise InvalidArgument(f"hugepage page_size {limit.page_size!r} is not a page size like 2MB or 1GB")
    return Resources(
        cpu_shares=linux.cpu_shares,
        cpu_quota=linux.cpu_quota,
        cpu_period=linux.cpu_period,
        memory_limit=linux.memory_limit_in_bytes,
        memory_swap_limit=linux.memory_swap_limit_in_bytes,
        cpuset_cpus=linux.cpuset_cpus,
        cpuset_mems=linux.cpuset_mems,
        unified=dict(linux.unified),
        hugepage_limits={h.page_size: h.limit for h in linux.hugepage_limits},
    )


def cgroup_failure(e: CgroupError | OSError, doing: str) -> RuntimeFailure:
    """The CRI error for a failed cgroup write: a value the kernel refuses (EINVAL, ERANGE) is
    the config's fault; a memory limit below what the container already uses (EBUSY) is the
    container's state; anything else is ours."""
    if e.errno in (errno.EINVAL, errno.ERANGE):
        return InvalidArgument(f"{doing}: the kernel refused a resource value of the config: {e}")
    if e.errno == errno.EBUSY:
        return FailedPrecondition(f"{doing}: {e} (a memory limit below what the container already uses?)")
    return InternalError(f"{doing}: {e}")


def stop_signal_of(record: dict) -> int:
    name = record.get("config", {}).get("stopSignal", "RUNTIME_DEFAULT")
    if name == "RUNTIME_DEFAULT":
        name = record.get("image_stop_signal") or "SIGTERM"
    if name.isdigit():
        return int(name)
    name = name.replace("RTMIN_PLUS_", "RTMIN+").replace("RTMAX_MINUS_", "RTMAX-")
    try:
        if "+" in name or "-" in name:
            base, _, offset = name.replace("-", "+-").partition("+")
            return int(getattr(signal, base)) + int(offset)
        return int(getattr(signal, name if name.startswith("SIG") else "SIG" + name))
    except (AttributeError, ValueError):
        return signal.SIGTERM



def resolved_user(message: dict, directory: str) -> dict | None:
    """The user a shim's ready message or start reply names: in the message, or, when too large
    for one, in the file it names (``runtime.forkserver_protocol.USER_FILE``)."""
    if "user_file" in message:
        return read_json(os.path.join(directory, USER_FILE))
    return message.get("user")


def _hint(path: str) -> dict | None:
    """A file the shim writes without flushing: after a machine crash it may be torn, which
    means the same as missing."""
    try:
        return read_json(path)
    except ValueError:
        return None

class ContainerManager:
    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        # (container id, sandbox id, "created" | "started" | "stopped" | "deleted"); set by the service
        # (container id, sandbox id, kind, the record as just written when there is one)
        self.on_event: Callable[[str, str, str, dict | None], None] = lambda *_: None
        self.exits = ExitWatcher(self._exited, notice_address(str(ctx.root)) if ctx.root else None)
        # Containers whose STOPPED event went out: an exit is noticed by a shim's notice and by
        # its pidfd, and may already have been applied by a status call; it is reported once.
        self._stopped_reported: set[str] = set()
        self._names_lock = threading.Lock()
        # Creates take turns. A burst of them run side by side shares the CPU until all are
        # nearly done, so every container of the burst starts late; one after another, the first
        # is ready first and the burst's median wait is about halved (queueing: first-come
        # first-served beats processor sharing for equal jobs). Little is lost: the daemon runs
        # one Python thread at a time anyway, and the flush that ends a create paces the next one
        # while the machine runs the containers already made.
        self._create_turns = threading.Lock()
        self._flusher = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="kyb-record-flush")
        self._reserved: set[tuple[str, str, int]] = set()
        # (sandbox id, name, attempt) -> container id of every container on disk, read from the
        # records once; this daemon alone creates and removes them, so it stays true. Keeps the
        # duplicate-name check from re-reading every record on each create.
        self._names: dict[tuple[str, str, int], str] | None = None
        self.prestarts = Prestarts(ctx.forkserver)
        self._etc_is_directory: dict[str, bool] = {}  # image id -> whether the init layer fits it

    def watch_running(self) -> None:
        """Start noticing exits: of every container the records say runs, and of each new one."""
        self.exits.start()
        for container_id in self.ctx.containers.ids():
            with contextlib.suppress(NotFound):
                record = self.ctx.containers.read(container_id)
                if record["state"] == ContainerState.RUNNING.value:
                    self.exits.watch(container_id, record.get("shim_pid"), record.get("shim_start"))

    def _exited(self, container_id: str) -> None:
        # The event goes out before the record is rewritten (see RecordStore.update): the exit
        # is derived from the shim's exit.json, so nothing depends on that write but speed.
        with contextlib.suppress(NotFound):
            self._report_stopped(self.refresh(container_id, before_write=self._report_stopped))

    def _report_stopped(self, record: dict) -> None:
        """Publish the container's STOPPED event once it has exited, and only once."""
        if record["state"] != ContainerState.EXITED.value:
            return
        with self._names_lock:
            if record["id"] in self._stopped_reported:
                return
            self._stopped_reported.add(record["id"])
        self.on_event(record["id"], record["sandbox_id"], "stopped", record)

    # ----------------------------------------------------------------- lookups
    def ids_in_sandbox(self, sandbox_id: str) -> list[str]:
        """From the name index (read from disk once, kept by create and remove): every event
        names the statuses of all of a pod's containers, so this must not read every record."""
        with self._names_lock:
            return sorted(cid for (owner, _name, _attempt), cid in self._name_index().items() if owner == sandbox_id)

    def record_version(self, container_id: str) -> tuple[int, int, int]:
        return self.ctx.containers.version(container_id)

    def get(self, id_or_prefix: str) -> dict[str, Any]:
        container_id = self.ctx.containers.resolve(id_or_prefix)
        return self.refresh(container_id)

    def list(self) -> list[dict[str, Any]]:
        records = []
        for container_id in self.ctx.containers.ids():
            with contextlib.suppress(NotFound):
                records.append(self.refresh(container_id))
        return records

    def in_use(self, image_id: str) -> bool:
        """Whether a container runs on the image or mounts it as an image volume."""
        for container_id in self.ctx.containers.ids():
            with contextlib.suppress(NotFound):
                record = self.ctx.containers.read(container_id)
                if record.get("image_id") == image_id or image_id in record.get("image_volumes", ()):
                    return True
        return False

    def refresh(self, container_id: str, before_write: Callable[[dict], None] | None = None) -> dict[str, Any]:
        """The record, brought up to date with what the shim recorded; ``before_write`` sees an
        updated record before it is written."""
        record = self.ctx.containers.read(container_id)
        state = record["state"]
        if state not in (ContainerState.RUNNING.value, ContainerState.CREATED.value, ContainerState.UNKNOWN.value):
            return record
        directory = f"{self.ctx.containers.directory}/{container_id}"
        exit_recorded = False
        if state == ContainerState.CREATED.value:
            # A started container whose start record a machine crash lost still has exit.json.
            if not os.path.exists(f"{directory}/shim.json") and not os.path.exists(f"{directory}/exit.json"):
                return record
        else:
            exit_recorded = os.path.exists(f"{directory}/exit.json")
            if not exit_recorded and alive(record.get("shim_pid"), record.get("shim_start")):
                return record
        # The shim flushes exit.json, so the exit can be derived again from it and the rewrite
        # needs no flush of its own. Adopting a shim (shim.json is only a hint) or an exit nobody
        # recorded does.
        return self.ctx.containers.update(container_id, lambda r: self._apply_shim_files(r, directory),
                                          durable=not exit_recorded, before_write=before_write)

    def _apply_shim_files(self, record: dict, directory: str) -> None:
        shim = _hint(f"{directory}/shim.json")
        try:
            exited = read_json(f"{directory}/exit.json")
        except ValueError:  # torn by a machine crash before the shim flushed it: the code is lost
            record.update(state=ContainerState.EXITED.value, exit_code=255, finished_at=time.time_ns(),
                          reason="Unknown", message="the container's exit record was lost in a crash")
            return
        if shim and record["state"] == ContainerState.CREATED.value:
            # The daemon died between the shim's start and recording it: adopt the shim.
            record.update(state=ContainerState.RUNNING.value, pid=shim["pid"], shim_pid=shim["shim_pid"],
                          started_at=shim["started_at"])
        elif exited is not None and record["state"] == ContainerState.CREATED.value:
            record.update(state=ContainerState.RUNNING.value)  # it ran: its exit follows below
        if record["state"] not in (ContainerState.RUNNING.value, ContainerState.UNKNOWN.value):
            return
        if exited is not None:
            code = exited["exit_code"]
            if exited.get("oom_killed") and code != 0:
                reason = "OOMKilled"
            else:
                reason = "Completed" if code == 0 else "Error"
            record.update(state=ContainerState.EXITED.value, exit_code=code, finished_at=exited["finished_at"],
                          reason=reason)
        elif not alive(record.get("shim_pid"), record.get("shim_start")):
            record.update(state=ContainerState.EXITED.value, exit_code=255, finished_at=time.time_ns(),
                          reason="Unknown", message="the container's shim exited without recording an exit status")
            # Its processes may live on with nobody to reap them, copy their output or record their
            # exit; reported as exited, they must be, as containerd's cleanup of a dead shim ensures.
            with contextlib.suppress(CgroupError):
                self.ctx.cgroups.kill_all(record["cgroup"])

    # ----------------------------------------------------------------- create
    def create(self, sandbox_id: str, config: api_pb2.ContainerConfig) -> str:
        ctx = self.ctx
        sandbox_id = ctx.sandboxes.resolve(sandbox_id)
        sandbox = ctx.sandboxes.read(sandbox_id)
        if sandbox["state"] != SandboxState.READY.value or not alive(sandbox["holder"]["pid"], sandbox["holder"]["start"]):
            raise FailedPrecondition(f"sandbox {sandbox_id} is not ready")
        if not config.metadata.name:
            raise InvalidArgument("container config must include metadata.name")
        if not config.image.image:
            raise InvalidArgument("container config must name an image (image.image is empty)")
        check_namespace_modes(config.linux.security_context.namespace_options, "container")
        check_container_config(config)
        # The name is reserved under the lock; the slow part of creating runs outside it, so
        # containers of one pod are created in parallel.
        key = (sandbox_id, config.metadata.name, config.metadata.attempt)
        with self._names_lock:
            if key in self._reserved or key in self._name_index():
                raise FailedPrecondition(
                    f"container {config.metadata.name!r} (attempt {config.metadata.attempt}) already exists "
                    f"in sandbox {sandbox_id}"
                )
            self._reserved.add(key)
        container_id = record = None
        try:
            with self._create_turns:
                container_id, record = self._create(sandbox, config)
        finally:
            with self._names_lock:
                self._reserved.discard(key)
                if container_id is not None:
                    self._name_index()[key] = container_id
        # Only now: the event names the statuses of the pod's containers, this one included.
        self.on_event(container_id, sandbox_id, "created", record)
        return container_id

    def _require_ready(self, sandbox_id: str, otherwise: str) -> None:
        try:
            state = self.ctx.sandboxes.read(sandbox_id)["state"]
        except NotFound:
            state = None
        if state != SandboxState.READY.value:
            raise FailedPrecondition(f"sandbox {sandbox_id} {otherwise}")

    def _name_index(self) -> dict[tuple[str, str, int], str]:
        """The names index, read from the records on first use; call with ``_names_lock`` held."""
        if self._names is None:
            names = {}
            for container_id in self.ctx.containers.ids():
                with contextlib.suppress(NotFound):
                    rec = self.ctx.containers.read(container_id)
                    names[(rec["sandbox_id"], rec["name"], rec["attempt"])] = container_id
            self._names = names
        return self._names

    def _volume_image(self, ref: str) -> Any:
        if self.ctx.images is None:
            raise FailedPrecondition("this runtime has no image store")
        return self.ctx.images.resolve(ref)

    def _resolve_image(self, ref: str) -> Any:
        if self.ctx.images is None:
            raise FailedPrecondition("this runtime has no image store")
        try:
            return self.ctx.images.resolve(ref)
        except ImageNotFound as e:
            raise FailedPrecondition(f"image {ref!r} is not present on this node; pull it first") from e
        except ImageError as e:
            raise InvalidArgument(f"image {ref!r}: {e}") from e

    def _pid_namespace(self, config: api_pb2.ContainerConfig, sandbox: dict) -> tuple[str, str | None]:
        options = config.linux.security_context.namespace_options
        mode = options.pid
        if mode == api_pb2.NODE:
            return "host", None
        if mode == api_pb2.CONTAINER:
            return "new", None
        if mode == api_pb2.TARGET:
            target = self.get(options.target_id) if options.target_id else None
            if target is None or target["sandbox_id"] != sandbox["id"] or target["state"] != ContainerState.RUNNING.value:
                raise FailedPrecondition(f"pid namespace target {options.target_id!r} is not a running container of this sandbox")
            return "join", f"/proc/{target['pid']}/ns/pid"
        sandbox_pid = sandbox["config"].get("linux", {}).get("securityContext", {}).get("namespaceOptions", {}).get("pid", "POD")
        if sandbox_pid == "NODE":
            return "host", None
        if sandbox.get("own_pid"):
            return "join", sandbox["pid_ns"]
        return "new", None

    def _add_init_layer(self, spec: dict, image: Any) -> None:
        """Put the layer with the files mounted over in ``/etc`` above the image's (see
        ``runtime.container.init_layer``), where the image's ``/etc`` allows it."""
        files = list(spec["etc_files"])
        if not files:
            return
        fits = self._etc_is_directory.get(image.id)
        if fits is None:
            fits = self._etc_is_directory[image.id] = init_layer.etc_is_directory([str(d) for d in image.layer_dirs])
        if fits:
            spec["rootfs"]["lower"].insert(0, init_layer.init_layer(str(self.ctx.root), files))

    def _create(self, sandbox: dict, config: api_pb2.ContainerConfig) -> tuple[str, dict]:
        ctx = self.ctx
        image = self._resolve_image(config.image.image)
        container_id = secrets.token_hex(32)
        directory = ctx.containers.path(container_id)
        log_path = ""
        if sandbox.get("log_directory") and config.log_path:
            log_directory = os.path.normpath(sandbox["log_directory"])
            log_path = os.path.normpath(log_directory + "/" + config.log_path)
            if not log_path.startswith(log_directory.rstrip("/") + "/"):
                # The shim, as root, writes there: never outside the pod's log directory.
                raise InvalidArgument(f"log_path {config.log_path!r} leaves the pod's log directory")
        cgroup = f"{sandbox['cgroup']}/{container_id}"
        undo: list[Callable[[], None]] = []
        try:
            for m in config.mounts:
                if m.host_path.startswith("/") and not os.path.exists(m.host_path):
                    os.makedirs(m.host_path, exist_ok=True)
            directory.mkdir(parents=True)
            undo.append(lambda: shutil.rmtree(directory, ignore_errors=True))
            for sub in ("rootfs", "upper", "work"):
                (directory / sub).mkdir()
            oom_file, oom_key = ctx.cgroups.oom_source(cgroup)
            spec = build_spec(
                container_dir=str(directory),
                config=config,
                sandbox=sandbox,
                image_config=image.config,
                layer_dirs=[str(d) for d in image.layer_dirs],
                log_path=log_path,
                cgroup_procs=ctx.cgroups.join_files(cgroup),
                oom={"file": oom_file, "key": oom_key},
                pid_namespace=self._pid_namespace(config, sandbox),
                last_cap=ctx.last_cap,
                apparmor_host=ctx.apparmor,
                cgroup_view=ctx.cgroups.container_view(cgroup),
            )
            if ctx.root:
                spec["exit_notices"] = notice_address(str(ctx.root))
                self._add_init_layer(spec, image)
            volume_images = image_volumes.resolve_mounts(
                spec["mounts"], self._volume_image, str(directory / image_volumes.EMPTY_LAYER_DIR))
            # Asked before the cgroup is made and the record written: the shim and the prepared
            # process get going meanwhile, and the process joins the cgroup once told it exists.
            pid_mode = spec["namespaces"].get("pid_mode", "new")
            prestarted = self.prestarts.begin(container_id, str(directory), pid_mode, spec, cgroup_pending=True)
            undo.append(lambda: self.prestarts.abort(container_id))
            repo_digests = list(getattr(image, "repo_digests", []) or [])
            record = {
                "id": container_id,
                "sandbox_id": sandbox["id"],
                "name": config.metadata.name,
                "attempt": config.metadata.attempt,
                "config": json_format.MessageToDict(config),
                "image_id": image.id,
                "image_ref": repo_digests[0] if repo_digests else image.id,
                "image_stop_signal": image.config.get("StopSignal", ""),
                "image_volumes": volume_images,
                "state": ContainerState.CREATED.value,
                "created_at": time.time_ns(),
                "started_at": 0,
                "finished_at": 0,
                "exit_code": 0,
                "reason": "",
                "message": "",
                "log_path": log_path,
                "cgroup": cgroup,
                "resources": json_format.MessageToDict(config.linux.resources),
                "user": spec["process"]["user"],
                # In the record, not a file of its own: creating costs one flushed write.
                "spec": spec,
            }
            # The record is written and flushed while the cgroup is made, and shows up only once
            # the container is whole: a record on disk always names a container that exists.
            staged = self._flusher.submit(stage_json, str(directory / RECORD), record)
            undo.append(lambda: concurrent.futures.wait([staged]))  # before the directory goes: it writes there
            try:
                # Never the pod's cgroup: if it is gone, so is the pod (removed meanwhile).
                ctx.cgroups.create(cgroup, resources_from(config.linux.resources), parents=False)
                ctx.cgroups.set_devices(cgroup, spec["device_rules"])
            except (CgroupError, OSError) as e:
                self._require_ready(sandbox["id"], "was stopped while the container was being created")
                raise cgroup_failure(e, f"cannot create the container's cgroup {cgroup}") from e
            finally:
                undo.append(lambda: ctx.cgroups.remove(cgroup))
                undo.append(lambda: self.prestarts.abort(container_id))  # undone first: the process, then its cgroup
            self.prestarts.cgroup_ready(container_id)
            os.replace(staged.result(), directory / RECORD)
            # A StopPodSandbox or RemovePodSandbox that listed the pod's containers before this
            # record existed missed this one. Both mark the pod NOTREADY before RemovePodSandbox
            # lists them, so reading the pod again now that the record is on disk, one of the two
            # always sees the other: here, the container is undone.
            self._require_ready(sandbox["id"], "was stopped while the container was being created")
            if log_path:
                # Remembered for RemovePodSandbox, which deletes the pod's logs; one appended line, no
                # rewrite of the sandbox record on every container create.
                with open(ctx.sandboxes.path(sandbox["id"]) / LOG_PATHS, "a") as f:
                    f.write(log_path + "\n")
        except BaseException:
            for step in reversed(undo):
                try:
                    step()
                except Exception:
                    log.exception("cleanup after failed CreateContainer", extra={"container": container_id})
            raise
        if not prestarted:
            self.prestarts.begin(container_id, str(directory), pid_mode)
        log.info("container created", extra={"container": container_id, "sandbox": sandbox["id"]})
        return container_id, record

    # ----------------------------------------------------------------- start
    def start(self, id_or_prefix: str) -> None:
        container_id = self.ctx.containers.resolve(id_or_prefix)
        with self.ctx.containers.lock(container_id):
            record = self.refresh(container_id)
            check_container_transition(ContainerState(record["state"]), ContainerState.RUNNING, "start")
            sandbox = self.ctx.sandboxes.read(record["sandbox_id"])
            if sandbox["state"] != SandboxState.READY.value or not alive(sandbox["holder"]["pid"], sandbox["holder"]["start"]):
                raise FailedPrecondition(f"sandbox {record['sandbox_id']} is not ready")
            directory = str(self.ctx.containers.path(container_id))
            request = {"op": "start", "container_dir": directory,
                       "pid_mode": (record.get("spec") or {}).get("namespaces", {}).get("pid_mode", "new")}
            recorded: list[dict] = []

            # The start is recorded without a flush of its own: it only matters while the process
            # lives, and a crash that loses unflushed writes (the machine's) ends every process. A
            # daemon crash loses nothing, and the shim's files let a restarted daemon adopt the rest.
            def record_running(ready: dict) -> None:
                # Written while the process execs; a failed exec turns it into a StartError below.
                recorded.append(self.ctx.containers.update(container_id, lambda r: r.update(
                    state=ContainerState.RUNNING.value, pid=ready["pid"], pid_start=start_time(ready["pid"]),
                    shim_pid=ready["shim_pid"], shim_start=start_time(ready["shim_pid"]), started_at=time.time_ns(),
                    resolved_user=resolved_user(ready, directory),
                ), durable=False))

            try:
                reply = self.prestarts.finish(container_id, START_TIMEOUT, while_exec=record_running)
                if reply is None:
                    recorded.clear()  # the prestarted process never ran: the record gets the new one
                    reply = self.ctx.forkserver.call(request, timeout=START_TIMEOUT)
                if reply.get("retry"):  # the process forked ahead for it was gone: fork afresh
                    reply = self.ctx.forkserver.call({**request, "prepared": False}, timeout=START_TIMEOUT)
            except ForkServerError as e:
                reply = {"error": str(e)}
            if "error" in reply:
                if recorded:  # the shim died after go: its process may have exec'd; none may run unsupervised
                    signal_process(recorded[0]["pid"], recorded[0]["pid_start"], signal.SIGKILL)
                self.ctx.containers.update(container_id, lambda r: r.update(
                    # Never started: started_at stays unset, as containerd reports a StartError.
                    state=ContainerState.EXITED.value, exit_code=ERROR_START_EXIT_CODE, reason="StartError",
                    message=reply["error"], started_at=0, finished_at=time.time_ns(),
                ))
                raise ProcessStartFailed(f"failed to start container {container_id}: {reply['error']}")
            if recorded:
                record = recorded[0]
            else:
                record = self.ctx.containers.update(container_id, lambda r: r.update(
                    state=ContainerState.RUNNING.value, pid=reply["pid"], pid_start=start_time(reply["pid"]),
                    shim_pid=reply["shim_pid"], shim_start=start_time(reply["shim_pid"]),
                    started_at=reply["started_at"], resolved_user=resolved_user(reply, directory),
                ), durable=False)
        self.on_event(container_id, record["sandbox_id"], "started", record)
        self.exits.watch(container_id, record["shim_pid"], record["shim_start"])
        log.info("container started", extra={"container": container_id, "pid": reply["pid"]})

    # ----------------------------------------------------------------- stop / remove
    def stop(self, id_or_prefix: str, timeout: int) -> None:
        try:
            container_id = self.ctx.containers.resolve(id_or_prefix)
        except NotFound:
            return  # StopContainer is idempotent: a container that is gone is stopped (CRI, critest)
        self.prestarts.abort(container_id)
        with self.ctx.containers.lock(container_id):
            try:
                record = self.refresh(container_id)
            except NotFound:
                return  # removed while this call waited for it: gone, so stopped
            if record["state"] == ContainerState.CREATED.value:
                self.ctx.containers.update(container_id, lambda r: r.update(
                    state=ContainerState.EXITED.value, finished_at=time.time_ns(), reason="Completed"))
                return
            if record["state"] not in (ContainerState.RUNNING.value, ContainerState.UNKNOWN.value):
                return
            pid, pid_start = record.get("pid"), record.get("pid_start")
            shim, shim_start = record.get("shim_pid"), record.get("shim_start")
            if timeout > 0:
                signal_process(pid, pid_start, stop_signal_of(record))
                wait_gone(shim, shim_start, float(timeout))
            if alive(shim, shim_start):
                signal_process(pid, pid_start, signal.SIGKILL)
                deadline = time.monotonic() + KILL_TIMEOUT
                while not wait_gone(shim, shim_start, 0.2) and time.monotonic() < deadline:
                    signal_process(pid, pid_start, signal.SIGKILL)
            with contextlib.suppress(CgroupError):
                self.ctx.cgroups.kill_all(record["cgroup"])
            self.refresh(container_id)
        log.info("container stopped", extra={"container": container_id})

    def remove(self, id_or_prefix: str) -> None:
        try:
            container_id = self.ctx.containers.resolve(id_or_prefix)
        except NotFound:
            return  # RemoveContainer is idempotent
        self.stop(container_id, 0)
        with self.ctx.containers.lock(container_id):
            try:
                record = self.ctx.containers.read(container_id)
            except NotFound:
                return  # another RemoveContainer got there first
            kill_and_wait(record.get("shim_pid"), record.get("shim_start"))
            try:
                self.ctx.cgroups.remove(record["cgroup"])
            except CgroupError as e:
                raise InternalError(str(e)) from e
            self.ctx.containers.delete(container_id)
        with self._names_lock:
            key = (record["sandbox_id"], record["name"], record["attempt"])
            if self._name_index().get(key) == container_id:
                del self._name_index()[key]
            self._stopped_reported.discard(container_id)
        log.info("container removed", extra={"container": container_id})
        self.on_event(container_id, record["sandbox_id"], "deleted", None)

    # ----------------------------------------------------------------- resources / logs
    def update_resources(self, id_or_prefix: str, linux: api_pb2.LinuxContainerResources) -> None:
        container_id = self.ctx.containers.resolve(id_or_prefix)
        with self.ctx.containers.lock(container_id):
            record = self.refresh(container_id)
            # As containerd: a container that no longer runs only has its recorded resources
            # updated (its cgroup is gone); one that is created or running gets them applied.
            resources = resources_from(linux)  # bad values are refused whatever the state
            if record["state"] in (ContainerState.CREATED.value, ContainerState.RUNNING.value):
                try:
                    self.ctx.cgroups.update(record["cgroup"], resources)
                except CgroupError as e:
                    raise cgroup_failure(e, "cannot update resources") from e
            merged = api_pb2.LinuxContainerResources()
            json_format.ParseDict(record.get("resources", {}), merged)
            merged.MergeFrom(linux)
            self.ctx.containers.update(container_id, lambda r: r.update(resources=json_format.MessageToDict(merged)))

    def reopen_log(self, id_or_prefix: str) -> None:
        record = self.get(id_or_prefix)
        if record["state"] != ContainerState.RUNNING.value:
            raise FailedPrecondition(f"container {record['id']} is not running")
        if not signal_process(record.get("shim_pid"), record.get("shim_start"), signal.SIGUSR1):
            raise FailedPrecondition(f"container {record['id']} has no running shim")
        path = record.get("log_path")
        deadline = time.monotonic() + 5.0
        while path and not os.path.exists(path):
            if time.monotonic() > deadline:
                raise InternalError(f"the shim did not reopen {path}")
            time.sleep(0.01)

    def require_running(self, id_or_prefix: str) -> dict[str, Any]:
        record = self.get(id_or_prefix)
        if record["state"] != ContainerState.RUNNING.value:
            raise FailedPrecondition(f"container {record['id']} is not running (state {record['state']})")
        return record
