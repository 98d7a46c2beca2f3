"""A streaming server for Exec and Attach: Kubernetes' WebSocket remote-command protocol.

The client (the kubelet's proxy, or kubectl-like tools) opens ``/exec/<token>`` as a WebSocket
with one of the channel subprotocols (``v5.channel.k8s.io``, ``v4.channel.k8s.io``,
``channel.k8s.io``). Every binary message starts with a channel byte: 0 stdin, 1 stdout,
2 stderr, 3 error (a JSON ``Status`` when the command ends: Success, or Failure with reason
``NonZeroExitCode`` and the code as a cause), 4 terminal resize (``{"Width":..,"Height":..}``).
v5 adds ``[255, 0]``: the client closed stdin. As in the upstream server, an empty message on
the first output channel tells the client the stream is open.

An exec'd command runs like ExecSync's: the fork server forks it into the container with our
pipe ends (a terminal is made inside the container and its master passed back). Attach relays
between the client and the container's shim, which owns the container's stdio (see
``runtime.shim.attach``). The server runs its own asyncio loop in a thread of the daemon.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import struct
import termios
import threading
from typing import Any

from aiohttp import WSMsgType, web

from runtime.container.manager import ContainerManager
from runtime.forkserver import ForkServerError
from runtime.shim.attach import HEADER, SOCKET_NAME, frame
from runtime.streaming import portforward
from runtime.streaming.tokens import StreamRequest, TokenCache

log = logging.getLogger(__name__)

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def exit_status(code: int) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command, exit status {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def failure(message: str) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError"}


class StreamingServer:
    def __init__(self, containers: ContainerManager, host: str = "127.0.0.1", port: int = 0) -> None:
        self.containers = containers
        self.tokens = TokenCache()
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start_site())
            except BaseException as e:  # noqa: B036 - reported to the starting thread
                errors.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=serve, name="kyb-streaming", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]

    async def _start_site(self) -> None:
        app = web.Application()
        app.router.add_get("/exec/{token}", self._exec)
        app.router.add_get("/attach/{token}", self._attach)
        app.router.add_get("/portforward/{token}", self._port_forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        if sockets:
            self.port = sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def issue(self, request: StreamRequest) -> str:
        return f"{self.base_url}/{request.kind}/{self.tokens.issue(request)}"

    # ------------------------------------------------------------------ exec
    async def _exec(self, http: web.Request) -> web.StreamResponse:
        request = self.tokens.consume(http.match_info["token"])
        if request is None or request.kind != "exec":
            raise web.HTTPNotFound(text="unknown or expired streaming token")
        ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
        await ws.prepare(http)
        v5 = ws.ws_protocol == "v5.channel.k8s.io"
        loop = asyncio.get_running_loop()
        try:
            process = await loop.run_in_executor(None, self._spawn, request)
        except Exception as e:
            await self._send(ws, ERROR, json.dumps(failure(str(e))).encode())
            await ws.close()
            return ws
        first = STDOUT if request.stdout else STDERR
        await self._send(ws, first, b"")
        pumps = [asyncio.ensure_future(self._pump(ws, fd, channel)) for fd, channel in process["outputs"]]
        reader = asyncio.ensure_future(self._read_client(ws, process, v5))
        try:
            code = await loop.run_in_executor(None, self._wait, process)
            await asyncio.wait_for(asyncio.gather(*pumps), timeout=5)
        except (TimeoutError, ForkServerError) as e:
            code = None
            await self._send(ws, ERROR, json.dumps(failure(str(e))).encode())
        finally:
            reader.cancel()
            for fd in process["close"]:
                _close(fd)
        if code is not None:
            await self._send(ws, ERROR, json.dumps(exit_status(code)).encode())
        await ws.close()
        return ws

    async def _port_forward(self, http: web.Request) -> web.StreamResponse:
        request = self.tokens.consume(http.match_info["token"])
        if request is None or request.kind != "portforward":
            raise web.HTTPNotFound(text="unknown or expired streaming token")
        ports = [int(p) for p in http.query.getall("port", [])] or request.ports
        if not ports or not all(0 < p < 65536 for p in ports):
            raise web.HTTPBadRequest(text="name at least one port (1-65535) to forward")
        return await portforward.serve(http, request.netns, ports)

    # ------------------------------------------------------------------ attach
    async def _attach(self, http: web.Request) -> web.StreamResponse:
        request = self.tokens.consume(http.match_info["token"])
        if request is None or request.kind != "attach":
            raise web.HTTPNotFound(text="unknown or expired streaming token")
        directory = str(self.containers.ctx.containers.path(request.container_id))
        dir_fd = os.open(directory, os.O_PATH | os.O_CLOEXEC)
        try:
            reader, writer = await asyncio.open_unix_connection(f"/proc/self/fd/{dir_fd}/{SOCKET_NAME}")
        except OSError:
            raise web.HTTPConflict(text="the container is not running") from None
        finally:
            os.close(dir_fd)
        ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
        await ws.prepare(http)
        v5 = ws.ws_protocol == "v5.channel.k8s.io"
        await self._send(ws, STDOUT if request.stdout else STDERR, b"")
        wanted = {STDOUT} if request.tty else {c for c, on in ((STDOUT, request.stdout), (STDERR, request.stderr)) if on}

        async def from_client() -> None:
            async for message in ws:
                if message.type != WSMsgType.BINARY or not message.data:
                    continue
                channel, payload = message.data[0], message.data[1:]
                if channel == STDIN and request.stdin:
                    writer.write(frame(STDIN, payload))
                elif channel == RESIZE and request.tty:
                    writer.write(frame(RESIZE, payload))
                elif v5 and channel == CLOSE and request.stdin:
                    writer.write(frame(CLOSE, b""))
                await writer.drain()

        client = asyncio.ensure_future(from_client())
        try:
            while True:
                header = await reader.readexactly(HEADER.size)
                channel, length = HEADER.unpack(header)
                payload = await reader.readexactly(length)
                if channel in wanted:
                    await self._send(ws, channel, payload)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            client.cancel()
            writer.close()
        await self._send(ws, ERROR, json.dumps(exit_status(0)).encode())
        await ws.close()
        return ws

    def _spawn(self, request: StreamRequest) -> dict[str, Any]:
        record = self.containers.require_running(request.container_id)
        directory = str(self.containers.ctx.containers.path(record["id"]))
        if request.tty:
            stdio, outputs, stdin_w, local, remote = [], [], -1, [], []  # the pty is made inside
        else:
            in_r, in_w = os.pipe() if request.stdin else (os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC), -1)
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            stdio = [in_r, out_w, err_w]
            outputs = [(out_r, STDOUT), (err_r, STDERR)]
            stdin_w = in_w
            local, remote = [fd for fd in (in_w, out_r, err_r) if fd >= 0], [in_r, out_w, err_w]
        try:
            conn = self.containers.ctx.forkserver.request(
                {"op": "exec", "container_dir": directory, "pid": record["pid"], "args": request.cmd, "tty": request.tty},
                stdio,
            )
        finally:
            for fd in remote:
                _close(fd)
        answer, fds = conn.receive_with_fds(30.0)
        if "error" in answer:
            conn.close()
            for fd in local + fds:
                _close(fd)
            raise RuntimeError(answer["error"])
        if request.tty:
            if not fds:
                conn.close()
                raise RuntimeError("the exec helper sent no terminal")
            master = fds[0]
            outputs, stdin_w, local = [(master, STDOUT)], master, [master]
        for fd, _ in outputs:
            os.set_blocking(fd, False)
        return {"conn": conn, "pid": answer["pid"], "outputs": outputs, "stdin": stdin_w, "tty": request.tty,
                "close": local}

    @staticmethod
    def _wait(process: dict[str, Any]) -> int:
        try:
            return int(process["conn"].receive(None)["exit_code"])
        finally:
            process["conn"].close()

    async def _pump(self, ws: web.WebSocketResponse, fd: int, channel: int) -> None:
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        loop.add_reader(fd, readable.set)
        try:
            while True:
                await readable.wait()
                readable.clear()
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:  # EIO: the pty's other side is gone
                    return
                if not data:
                    return
                await self._send(ws, channel, data)
        finally:
            loop.remove_reader(fd)

    async def _read_client(self, ws: web.WebSocketResponse, process: dict[str, Any], v5: bool) -> None:
        stdin = process["stdin"]
        async for message in ws:
            if message.type != WSMsgType.BINARY or not message.data:
                continue
            channel, payload = message.data[0], message.data[1:]
            if channel == STDIN and stdin >= 0:
                try:
                    os.write(stdin, payload)
                except OSError:
                    pass
            elif channel == RESIZE and process["tty"]:
                size = json.loads(payload or b"{}")
                fcntl.ioctl(stdin, termios.TIOCSWINSZ, struct.pack("HHHH", size.get("Height", 24), size.get("Width", 80), 0, 0))
            elif v5 and channel == CLOSE and payload[:1] == bytes([STDIN]) and not process["tty"] and stdin >= 0:
                _close(stdin)
                process["close"] = [fd for fd in process["close"] if fd != stdin]
                process["stdin"] = stdin = -1

    @staticmethod
    async def _send(ws: web.WebSocketResponse, channel: int, data: bytes) -> None:
        if not ws.closed:
            await ws.send_bytes(bytes([channel]) + data)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
