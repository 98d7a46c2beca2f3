"""The streaming server behind the CRI Exec, Attach and PortForward: one-time URLs, two transports.

Exec returns ``http://<address>/exec/<token>`` (likewise ``/attach/`` and ``/portforward/``).
Whoever opens the URL first, before it expires, gets the session the CRI request described
(``tokens``); unknown or used tokens are a 404. The same URL speaks both transports Kubernetes
clients use, chosen by the request's ``Upgrade`` header, as the kubelet's streaming server does:

- ``SPDY/3.1``: kubelets, kubectl and critest by default (``spdy_*`` modules);
- ``websocket``: the channel protocols (``websocket_remotecommand``, ``portforward``), and for
  port-forward also SPDY tunnelled in WebSocket messages (``SPDY/3.1+portforward.k8s.io``,
  kubectl's WebSocket port-forward).

Anything else is a 400 that says what to ask for. GET and POST are both accepted (client-go
upgrades with POST). The server runs its own asyncio loop in a thread of the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web

from runtime.container.manager import ContainerManager
from runtime.streaming import (
    portforward,
    spdy_portforward,
    spdy_remotecommand,
    spdy_upgrade,
    websocket_remotecommand,
)
from runtime.streaming.attach_socket import open_attach_socket
from runtime.streaming.spdy_session import ByteChannel, SpdySession, StreamFilter
from runtime.streaming.tokens import StreamRequest, TokenCache

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 2.0
NOT_AN_UPGRADE = ("unable to upgrade: ask for Upgrade: SPDY/3.1 (with X-Stream-Protocol-Version) "
                  "or Upgrade: websocket (with a channel subprotocol)")


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
        for kind, handler in (("exec", self._exec), ("attach", self._attach), ("portforward", self._port_forward)):
            app.router.add_get(f"/{kind}/{{token}}", handler)
            app.router.add_post(f"/{kind}/{{token}}", handler)
        # live sessions (a port-forward can last hours) get a short grace on stop, then are cancelled
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr,attr-defined]
        if sockets:
            self.port = sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        if self._runner is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(SHUTDOWN_GRACE + 5)
            except Exception as e:  # the loop stops below either way
                log.warning("streaming server did not shut down cleanly", extra={"error": repr(e)})
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def issue(self, request: StreamRequest) -> str:
        return f"{self.base_url}/{request.kind}/{self.tokens.issue(request)}"

    def _consume(self, http: web.Request, kind: str) -> StreamRequest:
        request = self.tokens.consume(http.match_info["token"])
        if request is None or request.kind != kind:
            raise web.HTTPNotFound(text="unknown or expired streaming token")
        return request

    # ------------------------------------------------------------------ exec and attach
    async def _exec(self, http: web.Request) -> web.StreamResponse:
        request = self._consume(http, "exec")
        if spdy_upgrade.wants_spdy(http):
            async def run(session: SpdySession, protocol: str) -> None:
                streams = await spdy_remotecommand.wait_for_streams(session, request, protocol)
                await spdy_remotecommand.serve_exec(session, streams, self.containers, request)
            return await self._spdy(http, spdy_remotecommand.PROTOCOLS, spdy_remotecommand.refuse_unless_typed, run)
        if spdy_upgrade.wants_websocket(http):
            return await websocket_remotecommand.serve_exec(http, self.containers, request)
        raise web.HTTPBadRequest(text=NOT_AN_UPGRADE)

    async def _attach(self, http: web.Request) -> web.StreamResponse:
        request = self._consume(http, "attach")
        if spdy_upgrade.wants_spdy(http):
            protocol = spdy_upgrade.negotiate(http, spdy_remotecommand.PROTOCOLS)
            reader, writer = await open_attach_socket(self.containers, request.container_id)

            async def run(session: SpdySession, protocol: str) -> None:
                streams = await spdy_remotecommand.wait_for_streams(session, request, protocol)
                await spdy_remotecommand.serve_attach(session, streams, reader, writer, request)
            try:
                return await self._spdy(http, (protocol,), spdy_remotecommand.refuse_unless_typed, run)
            finally:
                writer.close()
        if spdy_upgrade.wants_websocket(http):
            return await websocket_remotecommand.serve_attach(http, self.containers, request)
        raise web.HTTPBadRequest(text=NOT_AN_UPGRADE)

    # ------------------------------------------------------------------ port forward
    async def _port_forward(self, http: web.Request) -> web.StreamResponse:
        request = self._consume(http, "portforward")

        async def run(session: SpdySession, protocol: str) -> None:
            await spdy_portforward.serve(session, request.netns)
        if spdy_upgrade.wants_spdy(http):
            return await self._spdy(http, spdy_portforward.PROTOCOLS, spdy_portforward.refuse_invalid, run)
        if not spdy_upgrade.wants_websocket(http):
            raise web.HTTPBadRequest(text=NOT_AN_UPGRADE)
        tunnel = spdy_upgrade.tunnel_protocols(spdy_portforward.PROTOCOLS)
        offered = [p.strip() for p in http.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if any(p in tunnel for p in offered):
            ws = web.WebSocketResponse(protocols=tunnel, max_msg_size=0)
            await ws.prepare(http)
            await self._run_session(spdy_upgrade.WebSocketChannel(ws), spdy_portforward.refuse_invalid, run,
                                    (ws.ws_protocol or "").removeprefix(spdy_upgrade.TUNNEL_PREFIX))
            return ws
        ports = [int(p) for p in http.query.getall("port", []) if p.isdigit()] or request.ports
        if not ports or not all(0 < p < 65536 for p in ports):
            raise web.HTTPBadRequest(text="name at least one port (1-65535) to forward")
        return await portforward.serve(http, request.netns, ports)

    # ------------------------------------------------------------------ SPDY plumbing
    async def _spdy(self, http: web.Request, protocols: tuple[str, ...], refuse: StreamFilter,
                    run: Callable[[SpdySession, str], Awaitable[None]]) -> web.StreamResponse:
        protocol = spdy_upgrade.negotiate(http, protocols)
        channel, response = await spdy_upgrade.accept_spdy(http, protocol)
        await self._run_session(channel, refuse, run, protocol)
        return response

    @staticmethod
    async def _run_session(channel: ByteChannel, refuse: StreamFilter,
                           run: Callable[[SpdySession, str], Awaitable[None]], protocol: str) -> None:
        session = SpdySession(channel, refuse)
        reader = asyncio.ensure_future(session.run())
        try:
            await run(session, protocol)
        except spdy_remotecommand.StreamsNotCreated as e:
            log.info("streaming session abandoned", extra={"reason": str(e)})
        except Exception:
            log.exception("streaming session failed")
        finally:
            await session.close()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
