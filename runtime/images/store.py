"""The image store: content by digest, an index of references, layers unpacked once.

Layout under ``root`` (the runtime's ``<root>/images``)::

    blobs/sha256/<hex>        manifests, indexes, configs, compressed layers (see content.py)
    ingest/                   blobs being written
    layers/<diff-id hex>/fs   one unpacked layer, overlay whiteouts, shared read-only by every
                              image and container that has it (an overlayfs lowerdir)
    layers/<diff-id hex>/meta.json
    layers/.tmp-*             layers being unpacked
    refs.json                 {"images": {id: {manifest, target}}, "refs": {name: {image, target}}}
    refs.lock, gc.lock        flock(2) locks

An image's id is ``sha256:<config digest>``; ``target`` is what a name points at in a registry
(a manifest, or an index for multi-platform images) and gives RepoDigests; ``manifest`` is the
platform manifest chosen from it. A pulled or imported image gets two references, as containerd's
CRI plugin records them: ``repo:tag`` and ``repo@<target digest>``.

A layer blob is recognised by its first bytes (gzip, zstd, or a plain tar), whatever its media
type says, and must unpack to exactly the diff id the image config names.

Concurrency: blobs and layers appear by atomic rename; refs.json is rewritten (temp file, fsync,
rename) under an exclusive lock on refs.lock, so readers never lock. Imports and pulls hold a
shared lock on gc.lock for their whole run; garbage collection takes it exclusively and
without waiting (a busy store is collected next time), so it never deletes the unreferenced
blobs of an import still in progress. Layers of a removed image are renamed aside before being
deleted, so a reader sees a layer whole or not at all.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import hashlib
import json
import logging
import os
import secrets
import shutil
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from runtime.images import mediatypes as mt
from runtime.images.archive import read_archive
from runtime.images.content import ContentStore, check_digest
from runtime.images.errors import (
    DigestMismatch,
    ImageNotFound,
    InvalidImage,
    InvalidReference,
    UnsupportedImage,
)
from runtime.images.platform import Platform, select_manifest
from runtime.images.reference import Reference, parse_reference
from runtime.images.unpack import WhiteoutMode, unpack_tar
from runtime.small_file import file_version, read_bytes

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_HEX_RE_CHARS = set("0123456789abcdef")
RESOLVED_CACHE_SIZE = 256


@dataclass(frozen=True)
class Image:
    """An image in the store, as the runtime and the CRI ImageService see it."""

    id: str
    repo_tags: list[str]
    repo_digests: list[str]
    config: dict
    layer_dirs: list[Path]
    size: int
    uid: int | None = None
    username: str = ""
    manifest_digest: str = ""
    target_digest: str = ""
    diff_ids: list[str] = field(default_factory=list)
    image_config: dict = field(default_factory=dict)


def user_of(config: dict) -> tuple[int | None, str]:
    """(uid, username) from the config's ``User`` as containerd reports it: the part before ``:``."""
    user = (config.get("User") or "").split(":", 1)[0]
    if not user:
        return None, ""
    if user.isdigit():
        return int(user), ""
    return None, user


def _decompress_errors() -> tuple[type[Exception], ...]:
    errors: tuple[type[Exception], ...] = (EOFError, zlib.error)
    try:
        import zstandard
    except ImportError:
        return errors
    return (*errors, zstandard.ZstdError)


_LAYER_READ_ERRORS: tuple[type[Exception], ...] = (OSError, *_decompress_errors())


def _zstd_reader(raw: IO[bytes], blob: str) -> IO[bytes]:
    """A decompressing reader for zstd layers, if the optional ``zstandard`` package is present."""
    try:
        import zstandard
    except ImportError as e:
        raise UnsupportedImage(
            f"layer {blob} is zstd-compressed; install the Python package 'zstandard' to use it"
        ) from e
    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)  # type: ignore[return-value]


class _HashingReader:
    """A read-only stream that hashes what passes through (the layer's diff id)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.hash.update(data)
        return data

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


class ImageStore:
    """Images under one root directory; safe to share between processes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.content = ContentStore(self.root)
        self.layer_root = self.root / "layers"
        self.layer_root.mkdir(parents=True, exist_ok=True)
        self._refs_path = self.root / "refs.json"
        self._cache: dict[str, tuple[dict, dict, int]] = {}
        # name -> (refs.json version, image): every CreateContainer resolves its image, and the
        # refs change rarely (each change replaces the file, so its version tells).
        self._resolved: dict[str, tuple[tuple[int, int, int], Image]] = {}

    # -- locking and the refs index -------------------------------------------------------
    @contextlib.contextmanager
    def _flock(self, name: str, kind: int) -> Iterator[bool]:
        fd = os.open(self.root / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, kind)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Held by anything adding content, so garbage collection leaves its blobs alone."""
        with self._flock("gc.lock", fcntl.LOCK_SH):
            yield

    def _read_refs(self) -> dict:
        try:
            doc = json.loads(read_bytes(str(self._refs_path)))
        except FileNotFoundError:
            return {"images": {}, "refs": {}}
        except ValueError as e:
            raise InvalidImage(f"{self._refs_path} is corrupt: {e}") from e
        doc.setdefault("images", {})
        doc.setdefault("refs", {})
        return doc

    def _update_refs(self, fn: Callable[[dict], None]) -> None:
        with self._flock("refs.lock", fcntl.LOCK_EX):
            doc = self._read_refs()
            fn(doc)
            tmp = self.root / f".refs.{os.getpid()}.{secrets.token_hex(4)}"
            with open(tmp, "w") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._refs_path)
            self._resolved.clear()  # not left to the version alone: a coarse clock may repeat it

    # -- reading images -------------------------------------------------------------------
    def _read_json(self, digest: str) -> dict:
        try:
            doc = json.loads(self.content.read_bytes(digest))
        except ValueError as e:
            raise InvalidImage(f"blob {digest} is not valid JSON: {e}") from e
        if not isinstance(doc, dict):
            raise InvalidImage(f"blob {digest} is not a JSON object")
        return doc

    def _load(self, manifest_digest: str, config_digest: str) -> tuple[dict, dict, int]:
        cached = self._cache.get(manifest_digest)
        if cached is None:
            manifest = self._read_json(manifest_digest)
            config = self._read_json(config_digest)
            size = self.content.size(manifest_digest) + int(manifest["config"].get("size", 0))
            size += sum(int(layer.get("size", 0)) for layer in manifest["layers"])
            cached = (manifest, config, size)
            self._cache[manifest_digest] = cached
        return cached

    def _image(self, image_id: str, doc: dict) -> Image:
        record = doc["images"][image_id]
        manifest, config, size = self._load(record["manifest"], image_id)
        tags: list[str] = []
        digests: set[str] = set()
        for name, ref in doc["refs"].items():
            if ref["image"] != image_id:
                continue
            parsed = parse_reference(name)
            if parsed.tag is not None:
                tags.append(name)
            digests.add(f"{parsed.repository}@{ref['target']}")
        diff_ids = list(config.get("rootfs", {}).get("diff_ids", []))
        run_config = dict(config.get("config") or {})
        uid, username = user_of(run_config)
        return Image(
            id=image_id,
            repo_tags=sorted(tags),
            repo_digests=sorted(digests),
            config=run_config,
            layer_dirs=[self.layer_dir(d) for d in diff_ids],
            size=size,
            uid=uid,
            username=username,
            manifest_digest=record["manifest"],
            target_digest=record["target"],
            diff_ids=diff_ids,
            image_config=config,
        )

    def layer_dir(self, diff_id: str) -> Path:
        return self.layer_root / check_digest(diff_id) / "fs"

    def list_images(self) -> list[Image]:
        doc = self._read_refs()
        return [self._image(image_id, doc) for image_id in sorted(doc["images"])]

    def resolve(self, ref: str) -> Image:
        """The image a name, short name, ``repo@digest``, id or unique id prefix denotes."""
        version = self._refs_version()
        cached = self._resolved.get(ref)
        if cached is not None and version is not None and cached[0] == version:
            return cached[1]
        doc = self._read_refs()
        image_id = self._lookup(ref, doc)
        if image_id is None:
            raise ImageNotFound(f"image {ref!r} not found (pull or import it first)")
        image = self._image(image_id, doc)
        if version is not None:
            if len(self._resolved) >= RESOLVED_CACHE_SIZE:
                self._resolved.clear()
            self._resolved[ref] = (version, image)  # read after the version: a change meanwhile only re-reads
        return image

    def _refs_version(self) -> tuple[int, int, int] | None:
        try:
            return file_version(str(self._refs_path))
        except FileNotFoundError:
            return None

    def _lookup(self, ref: str, doc: dict) -> str | None:
        images, refs = doc["images"], doc["refs"]
        if ref in refs:
            return refs[ref]["image"]
        hex_part = ref.removeprefix("sha256:")
        looks_like_id = bool(hex_part) and len(hex_part) <= 64 and set(hex_part) <= _HEX_RE_CHARS
        if ref.startswith("sha256:") and looks_like_id:
            return self._by_id_prefix(hex_part, images, ref)
        try:
            parsed = parse_reference(ref)
        except InvalidReference:
            if looks_like_id:
                return self._by_id_prefix(hex_part, images, ref)
            raise
        if parsed.digest is not None:
            key = str(parsed.with_digest(parsed.digest))
            if key in refs:
                return refs[key]["image"]
            for name, r in refs.items():
                if r["image"] in images and images[r["image"]]["manifest"] == parsed.digest:
                    if parse_reference(name).repository == parsed.repository:
                        return r["image"]
            return None
        key = str(parsed)
        if key in refs:
            return refs[key]["image"]
        if looks_like_id:
            return self._by_id_prefix(hex_part, images, ref)
        return None

    @staticmethod
    def _by_id_prefix(prefix: str, images: dict, ref: str) -> str | None:
        matches = [i for i in images if i.removeprefix("sha256:").startswith(prefix)]
        if len(matches) > 1:
            raise InvalidReference(f"image id prefix {ref!r} is ambiguous ({len(matches)} images match)")
        return matches[0] if matches else None

    # -- adding images ---------------------------------------------------------------------
    def import_archive(self, path: Path) -> Image:
        """Import an OCI layout or docker save archive; returns its (first) image."""
        return self.import_archive_all(path)[0]

    def import_archive_all(self, path: Path, platform: Platform | None = None) -> list[Image]:
        with self.writing():
            found = read_archive(Path(path), self.content)
            return [self.commit(a.target, a.names, platform) for a in found]

    def platform_manifest(self, target: str, platform: Platform | None = None) -> str:
        """The manifest digest ``target`` stands for on ``platform``: itself or an index choice."""
        doc = self._read_json(target)
        if mt.manifest_kind(doc) == "index":
            chosen = select_manifest(doc, platform)
            check_digest(chosen.get("digest", ""))
            return chosen["digest"]
        return target

    def commit(self, target: str, names: list[Reference], platform: Platform | None = None) -> Image:
        """Make an image whose blobs are all in the content store visible under ``names``.

        Validates the manifest and config, unpacks (or reuses) every layer, then records the
        references in one atomic update. Call inside ``writing()``.
        """
        manifest_digest = self.platform_manifest(target, platform)
        manifest = self._read_json(manifest_digest)
        if mt.manifest_kind(manifest) != "manifest":
            raise InvalidImage(f"{manifest_digest} is a nested index, not an image manifest")
        config_desc = manifest.get("config") or {}
        config_digest = config_desc.get("digest", "")
        check_digest(config_digest)
        config = self._read_json(config_digest)
        diff_ids = (config.get("rootfs") or {}).get("diff_ids")
        layers = manifest.get("layers")
        if not isinstance(layers, list) or not isinstance(diff_ids, list) or len(layers) != len(diff_ids):
            raise InvalidImage(
                f"image {config_digest}: the manifest lists {len(layers or [])} layers but the config "
                f"has {len(diff_ids or [])} diff ids"
            )
        for desc, diff_id in zip(layers, diff_ids, strict=True):
            self.ensure_layer(desc, diff_id)
        image_id = config_digest

        def record(doc: dict) -> None:
            doc["images"][image_id] = {"manifest": manifest_digest, "target": target}
            for name in names:
                if name.tag is not None:
                    doc["refs"][str(name.with_tag(name.tag))] = {"image": image_id, "target": target}
                doc["refs"][str(name.with_digest(target))] = {"image": image_id, "target": target}

        self._update_refs(record)
        log.info("image stored", extra={"image": image_id, "names": [str(n) for n in names]})
        return self._image(image_id, self._read_refs())

    def ensure_layer(self, desc: dict, diff_id: str) -> Path:
        """The unpacked directory of a layer, unpacking its blob first if needed."""
        media = desc.get("mediaType")
        if media is not None and media not in mt.LAYER_TYPES:
            raise UnsupportedImage(f"unsupported layer media type {media!r}")
        blob = desc.get("digest", "")
        check_digest(blob)
        final = self.layer_root / check_digest(diff_id)
        if (final / "meta.json").exists():
            return final / "fs"
        tmp = self.layer_root / f".tmp-{os.getpid()}-{secrets.token_hex(6)}"
        (tmp / "fs").mkdir(parents=True)
        try:
            with self.content.open(blob) as raw:
                magic = raw.read(4)
                raw.seek(0)
                stream: IO[bytes] = raw
                if magic.startswith(_GZIP_MAGIC):
                    stream = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
                elif magic.startswith(_ZSTD_MAGIC):
                    stream = _zstd_reader(raw, blob)
                reader = _HashingReader(stream)
                try:
                    stats = unpack_tar(reader, tmp / "fs", WhiteoutMode.OVERLAY)  # type: ignore[arg-type]
                    reader.drain()
                except _LAYER_READ_ERRORS as e:
                    if isinstance(e, OSError) and e.errno is not None:
                        raise
                    raise InvalidImage(f"layer {blob} cannot be decompressed: {e}") from e
            got = "sha256:" + reader.hash.hexdigest()
            if got != diff_id:
                raise DigestMismatch(f"layer {blob} unpacks to {got}, but the image config says {diff_id}")
            meta = {"blob": blob, "diff_id": diff_id, "size": stats.bytes_written, "entries": stats.entries}
            (tmp / "meta.json").write_text(json.dumps(meta))
            try:
                os.rename(tmp, final)
            except OSError as e:
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                shutil.rmtree(tmp)  # another writer unpacked the same layer first
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final / "fs"

    # -- removing --------------------------------------------------------------------------
    def remove(self, ref: str) -> Image:
        """Remove an image and every reference to it (CRI semantics), then collect garbage."""
        image = self.resolve(ref)

        def drop(doc: dict) -> None:
            doc["images"].pop(image.id, None)
            for name in [n for n, r in doc["refs"].items() if r["image"] == image.id]:
                del doc["refs"][name]

        self._update_refs(drop)
        self.gc()
        return image

    def gc(self) -> bool:
        """Delete blobs and layers no image needs; False if the store was busy (try later)."""
        with self._flock("gc.lock", fcntl.LOCK_EX | fcntl.LOCK_NB) as locked:
            if not locked:
                return False
            doc = self._read_refs()
            live_blobs: set[str] = set()
            live_layers: set[str] = set()
            for image_id, record in doc["images"].items():
                live_blobs.update({image_id, record["manifest"], record["target"]})
                manifest = self._read_json(record["manifest"])
                live_blobs.update(layer["digest"] for layer in manifest.get("layers", []))
                config = self._read_json(image_id)
                live_layers.update(d.split(":", 1)[1] for d in config["rootfs"]["diff_ids"])
            live_blobs.update(ref["target"] for ref in doc["refs"].values())
            for digest in list(self.content.digests()):
                if digest not in live_blobs:
                    self.content.delete(digest)
            for entry in os.scandir(self.layer_root):
                if entry.name in live_layers:
                    continue
                trash = self.layer_root / f".trash-{secrets.token_hex(6)}"
                if not entry.name.startswith((".tmp-", ".trash-")):
                    try:
                        os.rename(entry.path, trash)
                    except FileNotFoundError:
                        continue
                    shutil.rmtree(trash, ignore_errors=True)
                else:
                    shutil.rmtree(entry.path, ignore_errors=True)
            for entry in os.scandir(self.content.ingest_dir):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
            self._cache.clear()
            self._resolved.clear()
            return True

    # -- disk usage ------------------------------------------------------------------------
    def disk_usage(self) -> tuple[int, int]:
        """(bytes, inodes) the store really occupies, hard links counted once."""
        seen: set[tuple[int, int]] = set()
        used = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
                used += st.st_blocks * 512
        st = os.lstat(self.root)
        return used + st.st_blocks * 512, len(seen) + 1
