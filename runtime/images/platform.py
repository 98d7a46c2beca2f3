"""This machine's OCI platform, and choosing a manifest for it from an image index.

Architecture names follow Go's GOARCH as the OCI image spec does (``amd64``, ``arm64``, ...),
with the variant used for ARM. An index entry matches when its ``os`` and ``architecture``
match; among those, an exact variant match wins, then an entry without a variant, then any.
Entries for other platforms (and attestation manifests, whose platform is ``unknown``) are skipped.
"""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass

from runtime.images.errors import PlatformNotFound

_MACHINE_TO_OCI: dict[str, tuple[str, str | None]] = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "i386": ("386", None),
    "i686": ("386", None),
    "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        s = f"{self.os}/{self.architecture}"
        return f"{s}/{self.variant}" if self.variant else s


def host_platform() -> Platform:
    machine = _platform.machine()
    arch, variant = _MACHINE_TO_OCI.get(machine, (machine, None))
    return Platform("linux", arch, variant)


def _normalize_variant(arch: str, variant: str | None) -> str | None:
    if arch == "arm64" and variant in (None, "", "v8"):
        return "v8"
    return variant or None


def select_manifest(index: dict, want: Platform | None = None) -> dict:
    """The descriptor in ``index['manifests']`` for ``want`` (default: this machine)."""
    want = want or host_platform()
    candidates: list[tuple[int, dict]] = []
    for desc in index.get("manifests", []):
        plat = desc.get("platform") or {}
        if plat.get("os") != want.os or plat.get("architecture") != want.architecture:
            continue
        have_variant = _normalize_variant(plat["architecture"], plat.get("variant"))
        want_variant = _normalize_variant(want.architecture, want.variant)
        if have_variant == want_variant:
            rank = 0
        elif plat.get("variant") in (None, ""):
            rank = 1
        else:
            rank = 2
        candidates.append((rank, desc))
    if not candidates:
        offered = sorted(
            "{}/{}".format((d.get("platform") or {}).get("os", "?"), (d.get("platform") or {}).get("architecture", "?"))
            for d in index.get("manifests", [])
        )
        raise PlatformNotFound(f"no manifest for platform {want} in the image index (it offers {', '.join(offered) or 'nothing'})")
    candidates.sort(key=lambda c: c[0])
    return candidates[0][1]
