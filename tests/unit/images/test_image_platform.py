"""Choosing this machine's manifest from an image index."""

from __future__ import annotations

import pytest

from runtime.images.errors import PlatformNotFound
from runtime.images.platform import Platform, select_manifest


def entry(digest: str, arch: str, variant: str | None = None, os: str = "linux") -> dict:
    plat = {"os": os, "architecture": arch}
    if variant:
        plat["variant"] = variant
    return {"digest": digest, "platform": plat}


INDEX = {
    "manifests": [
        entry("att", "unknown", os="unknown"),
        entry("win", "amd64", os="windows"),
        entry("arm6", "arm", "v6"),
        entry("arm7", "arm", "v7"),
        entry("x86", "amd64"),
        entry("a64", "arm64", "v8"),
    ]
}


@pytest.mark.parametrize(
    ("platform", "digest"),
    [
        (Platform("linux", "amd64"), "x86"),
        (Platform("linux", "arm", "v7"), "arm7"),
        (Platform("linux", "arm64"), "a64"),
        (Platform("linux", "arm64", "v8"), "a64"),
    ],
)
def test_the_matching_os_architecture_and_variant_wins(platform: Platform, digest: str) -> None:
    assert select_manifest(INDEX, platform)["digest"] == digest


def test_an_entry_without_variant_matches_when_no_exact_variant_exists() -> None:
    index = {"manifests": [entry("generic", "arm"), entry("v5", "arm", "v5")]}
    assert select_manifest(index, Platform("linux", "arm", "v7"))["digest"] == "generic"


def test_no_matching_platform_names_what_the_index_offers() -> None:
    with pytest.raises(PlatformNotFound, match="linux/s390x.*linux/amd64"):
        select_manifest(INDEX, Platform("linux", "s390x"))
