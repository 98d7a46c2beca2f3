"""Just enough of an apiserver for kubectl exec, attach and port-forward against a real runtime.

kubectl reads API discovery and the pod, then upgrades ``POST /api/v1/namespaces/<ns>/pods/<pod>/
exec?command=..&stdin=..&stdout=..&stderr=..&tty=..`` (``attach``, ``portforward`` alike) to SPDY
or WebSocket. A real apiserver hands that to the kubelet, which asks the runtime for a streaming
URL over the CRI (Exec/Attach/PortForward) and proxies the connection there. This relay does the
same in one step: it answers discovery and the pod GET from what the test registered, makes the
CRI call, then sends kubectl's request head to the streaming server (path rewritten to the
URL's, every header kept) and copies raw bytes both ways. So kubectl's own SPDY or WebSocket
client talks to the runtime's streaming server, with nothing of ours in between that parses it.

The relay runs its own asyncio loop in a thread that first enters the runtime's network
namespace, where the streaming server listens on 127.0.0.1; kubectl is run there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cri import api_pb2
from cri.client import RuntimeClient
from runtime.linux.syscalls import CLONE_NEWNET, LibcKernel

HEAD_LIMIT = 64 * 1024


@dataclass
class ContainerEntry:
    id: str
    stdin: bool = False
    tty: bool = False


@dataclass
class PodEntry:
    sandbox_id: str
    containers: dict[str, ContainerEntry] = field(default_factory=dict)
    uid: str = "relay-pod-uid"


def _truthy(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, [""])[0].lower() in ("true", "1")


class KubectlApiserverRelay:
    def __init__(self, cri: RuntimeClient, netns: str) -> None:
        self.cri = cri
        self.netns = netns
        self.pods: dict[tuple[str, str], PodEntry] = {}
        self.port = 0
        self.upgrades: list[str] = []  # the Upgrade header of every relayed streaming request
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_pod(self, namespace: str, name: str, entry: PodEntry) -> None:
        self.pods[(namespace, name)] = entry

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            try:
                with open(f"/run/netns/{self.netns}") as f:
                    LibcKernel().setns(f.fileno(), CLONE_NEWNET)  # this thread only
                loop = asyncio.new_event_loop()
                self._loop = loop
                self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as e:  # noqa: B036 - reported to the starting thread
                errors.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, name="kubectl-relay", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    # -- HTTP ------------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
            parts = urlsplit(target)
            path = [p for p in parts.path.split("/") if p]
            query = parse_qs(parts.query)
            if len(path) == 7 and path[:3] == ["api", "v1", "namespaces"] and path[4] == "pods" \
                    and path[6] in ("exec", "attach", "portforward"):
                await self._relay(reader, writer, method, path[3], path[5], path[6], query, headers, head)
                return
            status, body = self._get(method, path)
            await self._respond(writer, status, body)
        except Exception as e:  # noqa: BLE001 - a broken request gets a 500 the test can read
            with contextlib.suppress(Exception):
                await self._respond(writer, 500, self._status(500, f"relay: {type(e).__name__}: {e}"))

    async def _respond(self, writer: asyncio.StreamWriter, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                     f"Connection: close\r\n\r\n".encode() + data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    @staticmethod
    def _status(code: int, message: str) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
                "code": code}

    def _get(self, method: str, path: list[str]) -> tuple[int, dict[str, Any]]:
        if method != "GET":
            return 405, self._status(405, f"{method} is not served by this relay")
        if path == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if path == ["apis"]:
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
        if path == ["api", "v1"]:
            verbs = ["get", "list"]
            return 200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": verbs,
                 "shortNames": ["po"]},
                {"name": "pods/exec", "singularName": "", "namespaced": True, "kind": "PodExecOptions",
                 "verbs": ["create", "get"]},
                {"name": "pods/attach", "singularName": "", "namespaced": True, "kind": "PodAttachOptions",
                 "verbs": ["create", "get"]},
                {"name": "pods/portforward", "singularName": "", "namespaced": True, "kind": "PodPortForwardOptions",
                 "verbs": ["create", "get"]},
            ]}
        if len(path) == 6 and path[:3] == ["api", "v1", "namespaces"] and path[4] == "pods":
            pod = self.pods.get((path[3], path[5]))
            if pod is None:
                return 404, self._status(404, f'pods "{path[5]}" not found')
            return 200, self._pod_json(path[3], path[5], pod)
        return 404, self._status(404, "the server could not find the requested resource")

    @staticmethod
    def _pod_json(namespace: str, name: str, pod: PodEntry) -> dict[str, Any]:
        return {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": pod.uid},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": cname, "image": "busybox:latest", "stdin": c.stdin, "tty": c.tty}
                for cname, c in pod.containers.items()]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": cname, "ready": True, "restartCount": 0, "image": "busybox:latest", "imageID": "",
                 "containerID": f"kyb://{c.id}", "state": {"running": {}}}
                for cname, c in pod.containers.items()]},
        }

    # -- the streaming subresources --------------------------------------------------------------
    def _streaming_url(self, namespace: str, name: str, kind: str, query: dict[str, list[str]]) -> str:
        pod = self.pods[(namespace, name)]
        if kind == "portforward":
            ports = [int(p) for p in query.get("ports", []) if p.isdigit()]
            request = api_pb2.PortForwardRequest(pod_sandbox_id=pod.sandbox_id, port=ports)
            return self.cri._call(self.cri.runtime, "PortForward", request).url  # type: ignore[no-any-return]
        container_name = query.get("container", [next(iter(pod.containers))])[0]
        container = pod.containers[container_name]
        flags = {"stdin": _truthy(query, "stdin"), "stdout": _truthy(query, "stdout"),
                 "stderr": _truthy(query, "stderr"), "tty": _truthy(query, "tty")}
        if kind == "exec":
            exec_request = api_pb2.ExecRequest(container_id=container.id, cmd=query.get("command", []), **flags)
            return self.cri._call(self.cri.runtime, "Exec", exec_request).url  # type: ignore[no-any-return]
        attach_request = api_pb2.AttachRequest(container_id=container.id, **flags)
        return self.cri._call(self.cri.runtime, "Attach", attach_request).url  # type: ignore[no-any-return]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, namespace: str,
                     name: str, kind: str, query: dict[str, list[str]], headers: list[tuple[str, ...]],
                     head: bytes) -> None:
        if (namespace, name) not in self.pods:
            await self._respond(writer, 404, self._status(404, f'pods "{name}" not found'))
            return
        loop = asyncio.get_running_loop()
        url = urlsplit(await loop.run_in_executor(None, self._streaming_url, namespace, name, kind, query))
        self.upgrades.append(dict((k.lower(), v) for k, v in headers).get("upgrade", ""))
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
        kept = "".join(f"{k}: {v}\r\n" for k, v in headers if k.lower() != "host")
        up_writer.write(f"{method} {url.path}{'?' + url.query if url.query else ''} HTTP/1.1\r\n"
                        f"Host: {url.netloc}\r\n{kept}\r\n".encode("latin-1"))

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
                if sink.can_write_eof():
                    sink.write_eof()

        try:
            await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        finally:
            up_writer.close()
            writer.close()
