"""Image references, parsed and normalized the way Docker and containerd do.

A reference is ``[domain/]path[:tag][@digest]``. Short names expand like Docker's:
``busybox`` -> ``docker.io/library/busybox:latest``, ``user/app`` -> ``docker.io/user/app:latest``.
The first path component is a domain only if it contains ``.`` or ``:`` or is ``localhost``;
``index.docker.io`` is an alias of ``docker.io``. The grammar is the one of the distribution
project's reference package, restricted to sha256 digests (the only algorithm we store).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime.images.errors import InvalidReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Reference:
    """A fully normalized reference: domain and path always set, tag and/or digest optional."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """``domain/path``, the name RepoTags and RepoDigests are built from."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        s = self.repository
        if self.tag is not None:
            s += f":{self.tag}"
        if self.digest is not None:
            s += f"@{self.digest}"
        return s

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.path, None, digest)

    def familiar(self) -> str:
        """The short form Docker shows (``busybox:latest``), used in ``docker save`` RepoTags."""
        repo = self.repository
        if self.domain == DEFAULT_DOMAIN:
            repo = self.path.removeprefix(OFFICIAL_REPO_PREFIX)
        s = repo
        if self.tag is not None:
            s += f":{self.tag}"
        if self.digest is not None:
            s += f"@{self.digest}"
        return s


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost"):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    return domain, path


def parse_reference(text: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalize ``text``; a reference with neither tag nor digest gets ``latest``.

    Raises InvalidReference naming the part that is wrong.
    """
    if not text or text != text.strip():
        raise InvalidReference(f"invalid image reference {text!r}: empty or surrounded by spaces")
    name, at, digest = text.partition("@")
    if at and not DIGEST_RE.match(digest):
        raise InvalidReference(f"invalid image reference {text!r}: digest must be sha256:<64 hex digits>")
    tag: str | None = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidReference(f"invalid image reference {text!r}: bad tag {tag!r}")
    domain, path = _split_domain(name)
    if not _DOMAIN_RE.match(domain):
        raise InvalidReference(f"invalid image reference {text!r}: bad registry host {domain!r}")
    if not _PATH_RE.match(path):
        hint = " (repository names must be lowercase)" if path.lower() != path else ""
        raise InvalidReference(f"invalid image reference {text!r}: bad repository name {path!r}{hint}")
    if len(domain) + 1 + len(path) > 255:
        raise InvalidReference(f"invalid image reference {text!r}: repository name longer than 255")
    if tag is None and not at and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest if at else None)


def is_digest(text: str) -> bool:
    return bool(DIGEST_RE.match(text))
