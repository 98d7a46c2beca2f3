"""Reading image archives: OCI image layouts (in a tar or a directory) and ``docker save`` tarballs.

The archive (optionally gzip-compressed) is read in one streaming pass, so it is never unpacked
to disk as a whole: every file under ``blobs/sha256/`` goes straight into the content store,
verified against the digest in its name; other large files (the layer tars of a legacy
``docker save``) are stored under the digest they hash to; small JSON files are kept in memory.
Then the archive's own index decides what images it holds:

- ``index.json`` present (OCI layout, also written by Docker 25+ and by ``build-busybox``):
  each descriptor is an image, named by its ``io.containerd.image.name`` annotation or, when that
  is absent, by ``org.opencontainers.image.ref.name`` if that is a full reference. A bare tag
  (``latest``) names nothing on its own: such an image is imported unnamed, reachable by its id.
- otherwise ``manifest.json`` (``docker save``): each entry becomes a Docker schema 2 manifest
  we synthesize from its config and layers, named by its ``RepoTags``.

Nothing here touches the image index of the store; the caller commits what this returns.
"""

from __future__ import annotations

import json
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from runtime.images import mediatypes as mt
from runtime.images.content import ContentStore, sha256_digest
from runtime.images.errors import InvalidImage, InvalidReference
from runtime.images.oci_layout import canonical_json
from runtime.images.reference import Reference, parse_reference

_BLOB_RE = re.compile(r"^blobs/sha256/([0-9a-f]{64})$")
_SMALL_JSON = 4 << 20
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class ArchivedImage:
    """One image found in an archive: its top-level digest (manifest or index) and names."""

    target: str
    names: list[Reference] = field(default_factory=list)


def _norm(name: str) -> str:
    n = posixpath.normpath(name.lstrip("/"))
    return "" if n == "." else n


def _name_from_annotations(annotations: dict[str, str]) -> list[Reference]:
    for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
        value = annotations.get(key)
        if not value:
            continue
        if key == "org.opencontainers.image.ref.name" and "/" not in value and ":" not in value:
            continue  # a bare tag: no repository to attach it to
        try:
            return [parse_reference(value)]
        except InvalidReference:
            continue
    return []


def _take(
    name: str, src: IO[bytes], size: int, path: Path, content: ContentStore,
    small: dict[str, bytes], stored: dict[str, str],
) -> None:
    """File ``name`` of the archive: a blob, a small JSON document, or another (layer) file."""
    m = _BLOB_RE.match(name)
    if m:
        content.write_stream(src, expected=f"sha256:{m.group(1)}")
    elif name.endswith(".json") or name in ("oci-layout", "repositories"):
        if size > _SMALL_JSON:
            raise InvalidImage(f"{path}: {name} is implausibly large ({size} bytes)")
        small[name] = src.read()
    else:
        stored[name] = content.write_stream(src)


def read_archive(path: Path, content: ContentStore) -> list[ArchivedImage]:
    """Store every blob of the archive (or OCI layout directory) at ``path``; return its images."""
    small: dict[str, bytes] = {}
    stored: dict[str, str] = {}  # archive path -> digest, for non-blob files
    symlinks: dict[str, str] = {}
    if path.is_dir():
        _read_directory(path, content, small, stored)
        return _images(path, small, stored, symlinks, content)
    try:
        tar = tarfile.open(path, mode="r|*")
    except FileNotFoundError as e:
        raise InvalidImage(f"{path}: no such file") from e
    except (tarfile.TarError, OSError) as e:
        raise InvalidImage(f"{path} is not a tar archive: {e}") from e
    with tar:
        try:
            for info in tar:
                name = _norm(info.name)
                if info.issym():
                    symlinks[name] = _norm(posixpath.join(posixpath.dirname(name), info.linkname))
                    continue
                if not info.isreg():
                    continue
                src = tar.extractfile(info)
                assert src is not None
                _take(name, src, info.size, path, content, small, stored)
        except tarfile.TarError as e:
            raise InvalidImage(f"{path}: corrupt archive: {e}") from e
    return _images(path, small, stored, symlinks, content)


def _read_directory(path: Path, content: ContentStore, small: dict[str, bytes], stored: dict[str, str]) -> None:
    """An OCI layout directory (``skopeo copy ... oci:DIR``): only index.json and blobs matter."""
    if not (path / "index.json").is_file():
        raise InvalidImage(f"{path} is a directory but not an OCI image layout (no index.json)")
    small["index.json"] = (path / "index.json").read_bytes()
    blob_dir = path / "blobs" / "sha256"
    for blob in sorted(blob_dir.iterdir()) if blob_dir.is_dir() else []:
        if blob.is_file() and not blob.is_symlink():
            with open(blob, "rb") as f:
                _take(f"blobs/sha256/{blob.name}", f, blob.stat().st_size, path, content, small, stored)


def _images(
    path: Path, small: dict[str, bytes], stored: dict[str, str], symlinks: dict[str, str], content: ContentStore
) -> list[ArchivedImage]:
    if "index.json" in small:
        return _oci_images(path, small["index.json"], content)
    if "manifest.json" in small:
        return _docker_images(path, small, stored, symlinks, content)
    raise InvalidImage(f"{path} is neither an OCI image layout nor a docker save archive (no index.json or manifest.json)")


def _load_json(path: Path, what: str, data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError as e:
        raise InvalidImage(f"{path}: {what} is not valid JSON: {e}") from e


def _oci_images(path: Path, index_data: bytes, content: ContentStore) -> list[ArchivedImage]:
    index = _load_json(path, "index.json", index_data)
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise InvalidImage(f"{path}: index.json has no manifests list")
    images = []
    for desc in index["manifests"]:
        digest = desc.get("digest", "")
        if desc.get("mediaType") not in mt.INDEX_TYPES | mt.MANIFEST_TYPES and desc.get("mediaType"):
            continue  # attestations and other artifacts
        if not content.has(digest):
            raise InvalidImage(f"{path}: index.json names {digest} but the archive has no such blob")
        images.append(ArchivedImage(digest, _name_from_annotations(desc.get("annotations") or {})))
    if not images:
        raise InvalidImage(f"{path}: index.json lists no image manifests")
    return images


def _resolve_path(name: str, stored: dict[str, str], symlinks: dict[str, str], path: Path) -> str:
    name = _norm(name)
    for _ in range(16):
        if name in symlinks:
            name = symlinks[name]
            continue
        m = _BLOB_RE.match(name)
        if m:
            return f"sha256:{m.group(1)}"
        if name in stored:
            return stored[name]
        break
    raise InvalidImage(f"{path}: manifest.json refers to {name!r}, which the archive does not contain")


def _docker_images(
    path: Path, small: dict[str, bytes], stored: dict[str, str], symlinks: dict[str, str], content: ContentStore
) -> list[ArchivedImage]:
    entries = _load_json(path, "manifest.json", small["manifest.json"])
    if not isinstance(entries, list) or not entries:
        raise InvalidImage(f"{path}: manifest.json is not a non-empty list")
    images = []
    for entry in entries:
        config_name = _norm(entry.get("Config", ""))
        if config_name in small:
            config_digest = content.write_bytes(small[config_name])
        else:
            config_digest = _resolve_path(config_name, stored, symlinks, path)
        layers = []
        for layer_name in entry.get("Layers") or []:
            digest = _resolve_path(layer_name, stored, symlinks, path)
            with content.open(digest) as f:
                gz = f.read(2) == _GZIP_MAGIC
            media = mt.DOCKER_LAYER_GZIP if gz else mt.DOCKER_LAYER
            layers.append({"mediaType": media, "size": content.size(digest), "digest": digest})
        manifest = {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST,
            "config": {"mediaType": mt.DOCKER_CONFIG, "size": content.size(config_digest), "digest": config_digest},
            "layers": layers,
        }
        data = canonical_json(manifest)
        target = content.write_bytes(data, expected=sha256_digest(data))
        names = []
        for tag in entry.get("RepoTags") or []:
            try:
                names.append(parse_reference(tag))
            except InvalidReference as e:
                raise InvalidImage(f"{path}: manifest.json has an invalid RepoTag {tag!r}: {e}") from e
        images.append(ArchivedImage(target, names))
    return images
