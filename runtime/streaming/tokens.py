"""One-time tokens for streaming URLs, as the kubelet's streaming server issues them.

Exec returns ``http://<address>/exec/<token>``; the token names the validated request, may be
used once, and expires after a minute, so a URL that leaks later is worthless.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

TOKEN_TTL = 60.0


@dataclass
class StreamRequest:
    kind: str
    container_id: str
    cmd: list[str] = field(default_factory=list)
    tty: bool = False
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    netns: str | None = None
    ports: list[int] = field(default_factory=list)


class TokenCache:
    def __init__(self, ttl: float = TOKEN_TTL) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, StreamRequest]] = {}
        self._lock = threading.Lock()

    def issue(self, request: StreamRequest) -> str:
        token = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            for key in [k for k, (expiry, _) in self._entries.items() if expiry < now]:
                del self._entries[key]
            self._entries[token] = (now + self.ttl, request)
        return token

    def consume(self, token: str) -> StreamRequest | None:
        with self._lock:
            entry = self._entries.pop(token, None)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]
