"""A busybox root filesystem and OCI image archives built offline from Debian's busybox-static.

The reference runtimes in the benchmark and the containerd test harness need images without the
internet: a `busybox` image for workloads and a `pause`-like sandbox image whose process just
sleeps. Both are one layer holding /bin/busybox with every applet as a hard link to it (as the
official busybox image does, so masking one path never masks all applets), plus the directories
a container expects. The same layer unpacked into a directory is the rootfs `runc run` and
`crun run` use, so every runtime in a comparison starts the very same bytes.

The archive is an OCI image layout in a tar (oci-layout, index.json, blobs/sha256/...) whose
index carries both `org.opencontainers.image.ref.name` and containerd's `io.containerd.image.name`
annotation, so `ctr images import` names the image without extra flags.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass

BUSYBOX = "/bin/busybox"
DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PAUSE_COMMAND = ["/bin/sleep", "2147483647"]


class ImageBuildError(RuntimeError):
    """busybox-static is missing or the archive cannot be written."""


def _applets() -> list[str]:
    if not os.path.exists(BUSYBOX):
        raise ImageBuildError(f"{BUSYBOX} not found: install Debian's busybox-static")
    out = subprocess.run([BUSYBOX, "--list"], check=True, capture_output=True, text=True).stdout
    return sorted({a for a in out.split() if a and "/" not in a and a != "busybox"})


def _layer_tar() -> bytes:
    """The uncompressed layer: directories, /bin/busybox, applet hard links, passwd and group."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = mode
            tar.addfile(info)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))

        for d in (
            "bin",
            "dev",
            "etc",
            "home",
            "proc",
            "root",
            "sys",
            "usr",
            "usr/bin",
            "usr/sbin",
            "sbin",
            "var",
        ):
            add_dir(d, 0o700 if d == "root" else 0o755)
        add_dir("tmp", 0o1777)
        add_dir("var/tmp", 0o1777)
        with open(BUSYBOX, "rb") as f:
            add_file("bin/busybox", f.read(), 0o755)
        for applet in _applets():
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.LNKTYPE
            info.linkname = "bin/busybox"
            info.mode = 0o755
            tar.addfile(info)
        add_file(
            "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
        )
        add_file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return buf.getvalue()


@dataclass(frozen=True)
class ImageArchive:
    """Where an archive was written and what it holds."""

    path: str
    reference: str
    manifest_digest: str
    config_digest: str


def write_oci_archive(
    path: str, reference: str, entrypoint: list[str] | None = None, cmd: list[str] | None = None
) -> ImageArchive:
    """Write a one-layer busybox OCI image archive named `reference` to `path`."""
    layer = _layer_tar()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    compressed = gzip.compress(layer, mtime=0)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": [DEFAULT_PATH_ENV],
            "Entrypoint": entrypoint,
            "Cmd": cmd if cmd is not None else (None if entrypoint else ["sh"]),
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "busybox-static from Debian, applets as hard links"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()

    def desc(media_type: str, data: bytes) -> dict[str, object]:
        return {
            "mediaType": media_type,
            "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }

    config_desc = desc("application/vnd.oci.image.config.v1+json", config_bytes)
    layer_desc = desc("application/vnd.oci.image.layer.v1.tar+gzip", compressed)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer_desc],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    manifest_desc = desc("application/vnd.oci.image.manifest.v1+json", manifest_bytes)
    manifest_desc["annotations"] = {
        "io.containerd.image.name": reference,
        "org.opencontainers.image.ref.name": reference.rsplit(":", 1)[-1] if ":" in reference else "latest",
    }
    index = {"schemaVersion": 2, "manifests": [manifest_desc]}

    tmp = path + ".tmp"
    with tarfile.open(tmp, "w") as tar:

        def put(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))

        put("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        put("index.json", json.dumps(index).encode())
        for d, data in (
            (config_desc, config_bytes),
            (layer_desc, compressed),
            (manifest_desc, manifest_bytes),
        ):
            put("blobs/sha256/" + str(d["digest"]).split(":", 1)[1], data)
    os.replace(tmp, path)
    return ImageArchive(path, reference, str(manifest_desc["digest"]), str(config_desc["digest"]))


def make_rootfs(target: str) -> str:
    """Unpack the same busybox layer into `target` (created fresh) and return it."""
    if os.path.exists(target):
        shutil.rmtree(target)
    os.makedirs(target)
    with tarfile.open(fileobj=io.BytesIO(_layer_tar())) as tar:
        tar.extractall(target, filter="fully_trusted")
    return target
