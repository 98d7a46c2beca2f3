"""The one place the client does network I/O: send a ``Request``, get JSON or a line stream back.

Everything above this module works with plain data (``Request`` in, dicts out); everything about
HTTP lives here: the aiohttp session, TLS and auth headers from the ``ClusterConfig``, timeouts,
turning failed answers into ``ApiError``s, and the retry policy.

Retries are bounded (``RetryPolicy.max_attempts``) with exponential backoff and jitter, and happen
only when resending cannot do harm:

- the connection could not be established (nothing was sent): always;
- the connection broke or timed out after sending: only for idempotent requests (GET, DELETE, a
  PUT carrying a resourceVersion); a POST or PATCH might have been applied;
- 429 Too Many Requests: always (the server did not process it); 5xx: idempotent requests, or any
  request when the server sent ``Retry-After`` (it says trying again is fine).

``Retry-After`` (the header, or ``details.retryAfterSeconds``) replaces the computed backoff,
capped at ``max_retry_after`` so a confused server cannot park a controller for an hour.

An optional client-side ``throttle`` (a token bucket: qps with burst, as client-go's QPS/Burst)
paces every request this transport sends, retries included, so a runaway reconcile loop slows
down before it overloads the apiserver.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import aiohttp

from client.errors import ApiError, TooManyRequests, TransportError, error_from_response
from client.kubeconfig import ClusterConfig
from client.ratelimit import TokenBucket
from client.request import Request

log = logging.getLogger(__name__)

USER_AGENT = "kybernetes-client/0.1"
_RETRYABLE_5XX = (500, 502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 5.0
    max_retry_after: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Delay before attempt ``attempt + 1`` (attempt counts from 1): exponential, jittered."""
        delay = float(min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))
        return delay * random.uniform(0.5, 1.0)


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1)


def _retry_after_header(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: rare from apiservers; fall back to our own backoff


class Transport:
    """An aiohttp session bound to one apiserver; create and close it inside the event loop."""

    def __init__(self, config: ClusterConfig, *, timeout: float = 30.0, retry: RetryPolicy = DEFAULT_RETRY,
                 session: aiohttp.ClientSession | None = None, throttle: TokenBucket | None = None) -> None:
        self.config = config
        self.timeout = timeout
        self.retry = retry
        self.throttle = throttle  # client-side qps/burst over every request sent (None: unlimited)
        self._session = session
        self._owns_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No connection limit: every informer holds a watch open for minutes at a time.
            connector = aiohttp.TCPConnector(limit=0, ssl=self.config.ssl_context or True)
            self._session = aiohttp.ClientSession(connector=connector)
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._session is not None and self._owns_session and not self._session.closed:
            await self._session.close()

    def _headers(self, req: Request) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.config.headers()}
        if req.body is not None:
            headers["Content-Type"] = req.content_type
        return headers

    def _delay_for(self, req: Request, attempt: int, *, sent: bool, error: ApiError | None) -> float | None:
        """Seconds to wait before retrying, or None when this failure must not be retried."""
        if attempt >= self.retry.max_attempts:
            return None
        if error is None:  # no answer at all
            if sent and not req.idempotent:
                return None
            return self.retry.backoff(attempt)
        server_says = error.retry_after
        if isinstance(error, TooManyRequests) or (
            error.code in _RETRYABLE_5XX and (req.idempotent or server_says is not None)
        ):
            if server_says is not None:
                return min(server_says, self.retry.max_retry_after)
            return self.retry.backoff(attempt)
        return None

    async def _open(self, req: Request, timeout: aiohttp.ClientTimeout, *,
                    read_body: bool) -> tuple[aiohttp.ClientResponse, bytes]:
        """A success response, retrying per policy (every attempt counts against one budget).

        With ``read_body`` the whole body is read as part of the attempt (a connection lost
        mid-answer is retried like any other) and the response is already released; without it
        the caller gets the live response to stream from and must close it.
        """
        url = req.url(self.config.server)
        data = json.dumps(req.body).encode() if req.body is not None else None
        attempt = 0
        while True:
            attempt += 1
            if self.throttle is not None:
                wait = self.throttle.when(None)
                if wait > 0:
                    await asyncio.sleep(wait)
            try:
                resp = await self.session.request(req.method, url, data=data, headers=self._headers(req),
                                                  timeout=timeout)
                if resp.status < 400 and not read_body:
                    return resp, b""
                try:
                    body = await resp.read()
                finally:
                    resp.release()
            except aiohttp.ClientConnectorError as e:
                delay = self._delay_for(req, attempt, sent=False, error=None)
                if delay is None:
                    raise TransportError(f"cannot connect to {self.config.server}: {e}", method=req.method,
                                         url=url) from e
                log.debug("connect failed; retrying", extra={"url": url, "attempt": attempt, "delay": delay})
                await asyncio.sleep(delay)
                continue
            except (TimeoutError, aiohttp.ClientError) as e:
                delay = self._delay_for(req, attempt, sent=True, error=None)
                if delay is None:
                    raise TransportError(f"{req.method} {url} failed: {type(e).__name__}: {e}",
                                         method=req.method, url=url) from e
                log.debug("request failed; retrying", extra={"url": url, "attempt": attempt, "delay": delay})
                await asyncio.sleep(delay)
                continue
            if resp.status < 400:
                return resp, body
            err = error_from_response(resp.status, body, _retry_after_header(resp.headers))
            delay = self._delay_for(req, attempt, sent=True, error=err)
            if delay is None:
                raise err
            log.debug("server asked to retry", extra={"url": url, "status": resp.status, "attempt": attempt,
                                                      "delay": delay})
            await asyncio.sleep(delay)

    async def send_object(self, req: Request) -> dict[str, Any]:
        """Send a request whose answer must be a JSON object (every API verb's is)."""
        answer = await self.send(req)
        if not isinstance(answer, dict):
            raise TransportError(f"{req.method} {req.path}: expected a JSON object, got {type(answer).__name__}",
                                 method=req.method, url=req.path)
        return answer

    async def send(self, req: Request) -> Any:
        """Send a unary request; the decoded JSON answer (None for an empty body)."""
        _, body = await self._open(req, aiohttp.ClientTimeout(total=self.timeout), read_body=True)
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError as e:
            raise TransportError(f"{req.method} {req.path}: answer is not JSON: {body[:200]!r}",
                                 method=req.method, url=req.path) from e

    async def stream(self, req: Request, read_timeout: float | None = None) -> AsyncGenerator[dict[str, Any], None]:
        """Send a streaming request (watch): yield each newline-delimited JSON object as it arrives.

        Ends when the server closes the stream cleanly; a broken stream raises TransportError,
        a failed answer ApiError (after the retries of ``_open``).
        """
        timeout = aiohttp.ClientTimeout(total=None, connect=self.timeout, sock_connect=self.timeout,
                                        sock_read=read_timeout)
        resp, _ = await self._open(req, timeout, read_body=False)
        buffer = b""
        try:
            async for chunk in resp.content.iter_any():
                buffer += chunk
                if b"\n" not in chunk:
                    continue
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield _decode_line(req, line)
            if buffer.strip():
                yield _decode_line(req, buffer)
        except (TimeoutError, aiohttp.ClientError) as e:
            raise TransportError(f"{req.method} {req.path}: stream broke: {type(e).__name__}: {e}",
                                 method=req.method, url=req.path) from e
        finally:
            resp.release()


def _decode_line(req: Request, line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as e:
        raise TransportError(f"{req.path}: stream carried a line that is not JSON: {line[:200]!r}",
                             method=req.method, url=req.path) from e
    if not isinstance(value, dict):
        raise TransportError(f"{req.path}: stream carried a non-object: {line[:200]!r}")
    return value
