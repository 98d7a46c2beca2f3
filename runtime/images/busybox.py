"""An OCI image of Debian's busybox-static, built offline and reproducibly.

The project must run with no internet, so its default image is built from the ``busybox``
binary the machine already has. Like the official busybox image, every applet is a *hard link*
to the one binary (not a symlink): Debian's static busybox runs its applets internally when
started as a shell, so hard links keep ``/bin/ls`` and friends real files that a runtime can
mask one by one. Applets are installed at the paths ``busybox --list-full`` reports.

The single layer holds the binary and its links, a minimal ``/etc`` (``passwd`` with ``root``
and ``nobody``, ``group``), and the usual empty directories. All times are fixed and all owners
are root, so building twice from the same binary gives the same digests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from runtime.images.errors import ImageError
from runtime.images.oci_layout import LayerTar, LayoutWriter
from runtime.images.platform import host_platform
from runtime.images.reference import Reference, parse_reference

DEFAULT_BUSYBOX = Path("/bin/busybox")
DEFAULT_TAG = "busybox:latest"

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "nobody:x:65534:65534:nobody:/home:/bin/false\n"
)
GROUP = "root:x:0:\ndaemon:x:1:\nnobody:x:65534:\n"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# (path, mode): directories every container expects, created before the applets.
DIRECTORIES = [
    ("bin", 0o755),
    ("dev", 0o755),
    ("etc", 0o755),
    ("home", 0o755),
    ("proc", 0o555),
    ("root", 0o700),
    ("sbin", 0o755),
    ("sys", 0o555),
    ("tmp", 0o1777),
    ("usr", 0o755),
    ("usr/bin", 0o755),
    ("usr/sbin", 0o755),
    ("var", 0o755),
    ("var/spool", 0o755),
    ("var/spool/mail", 0o755),
    ("var/www", 0o755),
]


class BusyboxBuildError(ImageError):
    """The busybox binary is missing or does not behave like busybox."""


def applet_paths(busybox: Path) -> list[str]:
    """Relative install paths of every applet, from ``busybox --list-full``."""
    try:
        out = subprocess.run(
            [str(busybox), "--list-full"], check=True, capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise BusyboxBuildError(
            f"cannot list applets of {busybox}: {e} (install Debian's busybox-static)"
        ) from e
    paths = sorted({line.strip().lstrip("/") for line in out.splitlines() if line.strip()})
    if not paths:
        raise BusyboxBuildError(f"{busybox} --list-full printed no applets")
    return paths


def busybox_layer(busybox: Path = DEFAULT_BUSYBOX) -> bytes:
    """The uncompressed layer tar."""
    try:
        binary = busybox.read_bytes()
    except OSError as e:
        raise BusyboxBuildError(f"cannot read {busybox}: {e.strerror} (install Debian's busybox-static)") from e
    layer = LayerTar()
    for path, mode in DIRECTORIES:
        layer.add_dir(path, mode)
    layer.add_file("bin/busybox", binary, 0o755)
    for applet in applet_paths(busybox):
        if applet in ("bin/busybox", "linuxrc"):
            continue  # the binary itself, and the initramfs init that has no place in an image
        layer.add_hardlink(applet, "bin/busybox", 0o755)
    layer.add_file("etc/passwd", PASSWD.encode())
    layer.add_file("etc/group", GROUP.encode())
    return layer.getvalue()


def build_busybox_archive(
    output: Path, tag: str = DEFAULT_TAG, busybox: Path = DEFAULT_BUSYBOX
) -> tuple[Reference, str]:
    """Write the archive; returns the normalized name and the manifest digest."""
    ref = parse_reference(tag)
    if ref.digest is not None:
        raise BusyboxBuildError(f"--tag {tag!r}: a built image is named by a tag, not a digest")
    plat = host_platform()
    writer = LayoutWriter()
    manifest = writer.add_image(
        [busybox_layer(busybox)],
        {"Env": [DEFAULT_PATH], "Cmd": ["sh"]},
        architecture=plat.architecture,
        variant=plat.variant,
        history=[{"created": "2000-01-01T00:00:00Z", "created_by": "kyb image build-busybox"}],
    )
    writer.tag(manifest, ref)
    tmp = output.with_name(f".{output.name}.tmp")
    writer.write(str(tmp))
    tmp.replace(output)
    return ref, manifest.digest
