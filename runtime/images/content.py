"""Blobs addressed by their sha256 digest, verified on write.

Layout under the store root::

    blobs/sha256/<hex>     committed content, never modified once there
    ingest/<random>        content being written; renamed into blobs/ only once its digest
                           matched, so a reader never sees a partial or wrong blob

Writers stream into a private file in ``ingest/`` (same filesystem as ``blobs/``), hash as they
go, fsync, and ``os.replace`` into place: two processes writing the same blob race harmlessly,
because both produce identical bytes and the rename is atomic. A failed or interrupted write
leaves at most a file in ``ingest/``, which garbage collection removes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

from runtime.images.errors import DigestMismatch, InvalidImage
from runtime.images.reference import DIGEST_RE

CHUNK = 1 << 20


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """Return the hex part of a sha256 digest, or raise InvalidImage for anything else."""
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise InvalidImage(f"unsupported or malformed digest {digest!r} (only sha256 is supported)")
    return digest.split(":", 1)[1]


class BlobWriter:
    """One blob being written: ``write`` chunks, then ``commit`` (verifies) or ``abort``."""

    def __init__(self, store: ContentStore, expected: str | None) -> None:
        self._store = store
        self._expected = expected
        self._hash = hashlib.sha256()
        self.size = 0
        self._tmp = store.ingest_dir / f"{os.getpid()}-{secrets.token_hex(8)}"
        self._file: BinaryIO | None = open(self._tmp, "xb")  # noqa: SIM115 - closed in commit/abort

    def write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    def commit(self) -> str:
        """Verify the digest and move the blob into place; returns its digest."""
        assert self._file is not None
        digest = "sha256:" + self._hash.hexdigest()
        try:
            if self._expected is not None and digest != self._expected:
                raise DigestMismatch(
                    f"content expected to be {self._expected} hashed to {digest} ({self.size} bytes)"
                )
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            os.chmod(self._tmp, 0o444)
            os.replace(self._tmp, self._store.path(digest))
        except BaseException:
            self.abort()
            raise
        return digest

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if self._file is not None:
            self.abort()


class ContentStore:
    """The ``blobs/`` half of the image store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_dir = root / "blobs" / "sha256"
        self.ingest_dir = root / "ingest"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.blob_dir / check_digest(digest)

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        return self.path(digest).stat().st_size

    def read_bytes(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError as e:
            raise InvalidImage(f"blob {digest} is missing from the content store") from e

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")  # noqa: SIM115 - caller closes
        except FileNotFoundError as e:
            raise InvalidImage(f"blob {digest} is missing from the content store") from e

    def writer(self, expected: str | None = None) -> BlobWriter:
        if expected is not None:
            check_digest(expected)
        return BlobWriter(self, expected)

    def write_bytes(self, data: bytes, expected: str | None = None) -> str:
        with self.writer(expected) as w:
            w.write(data)
            return w.commit()

    def write_stream(
        self,
        stream: IO[bytes],
        expected: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> str:
        """Copy ``stream`` to EOF into the store; ``progress`` gets the byte count of each chunk."""
        with self.writer(expected) as w:
            while chunk := stream.read(CHUNK):
                w.write(chunk)
                if progress is not None:
                    progress(len(chunk))
            return w.commit()

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def digests(self) -> Iterator[str]:
        for entry in os.scandir(self.blob_dir):
            if DIGEST_RE.match("sha256:" + entry.name):
                yield "sha256:" + entry.name
