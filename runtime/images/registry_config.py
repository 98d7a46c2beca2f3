"""Where to fetch a registry's images from: mirrors, plain-HTTP hosts, credentials.

The configuration is one TOML file (``kyb runtime --registry-config FILE``,
``kyb image pull --registry-config FILE``), one table per registry host, in the spirit of
containerd's ``hosts.toml``::

    # Serve docker.io and registry.k8s.io names from a local registry speaking plain HTTP.
    [registries."docker.io"]
    mirrors = ["http://127.0.0.1:5000"]      # tried in order, before the upstream host

    [registries."registry.k8s.io"]
    mirrors = ["http://127.0.0.1:5000"]
    skip_upstream = true                     # never fall back to the real host

    [registries."registry.lab:5000"]
    insecure = true                          # the upstream host speaks plain HTTP
    username = "lab"                         # credentials when the pull brings none
    password = "secret"

A mirror is a URL whose scheme says how to talk to it (``http://`` is plain HTTP). The upstream
host of ``docker.io`` is ``registry-1.docker.io``. Hosts on loopback (``localhost``,
``127.0.0.0/8``, ``[::1]``) speak plain HTTP unless their table says ``insecure = false``, as
Docker treats them as insecure registries. Credentials in a pull request (CRI AuthConfig) win
over those in this file.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from runtime.images.errors import ImageError

DOCKER_HUB_HOST = "registry-1.docker.io"


class RegistryConfigError(ImageError):
    """The registry configuration file is unreadable or malformed."""


@dataclass(frozen=True)
class AuthConfig:
    """Credentials for one pull, with the fields of CRI's AuthConfig."""

    username: str = ""
    password: str = ""
    auth: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""

    def basic(self) -> tuple[str, str] | None:
        """(user, password) from username/password or the base64 ``auth`` field, if any."""
        if self.username or self.password:
            return self.username, self.password
        if self.auth:
            try:
                user, _, password = base64.b64decode(self.auth).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as e:
                raise RegistryConfigError("auth config: 'auth' is not base64 of user:password") from e
            return user, password
        if self.identity_token:
            return "<token>", self.identity_token
        return None

    def is_empty(self) -> bool:
        return not (self.basic() or self.registry_token)


@dataclass(frozen=True)
class Endpoint:
    """One place to fetch from: scheme + host[:port]."""

    scheme: str
    host: str
    is_mirror: bool = False

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


@dataclass(frozen=True)
class RegistryHostConfig:
    mirrors: tuple[str, ...] = ()
    insecure: bool | None = None
    skip_upstream: bool = False
    auth: AuthConfig = field(default_factory=AuthConfig)


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RegistryConfig:
    hosts: dict[str, RegistryHostConfig] = field(default_factory=dict)

    def host(self, domain: str) -> RegistryHostConfig:
        return self.hosts.get(domain, RegistryHostConfig())

    def endpoints(self, domain: str) -> list[Endpoint]:
        """Mirrors first, then the upstream host (unless skipped)."""
        cfg = self.host(domain)
        out = []
        for mirror in cfg.mirrors:
            parts = urlsplit(mirror)
            out.append(Endpoint(parts.scheme, parts.netloc, is_mirror=True))
        if not cfg.skip_upstream:
            upstream = DOCKER_HUB_HOST if domain == "docker.io" else domain
            insecure = cfg.insecure if cfg.insecure is not None else _is_loopback(upstream)
            out.append(Endpoint("http" if insecure else "https", upstream))
        return out


def _parse_host(domain: str, table: object, source: str) -> RegistryHostConfig:
    if not isinstance(table, dict):
        raise RegistryConfigError(f"{source}: [registries.{domain!r}] must be a table")
    unknown = set(table) - {"mirrors", "insecure", "skip_upstream", "username", "password", "auth"}
    if unknown:
        raise RegistryConfigError(f"{source}: [registries.{domain!r}] has unknown keys {sorted(unknown)}")
    mirrors = table.get("mirrors", [])
    if not isinstance(mirrors, list) or not all(isinstance(m, str) for m in mirrors):
        raise RegistryConfigError(f"{source}: registries.{domain!r}.mirrors must be a list of URLs")
    for m in mirrors:
        parts = urlsplit(m)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise RegistryConfigError(
                f"{source}: mirror {m!r} of {domain!r} must be http://host[:port] or https://host[:port]"
            )
    insecure = table.get("insecure")
    if insecure is not None and not isinstance(insecure, bool):
        raise RegistryConfigError(f"{source}: registries.{domain!r}.insecure must be true or false")
    auth = AuthConfig(
        username=str(table.get("username", "")),
        password=str(table.get("password", "")),
        auth=str(table.get("auth", "")),
    )
    return RegistryHostConfig(tuple(mirrors), insecure, bool(table.get("skip_upstream", False)), auth)


def parse_registry_config(text: str, source: str = "registry config") -> RegistryConfig:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RegistryConfigError(f"{source}: not valid TOML: {e}") from e
    unknown = set(doc) - {"registries"}
    if unknown:
        raise RegistryConfigError(f"{source}: unknown top-level keys {sorted(unknown)} (expected [registries.\"HOST\"])")
    registries = doc.get("registries", {})
    return RegistryConfig({d: _parse_host(d, t, source) for d, t in registries.items()})


def load_registry_config(path: Path | None) -> RegistryConfig:
    if path is None:
        return RegistryConfig()
    try:
        text = path.read_text()
    except OSError as e:
        raise RegistryConfigError(f"cannot read registry config {path}: {e.strerror}") from e
    return parse_registry_config(text, str(path))
