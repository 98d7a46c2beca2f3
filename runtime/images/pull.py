"""Pulling an image: resolve the name at a registry, fetch what is missing, commit.

Endpoints come from the registry configuration: mirrors first, then the upstream host. An
endpoint that cannot be reached or does not have the image (a ``RegistryError``) passes the
pull to the next one; content that fails verification does not (it is an error, not a miss).

Credentials (the pull's AuthConfig, else the registry's entry in the configuration) go only to
the upstream host they belong to; a mirror gets the credentials configured for the mirror's own
host, so a mirror never sees the secrets of the registry it stands in for.

The name's manifest (or index, from which this machine's platform is chosen) is fetched and
verified, then the config and every layer blob the store lacks, layers three at a time; the
store then unpacks the layers and records the references in one atomic step. Every blob is
verified before it becomes visible, and on failure blobs fetched for this pull are collected
again, so a failed pull leaves the store as it was.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from runtime.images import mediatypes as mt
from runtime.images.errors import InvalidImage, RegistryError, RegistryNotFound
from runtime.images.platform import Platform, select_manifest
from runtime.images.reference import Reference, parse_reference
from runtime.images.registry import RegistryClient
from runtime.images.registry_config import AuthConfig, Endpoint, RegistryConfig
from runtime.images.store import Image, ImageStore

log = logging.getLogger(__name__)

PARALLEL_LAYERS = 3


class Progress:
    """One status line on a terminal, redrawn at most ten times a second."""

    def __init__(self, name: str, out: TextIO | None) -> None:
        self.name = name
        self.out = out
        self.total = 0
        self.done = 0
        self.layers = 0
        self.layers_done = 0
        self._last = 0.0
        self._lock = threading.Lock()

    def expect(self, size: int) -> None:
        with self._lock:
            self.total += size
            self.layers += 1

    def advance(self, n: int) -> None:
        with self._lock:
            self.done += n
            self._draw(False)

    def layer_done(self) -> None:
        with self._lock:
            self.layers_done += 1
            self._draw(True)

    def _draw(self, force: bool) -> None:
        if self.out is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self.out.write(
            f"\rpulling {self.name}: {self.layers_done}/{self.layers} layers, "
            f"{self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB\x1b[K"
        )
        self.out.flush()

    def finish(self, message: str) -> None:
        if self.out is not None:
            self.out.write(f"\r{message}\x1b[K\n")
            self.out.flush()


def pull_image(
    store: ImageStore,
    ref_text: str,
    config: RegistryConfig | None = None,
    auth: AuthConfig | None = None,
    platform: Platform | None = None,
    progress: bool = False,
) -> Image:
    """Pull ``ref_text`` (short names expand like Docker's) into ``store``."""
    ref = parse_reference(ref_text)
    config = config or RegistryConfig()
    if auth is None or auth.is_empty():
        auth = config.host(ref.domain).auth
    display = Progress(str(ref), sys.stderr if progress else None)
    errors: list[RegistryError] = []
    for endpoint in config.endpoints(ref.domain):
        # Credentials belong to the registry they were given for: a mirror gets only its own.
        endpoint_auth = config.host(endpoint.host).auth if endpoint.is_mirror else auth
        try:
            image = _pull_from(store, endpoint, ref, endpoint_auth, platform, display)
        except RegistryError as e:
            log.info("pull endpoint failed", extra={"endpoint": endpoint.url, "error": str(e)})
            errors.append(e)
            store.gc()
            continue
        except BaseException:
            store.gc()
            raise
        display.finish(f"pulled {ref} ({image.id})")
        return image
    detail = " | ".join(str(e) for e in errors) or "no registry endpoint is configured"
    if errors and all(isinstance(e, RegistryNotFound) for e in errors):
        raise RegistryNotFound(f"image {ref} not found: {detail}")
    if len(errors) == 1:
        raise errors[0]
    raise RegistryError(f"pulling {ref} failed at every endpoint: {detail}")


def _pull_from(
    store: ImageStore,
    endpoint: Endpoint,
    ref: Reference,
    auth: AuthConfig,
    platform: Platform | None,
    display: Progress,
) -> Image:
    client = RegistryClient(endpoint, ref.path, auth)
    with store.writing():
        body, media, target = client.get_manifest(ref.digest or ref.tag or "latest")
        if ref.digest and ref.digest != target:
            raise InvalidImage(f"registry returned {target} for {ref}")
        store.content.write_bytes(body, expected=target)
        doc = _parse(body, target)
        manifest_digest = target
        if mt.manifest_kind(doc, media) == "index":
            chosen = select_manifest(doc, platform)
            manifest_digest = chosen["digest"]
            body, media, got = client.get_manifest(manifest_digest)
            store.content.write_bytes(body, expected=manifest_digest)
            doc = _parse(body, manifest_digest)
            if mt.manifest_kind(doc, media) != "manifest":
                raise InvalidImage(f"{manifest_digest}: an index inside an index is not supported")
        config_digest = doc["config"]["digest"]
        if not store.content.has(config_digest):
            client.fetch_blob(config_digest, store.content)
        missing = [layer for layer in doc.get("layers", []) if not store.content.has(layer["digest"])]
        for layer in missing:
            display.expect(int(layer.get("size", 0)))

        def fetch(layer: dict) -> None:
            client.fetch_blob(layer["digest"], store.content, display.advance)
            display.layer_done()

        with ThreadPoolExecutor(max_workers=PARALLEL_LAYERS) as pool:
            for future in [pool.submit(fetch, layer) for layer in missing]:
                future.result()
        names = [ref] if ref.tag is not None else [ref.with_digest(target)]
        return store.commit(target, names, platform)


def _parse(body: bytes, digest: str) -> dict:
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise InvalidImage(f"manifest {digest} is not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise InvalidImage(f"manifest {digest} is not a JSON object")
    return doc
