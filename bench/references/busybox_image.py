"""Busybox images and root filesystems for the reference runtimes, built offline.

The reference runtimes in the benchmark and the containerd test harness need images without the
internet: a `busybox` image for workloads and a `pause`-like sandbox image whose process just
sleeps. Both are the project's own busybox layer (runtime.images.busybox: /bin/busybox with
every applet as a hard link to it), so every runtime in a comparison starts the very same bytes;
the same layer unpacked into a directory is the rootfs `runc run` and `crun run` use. Only the
image config (entrypoint, cmd) and the name differ; the archive's index carries the
`io.containerd.image.name` annotation, so `ctr images import` names the image without flags.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from dataclasses import dataclass

from runtime.images.busybox import DEFAULT_PATH, busybox_layer
from runtime.images.oci_layout import LayoutWriter
from runtime.images.platform import host_platform
from runtime.images.reference import parse_reference

# Waits forever on a read-only root (containerd's sandboxes have one), and is not named `sleep`:
# in a shared pid namespace, tests look for their own `sleep` processes.
PAUSE_COMMAND = ["/usr/bin/tail", "-f", "/dev/null"]


@dataclass(frozen=True)
class ImageArchive:
    """Where an archive was written and what it holds."""

    path: str
    reference: str
    manifest_digest: str


def write_oci_archive(
    path: str, reference: str, entrypoint: list[str] | None = None, cmd: list[str] | None = None
) -> ImageArchive:
    """Write a one-layer busybox OCI image archive named `reference` to `path`."""
    plat = host_platform()
    writer = LayoutWriter()
    config = {
        "Env": [DEFAULT_PATH],
        "Entrypoint": entrypoint,
        "Cmd": cmd if cmd is not None else (None if entrypoint else ["sh"]),
        "WorkingDir": "/",
    }
    manifest = writer.add_image([busybox_layer()], config, architecture=plat.architecture, variant=plat.variant)
    writer.tag(manifest, parse_reference(reference))
    tmp = path + ".tmp"
    writer.write(tmp)
    os.replace(tmp, path)
    return ImageArchive(path, reference, manifest.digest)


def make_rootfs(target: str) -> str:
    """Unpack the same busybox layer into `target` (created fresh) and return it."""
    if os.path.exists(target):
        shutil.rmtree(target)
    os.makedirs(target)
    with tarfile.open(fileobj=io.BytesIO(busybox_layer())) as tar:
        tar.extractall(target, filter="fully_trusted")
    return target
