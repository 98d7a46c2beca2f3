"""An apiserver running in-process (own thread, own event loop) on a free loopback port.

Tests talk to it over real HTTP with the standard library, as any client would, and can reach
the store underneath (through the server's loop) to compact it or inspect allocation keys.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiserver.context import ServerConfig
from apiserver.server import APIServer


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class RunningServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.server = APIServer(config)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.run(self.server.start())

    def stop(self) -> None:
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def run(self, coro: Any, timeout: float = 30) -> Any:
        fut: Future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    @property
    def port(self) -> int:
        return self.server.port

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
                headers: dict[str, str] | None = None, timeout: float = 30) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs["Content-Type"] = content_type
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Reply(resp.status, parsed, {k.lower(): v for k, v in resp.getheaders()})

    def watch_lines(self, path: str, max_events: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Up to ``max_events`` events of a watch (stops early when the server ends the stream)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        events = []
        try:
            while len(events) < max_events:
                line = resp.readline()
                if not line:
                    break
                if line.strip():
                    events.append(json.loads(line))
        finally:
            conn.close()
        return events


def start_server(tmp: Path, **overrides: Any) -> RunningServer:
    settings = {"port": 0, "compaction_interval": 0, **overrides}
    config = ServerConfig(data_dir=tmp, **settings)
    server = RunningServer(config)
    server.start()
    return server


