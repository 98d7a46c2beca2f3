"""RunPodSandbox, StopPodSandbox, RemovePodSandbox and the sandbox's view of its own state.

Running a sandbox is a sequence of steps each paired with its undo: directory and files, the
pod's /dev/shm (a tmpfs when the pod owns its IPC namespace), the pod cgroup, the holder process
(via the fork server), the pod network. If a step fails the undos run in reverse, so a failed
RunPodSandbox leaves nothing behind. The record is written last: an object without a record
does not exist.

Stopping is idempotent: containers are killed, the network detached, the holder killed, /dev/shm
unmounted. Removing also removes containers, cgroups, container log files and the directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from cri import api_pb2
from runtime.atomic_json import read_json, write_json
from runtime.cgroups import CgroupError
from runtime.config_text import reject_control_characters, reject_nul_bytes
from runtime.container.manager import LOG_PATHS, ContainerManager
from runtime.container.spec import check_namespace_modes, seccomp_of
from runtime.container.userns_options import pod_user_namespace
from runtime.context import RuntimeContext
from runtime.errors import FailedPrecondition, InternalError, InvalidArgument, NotFound
from runtime.lifecycle import SandboxState
from runtime.linux import capabilities
from runtime.linux.syscalls import MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID, SyscallError
from runtime.processes import alive as process_alive
from runtime.processes import kill_and_wait
from runtime.processes import start_time as process_start_time
from runtime.sandbox.files import write_sandbox_files
from runtime.state import RECORD
from runtime.state.store import UNREADABLE_SUFFIX

log = logging.getLogger(__name__)

SUPPORTED_HANDLERS = ("", "kyb", "runc")
HOST_NAME_MAX = 64  # sethostname(2) refuses more
CGROUPS_INTENT = "cgroups.json"  # a sandbox's cgroups, written before they are made


IPC_SYSCTLS = ("kernel.shmmax", "kernel.shmall", "kernel.shmmni", "kernel.shm_rmid_forced",
               "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem")


def check_sysctl(key: str, options: api_pb2.NamespaceOption) -> None:
    """Only sysctls of a namespace the pod owns may be set, as runc enforces."""
    if "/" in key or ".." in key or not key:
        raise InvalidArgument(f"sysctl name {key!r} is not valid")
    if key in IPC_SYSCTLS or key.startswith("fs.mqueue."):
        if options.ipc == api_pb2.NODE:
            raise InvalidArgument(f"sysctl {key} is not allowed: the pod shares the host's IPC namespace")
        return
    if key.startswith("net."):
        if options.network == api_pb2.NODE:
            raise InvalidArgument(f"sysctl {key} is not allowed: the pod shares the host's network namespace")
        return
    if key == "kernel.domainname" or key == "kernel.hostname":
        raise InvalidArgument(f"sysctl {key} is not allowed: set the pod's hostname instead")
    raise InvalidArgument(f"sysctl {key} is not namespaced and cannot be set for one pod")


def sandbox_key(config: api_pb2.PodSandboxConfig) -> str:
    m = config.metadata
    return f"{m.name}_{m.namespace}_{m.uid}_{m.attempt}"


class SandboxManager:
    def __init__(self, ctx: RuntimeContext, containers: ContainerManager) -> None:
        self.ctx = ctx
        self.containers = containers
        self._names_lock = threading.Lock()
        self._reserved: set[str] = set()

    # ----------------------------------------------------------------- run
    def run(self, config: api_pb2.PodSandboxConfig, runtime_handler: str = "") -> str:
        self._validate(config, runtime_handler)
        key = sandbox_key(config)
        with self._names_lock:
            for other in self.ctx.sandboxes.ids():
                with contextlib.suppress(NotFound):
                    if self.ctx.sandboxes.read(other).get("key") == key:
                        raise FailedPrecondition(f"a sandbox named {key!r} already exists (id {other})")
            if key in self._reserved:
                raise FailedPrecondition(f"a sandbox named {key!r} is being created")
            self._reserved.add(key)
        try:
            return self._run(config, runtime_handler, key)
        finally:
            with self._names_lock:
                self._reserved.discard(key)

    def _validate(self, config: api_pb2.PodSandboxConfig, runtime_handler: str) -> None:
        if not config.metadata.name:
            raise InvalidArgument("sandbox config must include metadata.name")
        if runtime_handler not in SUPPORTED_HANDLERS:
            raise InvalidArgument(f"unknown runtime handler {runtime_handler!r}; this runtime serves only the default one")
        options = config.linux.security_context.namespace_options
        check_namespace_modes(options, "sandbox")
        if options.pid == api_pb2.TARGET:
            raise InvalidArgument("sandbox: TARGET pid namespace mode is only valid for containers")
        if config.log_directory and not config.log_directory.startswith("/"):
            raise InvalidArgument(f"log_directory {config.log_directory!r} must be an absolute path")
        for key in config.linux.sysctls:
            check_sysctl(key, options)
        reject_control_characters([("cgroup_parent", config.linux.cgroup_parent)])  # the kernel refuses them in names
        reject_nul_bytes([("log_directory", config.log_directory),
                          *((f"sysctl {k!r}", k + v) for k, v in config.linux.sysctls.items()),
                          *(("port mapping host_ip", p.host_ip) for p in config.port_mappings)])
        if config.hostname:
            reject_control_characters([("hostname", config.hostname)])
            if len(config.hostname.encode()) > HOST_NAME_MAX:
                raise InvalidArgument(f"hostname {config.hostname!r} is longer than the kernel's {HOST_NAME_MAX} bytes")
        dns = config.dns_config
        reject_control_characters([*(("dns server", v) for v in dns.servers), *(("dns search", v) for v in dns.searches),
                                   *(("dns option", v) for v in dns.options)])
        for mapping in config.port_mappings:
            if mapping.protocol not in api_pb2.Protocol.values():
                raise InvalidArgument(f"port mapping {mapping.container_port}: unknown protocol {mapping.protocol} "
                                      "(TCP, UDP or SCTP)")
        parent = config.linux.cgroup_parent
        if parent and (".." in parent.split("/")):
            raise InvalidArgument(f"cgroup_parent {parent!r} must not contain '..'")
        # A pod's profile is checked as containerd checks the pause container's: a missing or
        # invalid Localhost file fails RunPodSandbox.
        security = config.linux.security_context
        seccomp_of(security, security.privileged, capabilities.DEFAULT)

    def _run(self, config: api_pb2.PodSandboxConfig, runtime_handler: str, key: str) -> str:
        ctx = self.ctx
        sandbox_id = secrets.token_hex(32)
        options = config.linux.security_context.namespace_options
        host_network = options.network == api_pb2.NODE
        own_ipc = options.ipc != api_pb2.NODE
        own_pid = options.pid == api_pb2.POD
        userns = pod_user_namespace(options, "sandbox")
        # Without a hostname of its own a pod has the node's, as with containerd (the kubelet
        # always sets one; the pod's name is not a hostname, nor checked as one).
        hostname = config.hostname if config.hostname and not host_network else socket.gethostname()
        directory = ctx.sandboxes.path(sandbox_id)
        undo: list[Callable[[], None]] = []
        try:
            directory.mkdir(parents=True)
            undo.append(lambda: shutil.rmtree(directory, ignore_errors=True))
            write_sandbox_files(str(directory), hostname, config, host_network)
            shm = str(directory / "shm") if own_ipc else "/dev/shm"
            if own_ipc:
                os.mkdir(shm, 0o1777)
                ctx.kernel.mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k")
                undo.append(lambda: self._unmount(shm))
            parent = config.linux.cgroup_parent
            pod_cgroup = "/" + parent.strip("/") if parent else f"{ctx.cgroup_root}/{sandbox_id}"
            created_pod_cgroup = not ctx.cgroups.exists(pod_cgroup)
            holder_cgroup = f"{pod_cgroup}/{sandbox_id}" if parent else f"{pod_cgroup}/holder"
            # Before the cgroups and the holder exist: a daemon that dies before the record is
            # written leaves only this to say where they are (see ``collect_half_made``).
            write_json(str(directory / CGROUPS_INTENT),
                       {"holder": holder_cgroup, "pod": pod_cgroup if created_pod_cgroup else None}, durable=False)
            ctx.cgroups.create(holder_cgroup)
            undo.append(lambda: ctx.cgroups.remove(pod_cgroup if created_pod_cgroup else holder_cgroup))
            reply = ctx.forkserver.call({
                "op": "sandbox",
                "own_network": not host_network,
                "own_ipc": own_ipc,
                "own_pid": own_pid,
                "userns": userns,
                "hostname": hostname,
                "cgroup_procs": ctx.cgroups.join_files(holder_cgroup),
                "sysctls": dict(config.linux.sysctls),
                "privileged": config.linux.security_context.privileged,
                # The holder plays the pause container, which containerd runs under the pod's profile.
                "seccomp": seccomp_of(config.linux.security_context, config.linux.security_context.privileged,
                                      capabilities.DEFAULT),
            })
            if "error" in reply:
                if reply.get("kind") == "SysctlRefused":
                    raise InvalidArgument(reply["error"].removeprefix("SysctlRefused: "))
                raise InternalError(f"cannot create the sandbox's namespaces: {reply['error']}")
            holder = reply["pid"]
            holder_start = process_start_time(holder)
            undo.append(lambda: kill_and_wait(holder, holder_start))
            namespaces = {
                "net": None if host_network else f"/proc/{holder}/ns/net",
                "uts": None if host_network else f"/proc/{holder}/ns/uts",
                "ipc": f"/proc/{holder}/ns/ipc" if own_ipc else None,
            }
            if userns is not None:
                userns = dict(userns, path=f"/proc/{holder}/ns/user")
            ip = ""
            if ctx.network is not None and not host_network:
                mappings = [
                    {"protocol": api_pb2.Protocol.Name(p.protocol), "container_port": p.container_port,
                     "host_port": p.host_port, "host_ip": p.host_ip}
                    for p in config.port_mappings
                ]
                ip = ctx.network.attach(sandbox_id, namespaces["net"], mappings)
                undo.append(lambda: ctx.network.detach(sandbox_id, None))
            record = {
                "id": sandbox_id,
                "key": key,
                "config": json_format.MessageToDict(config),
                "runtime_handler": runtime_handler,
                "state": SandboxState.READY.value,
                "created_at": time.time_ns(),
                "dir": str(directory),
                "hostname": hostname,
                "host_network": host_network,
                "privileged": config.linux.security_context.privileged,
                "holder": {"pid": holder, "start": holder_start},
                "namespaces": namespaces,
                "own_pid": own_pid,
                "userns": userns,
                "pid_ns": f"/proc/{holder}/ns/pid" if own_pid else None,
                "shm": shm,
                "shm_mounted": own_ipc,
                "cgroup": pod_cgroup,
                "holder_cgroup": holder_cgroup,
                "created_pod_cgroup": created_pod_cgroup,
                "ip": ip,
                "log_directory": config.log_directory,
            }
            write_json(str(directory / RECORD), record)
        except BaseException:
            for step in reversed(undo):
                try:
                    step()
                except Exception:
                    log.exception("cleanup after failed RunPodSandbox", extra={"sandbox": sandbox_id})
            raise
        log.info("sandbox ready", extra={"sandbox": sandbox_id, "holder": holder, "pod": key})
        return sandbox_id

    def _unmount(self, path: str) -> None:
        try:
            self.ctx.kernel.umount2(path, MNT_DETACH)
        except SyscallError as e:
            if e.errno not in (22, 2, 20):  # EINVAL: not mounted; ENOENT: gone; ENOTDIR
                raise

    # ----------------------------------------------------------------- state
    def get(self, id_or_prefix: str) -> dict[str, Any]:
        """The sandbox record, with a dead holder turning a READY sandbox NOTREADY."""
        sandbox_id = self.ctx.sandboxes.resolve(id_or_prefix)
        record = self.ctx.sandboxes.read(sandbox_id)
        if record["state"] == SandboxState.READY.value and not process_alive(
            record["holder"]["pid"], record["holder"]["start"]
        ):
            record = self.ctx.sandboxes.update(sandbox_id, lambda r: r.update(state=SandboxState.NOTREADY.value))
        return record

    def record_version(self, sandbox_id: str) -> tuple[int, int, int]:
        return self.ctx.sandboxes.version(sandbox_id)

    def list(self) -> list[dict[str, Any]]:
        records = []
        for sandbox_id in self.ctx.sandboxes.ids():
            with contextlib.suppress(NotFound):
                records.append(self.get(sandbox_id))
        return records

    # ----------------------------------------------------------------- stop / remove
    def stop(self, id_or_prefix: str) -> None:
        try:
            sandbox_id = self.ctx.sandboxes.resolve(id_or_prefix)
        except NotFound:
            return  # StopPodSandbox is idempotent: a sandbox that is gone is stopped (CRI, critest)
        with self.ctx.sandboxes.lock(sandbox_id):
            try:
                record = self.ctx.sandboxes.read(sandbox_id)
            except NotFound:
                return  # removed while this call waited for it: gone, so stopped
            for container_id in self.containers.ids_in_sandbox(sandbox_id):
                with contextlib.suppress(NotFound):
                    self.containers.stop(container_id, 0)
            if self.ctx.network is not None and not record.get("host_network"):
                try:
                    holder_ok = process_alive(record["holder"]["pid"], record["holder"]["start"])
                    self.ctx.network.detach(sandbox_id, record["namespaces"]["net"] if holder_ok else None)
                except Exception as e:
                    raise InternalError(f"cannot detach the sandbox's network: {e}") from e
            kill_and_wait(record["holder"]["pid"], record["holder"]["start"])
            if record.get("shm_mounted"):
                self._unmount(record["shm"])
            self.ctx.sandboxes.update(
                sandbox_id, lambda r: r.update(state=SandboxState.NOTREADY.value, shm_mounted=False)
            )
        log.info("sandbox stopped", extra={"sandbox": sandbox_id})

    def remove(self, id_or_prefix: str) -> None:
        try:
            sandbox_id = self.ctx.sandboxes.resolve(id_or_prefix)
        except NotFound:
            return  # RemovePodSandbox is idempotent
        self.stop(sandbox_id)
        with self.ctx.sandboxes.lock(sandbox_id):
            try:
                record = self.ctx.sandboxes.read(sandbox_id)
            except NotFound:
                return  # another RemovePodSandbox got there first
            for container_id in self.containers.ids_in_sandbox(sandbox_id):
                self.containers.remove(container_id)
            try:
                if record.get("created_pod_cgroup"):
                    self.ctx.cgroups.remove(record["cgroup"])
                else:
                    self.ctx.cgroups.remove(record["holder_cgroup"])
            except CgroupError as e:
                raise InternalError(str(e)) from e
            for path in self._log_paths(sandbox_id):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            if record.get("log_directory"):
                with contextlib.suppress(OSError):
                    os.rmdir(record["log_directory"])
            self.ctx.sandboxes.delete(sandbox_id)
        log.info("sandbox removed", extra={"sandbox": sandbox_id})

    def collect_half_made(self) -> list[str]:
        """Remove what a daemon that died in the middle of RunPodSandbox or CreateContainer left:
        directories without a record, their /dev/shm mount, their cgroups and processes. A
        directory whose record was set aside as unreadable is no half-made object: it is left for
        a person to look at."""
        removed = []
        sandbox_cgroups = []
        for sandbox_id in self.ctx.sandboxes.ids():
            with contextlib.suppress(NotFound):
                sandbox_cgroups.append(self.ctx.sandboxes.read(sandbox_id)["cgroup"])
        for store, kind in ((self.ctx.containers, "container"), (self.ctx.sandboxes, "sandbox")):
            known = set(store.ids())
            for name in sorted(os.listdir(store.directory)):
                if name in known or not (store.directory / name).is_dir():
                    continue
                if (store.directory / name / f"{RECORD}{UNREADABLE_SUFFIX}").exists():
                    continue
                if kind == "sandbox":
                    self._unmount(str(store.directory / name / "shm"))
                    cgroups = self._half_made_cgroups(store.directory / name)
                else:
                    cgroups = [f"{parent}/{name}" for parent in sandbox_cgroups]
                for cgroup in cgroups:
                    if self.ctx.cgroups.exists(cgroup):
                        self.ctx.cgroups.remove(cgroup)
                shutil.rmtree(store.directory / name, ignore_errors=True)
                removed.append(name)
                log.warning("removed a half-made object", extra={"kind": kind, "id": name})
        return removed

    def _half_made_cgroups(self, directory: Path) -> list[str]:
        """The cgroups a half-made sandbox made, its holder's first (removing it kills the
        holder): as its intent file names them, else where a pod without a cgroup_parent has
        them."""
        try:
            intent = read_json(str(directory / CGROUPS_INTENT))
        except ValueError:  # torn: only a machine crash does that, and it takes cgroups along
            intent = None
        if not isinstance(intent, dict) or not isinstance(intent.get("holder"), str):
            return [f"{self.ctx.cgroup_root}/{directory.name}"]
        return [intent["holder"], *([intent["pod"]] if isinstance(intent.get("pod"), str) else [])]

    def _log_paths(self, sandbox_id: str) -> list[str]:
        try:
            with open(self.ctx.sandboxes.path(sandbox_id) / LOG_PATHS) as f:
                return [line.strip() for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def require_ready(self, id_or_prefix: str) -> dict[str, Any]:
        record = self.get(id_or_prefix)
        if record["state"] != SandboxState.READY.value:
            raise FailedPrecondition(f"sandbox {record['id']} is not ready")
        return record

