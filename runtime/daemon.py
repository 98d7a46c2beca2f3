"""The runtime daemon: owns the CRI socket and serves the RuntimeService and ImageService on it.

One daemon per socket. Ownership is an advisory lock on ``<socket>.lock`` held for the daemon's
lifetime, so two daemons racing for one socket cannot both win, and a socket file left behind by
a daemon that died (nobody holds the lock, nobody answers) is safely replaced. A socket that
answers while the lock is free belongs to some other runtime (containerd, say): we refuse it too.

Shutdown on SIGTERM/SIGINT stops accepting calls, lets running calls finish for a short grace
period, and removes the socket and lock files. Containers are not ours to stop here: their
shims outlive the daemon by design.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import signal
import socket
import stat
import threading
from concurrent import futures
from pathlib import Path
from types import FrameType
from typing import Any

import grpc

from cri import api_pb2_grpc
from cri.client import MAX_MESSAGE_SIZE
from runtime.cgroups import CgroupError
from runtime.context import RuntimeContext
from runtime.cri_service import RuntimeService
from runtime.forkserver_client import ForkServerError
from runtime.images.errors import ImageError
from runtime.images.registry_config import load_registry_config
from runtime.images.service import ImageServiceServicer
from runtime.images.store import ImageStore
from runtime.service.errors import ErrorInterceptor
from runtime.streaming.server import StreamingServer

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 5.0


class DaemonError(Exception):
    """The daemon cannot start; the message says why and what to do."""


class SocketInUse(DaemonError):
    """Another runtime already serves the socket."""


def _socket_answers(path: Path) -> bool:
    """True when something accepts connections on the unix socket at ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class SocketOwnership:
    """The lock that makes one daemon the owner of a socket path."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.lock_path = socket_path.with_name(socket_path.name + ".lock")
        self._lock_fd: int | None = None

    def acquire(self) -> None:
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise SocketInUse(
                    f"another kyb runtime already serves {self.socket_path} "
                    f"(it holds {self.lock_path}); stop it or choose another --socket"
                ) from e
            raise DaemonError(f"cannot lock {self.lock_path}: {e.strerror}") from e
        self._lock_fd = fd
        try:
            self._clear_stale_socket()
        except DaemonError:
            self.release(remove_socket=False)
            raise

    def _clear_stale_socket(self) -> None:
        try:
            st = os.lstat(self.socket_path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise DaemonError(f"{self.socket_path} exists and is not a socket; remove it or choose another --socket")
        if _socket_answers(self.socket_path):
            raise SocketInUse(
                f"another runtime already serves {self.socket_path}; stop it or choose another --socket"
            )
        log.info("replacing stale socket", extra={"socket": str(self.socket_path)})
        os.unlink(self.socket_path)

    def release(self, remove_socket: bool = True) -> None:
        if remove_socket:
            try:
                os.unlink(self.socket_path)
            except FileNotFoundError:
                pass
        if self._lock_fd is not None:
            try:
                os.unlink(self.lock_path)
            except FileNotFoundError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = None


class RuntimeDaemon:
    """A CRI server on a unix socket over a runtime root directory."""

    def __init__(
        self, socket_path: Path, root: Path, max_workers: int = 16, registry_config: Path | None = None,
        cgroup_root: str = "/kyb", network: Any = None, streaming_address: str = "127.0.0.1:0",
    ) -> None:
        self.socket_path = socket_path
        self.root = root
        self.registry_config = registry_config
        self.cgroup_root = cgroup_root
        self.network = network
        self.streaming_address = streaming_address
        self.max_workers = max_workers
        self._context: RuntimeContext | None = None
        self._runtime_service: RuntimeService | None = None
        self._streaming: StreamingServer | None = None
        self._ownership = SocketOwnership(socket_path)
        self._server: grpc.Server | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DaemonError(f"cannot create runtime root {self.root}: {e.strerror}") from e
        try:
            registries = load_registry_config(self.registry_config)
            images = ImageStore(self.root / "images")
        except (ImageError, OSError) as e:
            raise DaemonError(str(e)) from e
        self._ownership.acquire()
        try:
            runtime_service = self._start_runtime(images)
            server = grpc.server(
                futures.ThreadPoolExecutor(max_workers=self.max_workers), interceptors=[ErrorInterceptor()],
                # containerd's limits, and the kubelet's: 16 MiB either way, not gRPC's 4 MiB.
                options=[("grpc.max_receive_message_length", MAX_MESSAGE_SIZE),
                         ("grpc.max_send_message_length", MAX_MESSAGE_SIZE)],
            )
            api_pb2_grpc.add_RuntimeServiceServicer_to_server(runtime_service, server)
            image_service = ImageServiceServicer(
                images, in_use=runtime_service.containers.in_use, registry_config=registries
            )
            api_pb2_grpc.add_ImageServiceServicer_to_server(image_service, server)
            if server.add_insecure_port(f"unix:{self.socket_path}") == 0:
                raise DaemonError(f"cannot listen on {self.socket_path}")
            server.start()
            os.chmod(self.socket_path, 0o660)
        except BaseException:
            self._stop_runtime()
            self._ownership.release()
            raise
        self._server = server
        log.info("serving CRI", extra={"socket": str(self.socket_path), "root": str(self.root)})

    def _start_runtime(self, images: ImageStore) -> RuntimeService:
        """Fork server, leftovers from a crash, exit watching, pod network, streaming server."""
        try:
            ctx = RuntimeContext.create(self.root, self.cgroup_root, images=images, network=self.network)
            # Started before the gRPC threads exist; every container is forked from it.
            ctx.forkserver.start()
        except (OSError, ForkServerError, CgroupError) as e:
            raise DaemonError(f"cannot set up the runtime: {e}") from e
        self._context = ctx
        if self.network is not None:
            try:
                self.network.ensure_node()
            except Exception as e:  # reported as NetworkReady=false by Status, not fatal
                log.warning("pod network not ready", extra={"error": str(e)})
        runtime_service = RuntimeService(ctx)
        self._runtime_service = runtime_service
        try:
            runtime_service.sandboxes.collect_half_made()
        except Exception as e:  # leftovers must not keep the runtime from serving
            log.warning("could not collect half-made objects", extra={"error": str(e)})
        if self.network is not None:
            # A pod half made when the daemon died, or one whose record was set aside, still has
            # its address, veth and hostPort rules: only the attachments know them now.
            try:
                released = self.network.release_unknown(ctx.sandboxes.ids())
            except Exception as e:
                log.warning("could not release stale pod network attachments", extra={"error": str(e)})
            else:
                if released:
                    log.warning("released stale pod network attachments", extra={"sandboxes": released})
        runtime_service.containers.watch_running()
        host, _, port = self.streaming_address.rpartition(":")
        streaming = StreamingServer(runtime_service.containers, host or "127.0.0.1", int(port or 0))
        try:
            streaming.start()
            self._streaming = runtime_service.streaming = streaming
        except OSError as e:  # Exec/Attach/PortForward then answer UNIMPLEMENTED; the rest serves
            log.warning("streaming server not started", extra={"address": self.streaming_address, "error": str(e)})
        return runtime_service

    def _stop_runtime(self) -> None:
        if self._streaming is not None:
            self._streaming.stop()
            self._streaming = None
        if self._runtime_service is not None:
            self._runtime_service.containers.exits.stop()
            self._runtime_service = None
        if self._context is not None:
            self._context.forkserver.stop()
            self._context = None

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(SHUTDOWN_GRACE_SECONDS).wait(SHUTDOWN_GRACE_SECONDS + 1)
            self._server = None
        self._stop_runtime()
        self._ownership.release()
        self._stopped.set()

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on signal", extra={"signal": signal.Signals(signum).name})
        threading.Thread(target=self.stop, name="kyb-runtime-stop", daemon=True).start()

    def serve_until_signalled(self) -> None:
        """Run until SIGTERM or SIGINT, then shut down cleanly."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.start()
        while not self._stopped.wait(0.5):
            pass
