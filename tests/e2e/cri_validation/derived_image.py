"""Images derived offline from the busybox archive: another name, a USER, extra files, a label.

critest pulls purpose-built images (``test-image-user-uid`` with ``USER 1002``, one whose user
is ``www-data``, three distinct images, one image under three tags ...). With no internet we make
their equivalents from the project's busybox OCI archive: the base layer is reused as is, an
optional extra layer adds files (an /etc/passwd naming ``www-data``), and the image config gets
the USER and a label that makes the image id distinct. The result is an OCI archive that
``kyb image import`` and ``skopeo copy oci-archive:`` both read.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

# The busybox image's accounts plus what the official image (and critest's images) also have.
PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "www-data:x:33:33:www-data:/var/www:/bin/false\n"
    "default-user:x:1000:1000::/home:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/home:/bin/false\n"
)
GROUP = (
    "root:x:0:\ndaemon:x:1:\nwww-data:x:33:\ndefault-user:x:1000:\n"
    "group-defined-in-image:x:50000:default-user\nnobody:x:65534:\n"
)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_derived_archive(
    base: Path, output: Path, reference: str, *, user: str | None = None, files: dict[str, bytes] | None = None,
    label: str | None = None,
) -> tuple[str, str]:
    """Write `output` (an OCI archive naming `reference`); return (image id, manifest digest)."""
    with tarfile.open(base) as tar:
        blobs = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    index = json.loads(blobs["index.json"])
    manifest = json.loads(blobs["blobs/sha256/" + index["manifests"][0]["digest"].split(":", 1)[1]])
    config = json.loads(blobs["blobs/sha256/" + manifest["config"]["digest"].split(":", 1)[1]])
    new_blobs: dict[str, bytes] = {}
    for layer in manifest["layers"]:
        name = "blobs/sha256/" + layer["digest"].split(":", 1)[1]
        new_blobs[name] = blobs[name]
    if files:
        raw = _layer(files)
        compressed = gzip.compress(raw, mtime=0)
        new_blobs["blobs/sha256/" + _digest(compressed).split(":", 1)[1]] = compressed
        manifest["layers"].append({"mediaType": LAYER_GZIP, "digest": _digest(compressed), "size": len(compressed)})
        config["rootfs"]["diff_ids"].append(_digest(raw))
        config.setdefault("history", []).append({"created_by": "derived test layer"})
    if user is not None:
        config["config"]["User"] = user
    if label is not None:
        config["config"]["Labels"] = {"test-image": label}
    config_bytes = json.dumps(config, sort_keys=True).encode()
    manifest["config"] = {"mediaType": CONFIG, "digest": _digest(config_bytes), "size": len(config_bytes)}
    manifest["mediaType"] = MANIFEST
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    for data in (config_bytes, manifest_bytes):
        new_blobs["blobs/sha256/" + _digest(data).split(":", 1)[1]] = data
    tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else "latest"
    new_index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{
        "mediaType": MANIFEST, "digest": _digest(manifest_bytes), "size": len(manifest_bytes),
        "annotations": {"io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag},
    }]}
    tmp = output.with_name(f".{output.name}.tmp")
    with tarfile.open(tmp, "w") as tar:
        entries = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
                   "index.json": json.dumps(new_index).encode(), **new_blobs}
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, output)
    return _digest(config_bytes), _digest(manifest_bytes)


def accounts_layer() -> dict[str, bytes]:
    return {"etc/passwd": PASSWD.encode(), "etc/group": GROUP.encode()}
