"""`kyb image`: build, import, pull, list and remove images in a runtime's image store.

The store is the one `kyb runtime --root DIR` serves (``DIR/images``), and it is safe to add
to while that runtime runs. ``build-busybox`` needs no store: it writes an archive.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kyb.defaults import DEFAULT_RUNTIME_ROOT
from kyb.errors import CommandError
from runtime.images.busybox import DEFAULT_TAG, build_busybox_archive
from runtime.images.errors import ImageError
from runtime.images.store import Image, ImageStore

NAME = "image"
HELP = "build, import, pull, list and remove images in a runtime's image store"

DEFAULT_ROOT = Path(DEFAULT_RUNTIME_ROOT)


def _store(args: argparse.Namespace) -> ImageStore:
    return ImageStore(Path(args.root) / "images")


def _short_id(image: Image) -> str:
    return image.id.removeprefix("sha256:")[:12]


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.3g}{unit}" if unit != "B" else f"{int(value)}B"
        value /= 1000
    return f"{size}B"


def _build_busybox(args: argparse.Namespace) -> int:
    ref, digest = build_busybox_archive(Path(args.output), tag=args.tag, busybox=Path(args.busybox))
    print(f"{ref} {digest} -> {args.output}")
    return 0


def _import(args: argparse.Namespace) -> int:
    for image in _store(args).import_archive_all(Path(args.file)):
        names = ", ".join(image.repo_tags) or "<none>"
        print(f"imported {names} ({image.id})")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from runtime.images.pull import pull_image
    from runtime.images.registry_config import AuthConfig, load_registry_config

    config = load_registry_config(Path(args.registry_config) if args.registry_config else None)
    auth = AuthConfig(username=args.username or "", password=args.password or "")
    show = sys.stderr.isatty() and not args.quiet
    image = pull_image(_store(args), args.ref, config, auth=auth, progress=show)
    print(image.id)
    return 0


def _ls(args: argparse.Namespace) -> int:
    rows = [("IMAGE", "TAG", "IMAGE ID", "SIZE")]
    for image in _store(args).list_images():
        names = image.repo_tags or [d.split("@")[0] + ":<none>" for d in image.repo_digests[:1]] or ["<none>:<none>"]
        for name in names:
            repo, _, tag = name.rpartition(":")
            rows.append((repo, tag, _short_id(image), _human(image.size)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}")
    return 0


def _rm(args: argparse.Namespace) -> int:
    store = _store(args)
    for ref in args.refs:
        image = store.remove(ref)
        print(f"deleted {image.id}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="image_command", metavar="VERB", parser_class=type(parser))
    sub.required = True

    def with_root(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--root", default=str(DEFAULT_ROOT), help="the runtime's root directory (images live in ROOT/images)")
        return p

    p = sub.add_parser("build-busybox", help="build the busybox image archive offline from busybox-static")
    p.add_argument("-o", "--output", required=True, help="archive to write (OCI layout in a tar)")
    p.add_argument("--tag", default=DEFAULT_TAG, help="image name (default %(default)s)")
    p.add_argument("--busybox", default="/bin/busybox", help="the static busybox binary to package")
    p.set_defaults(_image_run=_build_busybox)

    p = with_root(sub.add_parser("import", help="import an OCI layout or docker save archive"))
    p.add_argument("file")
    p.set_defaults(_image_run=_import)

    p = with_root(sub.add_parser("pull", help="pull an image from a registry"))
    p.add_argument("ref")
    p.add_argument("--registry-config", help="registry hosts file (TOML): mirrors, plain-HTTP hosts")
    p.add_argument("--username", help="registry user name (basic auth)")
    p.add_argument("--password", help="registry password")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(_image_run=_pull)

    p = with_root(sub.add_parser("ls", help="list images"))
    p.set_defaults(_image_run=_ls)

    p = with_root(sub.add_parser("rm", help="remove images (all their names)"))
    p.add_argument("refs", nargs="+", metavar="REF")
    p.set_defaults(_image_run=_rm)


def run(args: argparse.Namespace) -> int:
    try:
        return int(args._image_run(args))
    except ImageError as e:
        raise CommandError(str(e)) from e
    except OSError as e:
        raise CommandError(f"{e.filename or ''}: {e.strerror}".lstrip(": ")) from e
