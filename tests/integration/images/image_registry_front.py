"""A real registry on loopback (Debian's docker-registry) and an auth front for it.

``AuthFront`` stands between the client and the registry and demands credentials the way real
registries do: ``bearer`` mode answers 401 with a ``WWW-Authenticate: Bearer realm=...`` challenge
and runs the token endpoint that realm names (optionally wanting a user name and password, like
a private repository on Docker Hub); ``basic`` mode wants basic auth on every request. Accepted
requests are proxied to the registry unchanged.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SERVICE = "kyb-test-registry"


class AuthFront:
    def __init__(self, upstream: str, mode: str, credentials: tuple[str, str] | None) -> None:
        self.upstream = upstream
        self.mode = mode
        self.credentials = credentials
        self.tokens: set[str] = set()
        self.token_requests: list[dict[str, list[str]]] = []
        self.token_authorizations: list[str | None] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                front.handle(self)

            def do_HEAD(self) -> None:  # noqa: N802
                front.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.host = self.url.removeprefix("http://")
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _basic_ok(self, header: str | None) -> bool:
        if self.credentials is None:
            return True
        want = base64.b64encode(":".join(self.credentials).encode()).decode()
        return header == f"Basic {want}"

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        auth = h.headers.get("Authorization")
        if parts.path == "/token":
            query = parse_qs(parts.query)
            self.token_requests.append(query)
            self.token_authorizations.append(auth)
            if not self._basic_ok(auth):
                self._reply(h, 401, b'{"details":"bad credentials"}', {"Content-Type": "application/json"})
                return
            token = secrets.token_hex(16)
            self.tokens.add(token)
            self._reply(h, 200, json.dumps({"token": token, "expires_in": 300}).encode(), {})
            return
        if self.mode == "bearer":
            allowed = auth is not None and auth.removeprefix("Bearer ") in self.tokens
        else:
            allowed = auth is not None and auth.startswith("Basic ") and self._basic_ok(auth)
        if not allowed:
            repo = parts.path.removeprefix("/v2/").rsplit("/", 2)[0]
            if self.mode == "bearer":
                challenge = f'Bearer realm="{self.url}/token",service="{SERVICE}",scope="repository:{repo}:pull"'
            else:
                challenge = 'Basic realm="kyb-test"'
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
            self._reply(h, 401, body, {"WWW-Authenticate": challenge, "Content-Type": "application/json"})
            return
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() in ("accept",)}
            conn.request(h.command, h.path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            keep = ("content-type", "docker-content-digest", "location", "www-authenticate")
            self._reply(h, resp.status, body, {k: v for k, v in resp.getheaders() if k.lower() in keep})
        finally:
            conn.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
