"""Blobs are addressed by digest and verified before they become visible."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from runtime.images.content import ContentStore, sha256_digest
from runtime.images.errors import DigestMismatch, InvalidImage


def test_a_blob_is_stored_under_its_digest_read_only(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    digest = store.write_bytes(b"hello")
    assert digest == sha256_digest(b"hello")
    assert store.read_bytes(digest) == b"hello"
    assert store.path(digest).stat().st_mode & 0o777 == 0o444


def test_content_that_does_not_match_its_digest_leaves_nothing(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    wrong = sha256_digest(b"expected")
    with pytest.raises(DigestMismatch, match=wrong):
        store.write_stream(io.BytesIO(b"tampered"), expected=wrong)
    assert list(store.digests()) == []
    assert list(store.ingest_dir.iterdir()) == []


def test_only_sha256_digests_are_accepted(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    with pytest.raises(InvalidImage, match="only sha256"):
        store.path("sha512:" + "0" * 128)
    with pytest.raises(InvalidImage, match="only sha256"):
        store.path("sha256:../../etc/passwd")
