"""The registry client against a scripted HTTP server on loopback: redirects and verification."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runtime.images.content import ContentStore, sha256_digest
from runtime.images.errors import DigestMismatch, RegistryNotFound
from runtime.images.registry import RegistryClient
from runtime.images.registry_config import AuthConfig, Endpoint

BLOB = b"layer bytes" * 1000
DIGEST = sha256_digest(BLOB)
MANIFEST = b'{"schemaVersion":2,"layers":[],"config":{}}'


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []
    cdn = ""

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append((self.path, self.headers.get("Authorization")))
        if self.path.startswith("/cdn/"):
            self._send(200, BLOB)
        elif not self.headers.get("Authorization"):
            self._send(401, b"", {"WWW-Authenticate": 'Basic realm="test"'})
        elif self.path == f"/v2/app/blobs/{DIGEST}":
            self._send(307, b"", {"Location": f"{self.cdn}/cdn/{DIGEST}"})
        elif self.path == "/v2/app/manifests/lying":
            self._send(200, MANIFEST, {"Docker-Content-Digest": "sha256:" + "0" * 64})
        else:
            self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def servers() -> Iterator[tuple[str, str]]:
    Recorder.seen = []
    registry = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    cdn = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.cdn = f"http://127.0.0.1:{cdn.server_address[1]}"
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (registry, cdn)]
    for t in threads:
        t.start()
    try:
        yield f"127.0.0.1:{registry.server_address[1]}", Recorder.cdn
    finally:
        for s in (registry, cdn):
            s.shutdown()
            s.server_close()


def client(host: str) -> RegistryClient:
    return RegistryClient(Endpoint("http", host), "app", AuthConfig(username="u", password="p"))


def test_a_blob_redirected_to_another_host_is_fetched_without_the_credentials(
    servers: tuple[str, str], tmp_path: Path
) -> None:
    host, _ = servers
    content = ContentStore(tmp_path)
    assert client(host).fetch_blob(DIGEST, content) == DIGEST
    assert content.read_bytes(DIGEST) == BLOB
    cdn_requests = [auth for path, auth in Recorder.seen if path.startswith("/cdn/")]
    assert cdn_requests == [None]
    assert [auth for path, auth in Recorder.seen if path.startswith("/v2/")][-1].startswith("Basic ")  # type: ignore[union-attr]


def test_a_manifest_whose_digest_header_lies_is_refused(servers: tuple[str, str]) -> None:
    with pytest.raises(DigestMismatch, match="sha256:0000"):
        client(servers[0]).get_manifest("lying")


def test_a_missing_manifest_is_not_found_with_the_registry_message(servers: tuple[str, str]) -> None:
    with pytest.raises(RegistryNotFound, match="manifest unknown"):
        client(servers[0]).get_manifest("nope")
