"""A client of the OCI distribution API (``/v2/``), enough to pull.

Authentication follows the registry's challenge: a request is first sent as is; on ``401`` the
``WWW-Authenticate`` header says what to do. ``Basic`` means send the credentials directly;
``Bearer realm=...,service=...,scope=...`` means ask the token service at ``realm`` (with the
credentials as basic auth, if there are any; anonymously otherwise) for a token with
``repository:<name>:pull`` scope, then resend with ``Authorization: Bearer <token>``. Tokens
are cached per client, so a pull pays for the exchange once.

Redirects (registries hand blobs to a CDN) are followed by hand, and the ``Authorization``
header is dropped when the redirect leaves the registry's host, as Docker does.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

from runtime.images import mediatypes as mt
from runtime.images.content import ContentStore, sha256_digest
from runtime.images.errors import DigestMismatch, RegistryError, RegistryNotFound, RegistryUnauthorized
from runtime.images.registry_config import AuthConfig, Endpoint

log = logging.getLogger(__name__)

TIMEOUT = 30.0
MAX_MANIFEST = 4 << 20
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    conn: http.client.HTTPConnection
    resp: http.client.HTTPResponse

    def read(self, n: int = -1) -> bytes:
        return self.resp.read(n)

    def close(self) -> None:
        self.resp.close()
        self.conn.close()


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="x",service="y"`` -> ("bearer", {"realm": "x", "service": "y"})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest))


class RegistryClient:
    """Pull-side access to one repository at one endpoint."""

    def __init__(self, endpoint: Endpoint, repository: str, auth: AuthConfig | None = None,
                 timeout: float = TIMEOUT) -> None:
        self.endpoint = endpoint
        self.repository = repository
        self.auth = auth or AuthConfig()
        self.timeout = timeout
        self._authorization: str | None = None
        if self.auth.registry_token:
            self._authorization = f"Bearer {self.auth.registry_token}"
        self._lock = threading.Lock()

    # -- HTTP -----------------------------------------------------------------------------
    def _open(self, url: str, headers: dict[str, str], method: str = "GET") -> Response:
        parts = urlsplit(url)
        try:
            if parts.scheme == "https":
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    parts.netloc, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                conn = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.request(method, target or "/", headers=headers)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
            raise RegistryError(f"cannot reach registry {parts.scheme}://{parts.netloc}: {reason}") from e
        return Response(resp.status, resp.headers, conn, resp)

    def _request(self, path: str, accept: str | None = None, method: str = "GET") -> Response:
        """GET ``/v2/<path>``, answering an auth challenge once and following redirects."""
        url = f"{self.endpoint.url}/v2/{path}"
        for attempt in range(2):
            headers = {"User-Agent": "kybernetes"}
            if accept:
                headers["Accept"] = accept
            with self._lock:
                if self._authorization:
                    headers["Authorization"] = self._authorization
            resp = self._follow(url, headers, method)
            if resp.status != 401 or attempt == 1:
                break
            challenge = resp.headers.get("WWW-Authenticate", "")
            resp.close()
            self._answer(challenge)
        if resp.status == 401:
            resp.close()
            raise RegistryUnauthorized(
                f"{self.endpoint.url} refused access to {self.repository} (401): check the credentials"
            )
        return resp

    def _follow(self, url: str, headers: dict[str, str], method: str) -> Response:
        origin = urlsplit(url).netloc
        for _ in range(6):
            resp = self._open(url, headers, method)
            if resp.status not in (301, 302, 303, 307, 308):
                return resp
            location = resp.headers.get("Location")
            resp.close()
            if not location:
                raise RegistryError(f"{url}: redirect without a Location")
            url = urljoin(url, location)
            if urlsplit(url).netloc != origin:
                headers = {k: v for k, v in headers.items() if k != "Authorization"}
        raise RegistryError(f"{url}: too many redirects")

    def _answer(self, challenge: str) -> None:
        scheme, params = parse_challenge(challenge)
        creds = self.auth.basic()
        if scheme == "basic":
            if creds is None:
                raise RegistryUnauthorized(f"{self.endpoint.url} needs a user name and password for {self.repository}")
            basic = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            with self._lock:
                self._authorization = f"Basic {basic}"
            return
        if scheme != "bearer" or "realm" not in params:
            raise RegistryUnauthorized(f"{self.endpoint.url}: unsupported auth challenge {challenge!r}")
        query = {"scope": params.get("scope") or f"repository:{self.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {"User-Agent": "kybernetes"}
        if creds is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        sep = "&" if "?" in params["realm"] else "?"
        resp = self._follow(params["realm"] + sep + urlencode(query), headers, "GET")
        try:
            body = resp.read(MAX_MANIFEST)
        finally:
            resp.close()
        if resp.status != 200:
            raise RegistryUnauthorized(
                f"token service {params['realm']} refused a token for {self.repository} ({resp.status})"
            )
        token: str | None = None
        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            pass
        if not token:
            raise RegistryUnauthorized(f"token service {params['realm']} answered without a token")
        with self._lock:
            self._authorization = f"Bearer {token}"

    def _raise_for(self, resp: Response, what: str) -> None:
        body = resp.read(4096)
        resp.close()
        detail = ""
        try:
            errors = json.loads(body).get("errors") or []
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
        except (ValueError, AttributeError):
            pass
        msg = f"{self.endpoint.url}: {what}: HTTP {resp.status}" + (f" ({detail})" if detail else "")
        if resp.status == 404:
            raise RegistryNotFound(msg)
        raise RegistryError(msg)

    # -- distribution API -------------------------------------------------------------------
    def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        """(body, media type, digest) of the manifest or index at a tag or digest.

        The digest is verified: against the digest asked for, else against the registry's
        ``Docker-Content-Digest`` header when it sends one.
        """
        resp = self._request(f"{self.repository}/manifests/{reference}", accept=mt.ACCEPT_MANIFESTS)
        if resp.status != 200:
            self._raise_for(resp, f"manifest {self.repository}:{reference}")
        try:
            body = resp.read(MAX_MANIFEST + 1)
        except (OSError, http.client.HTTPException) as e:
            raise RegistryError(f"{self.endpoint.url}: reading manifest {reference} failed: {e}") from e
        finally:
            resp.close()
        if len(body) > MAX_MANIFEST:
            raise RegistryError(f"{self.endpoint.url}: manifest {reference} is larger than {MAX_MANIFEST} bytes")
        digest = sha256_digest(body)
        expected = reference if reference.startswith("sha256:") else resp.headers.get("Docker-Content-Digest")
        if expected and expected.startswith("sha256:") and expected != digest:
            raise DigestMismatch(f"manifest {self.repository}@{expected} from {self.endpoint.url} hashed to {digest}")
        media = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
        return body, media, digest

    def fetch_blob(self, digest: str, content: ContentStore, progress: Callable[[int], None] | None = None) -> str:
        """Stream a blob into the content store, verified against ``digest``."""
        resp = self._request(f"{self.repository}/blobs/{digest}")
        if resp.status != 200:
            self._raise_for(resp, f"blob {digest}")
        try:
            return content.write_stream(resp.resp, expected=digest, progress=progress)
        except (TimeoutError, http.client.HTTPException, ConnectionError) as e:
            raise RegistryError(f"{self.endpoint.url}: downloading blob {digest} failed: {e}") from e
        finally:
            resp.close()
