"""Media types of the OCI image spec and of Docker's v2 schema 2, and which is which."""

from __future__ import annotations

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
LAYER_TYPES = frozenset(
    {
        OCI_LAYER,
        OCI_LAYER_GZIP,
        OCI_LAYER_ZSTD,
        OCI_LAYER_NONDIST,
        OCI_LAYER_NONDIST_GZIP,
        DOCKER_LAYER,
        DOCKER_LAYER_GZIP,
        DOCKER_FOREIGN_LAYER,
    }
)

# What we ask registries for, best first.
ACCEPT_MANIFESTS = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])


def manifest_kind(doc: dict, declared: str | None = None) -> str:
    """``"index"`` or ``"manifest"`` from the document's own mediaType, else its shape.

    OCI documents may omit ``mediaType``; an index has ``manifests``, a manifest has ``layers``.
    """
    media = doc.get("mediaType") or declared
    if media in INDEX_TYPES:
        return "index"
    if media in MANIFEST_TYPES:
        return "manifest"
    if "manifests" in doc:
        return "index"
    if "layers" in doc and "config" in doc:
        return "manifest"
    from runtime.images.errors import UnsupportedImage

    raise UnsupportedImage(f"unsupported manifest media type {media!r} (schema 1 manifests are not supported)")
