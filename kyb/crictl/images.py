"""Image verbs: images, pull, inspecti, rmi, imagefsinfo.

Registry credentials travel in the CRI `AuthConfig` exactly as crictl sends them: `--creds
user[:password]` as username and password, `--auth` as the base64 `auth` string, `--username`
asking for the password on the terminal. Pulls get their own deadline (`--pull-timeout`, default
the client's long pull deadline), not the short per-call `--timeout`.
"""

from __future__ import annotations

import argparse
import getpass
import re
from typing import Any

from cri import api_pb2
from kyb.crictl import output
from kyb.crictl.config import load_pod_config
from kyb.crictl.listing import parse_labels
from kyb.crictl.output import add_output_flag, print_statuses
from kyb.crictl.session import CRIFailure, Session, UsageError, parse_duration


def parse_creds(creds: str) -> tuple[str, str]:
    """`user[:password]` -> (user, password); the user may not be empty."""
    user, _sep, password = creds.partition(":")
    if not user:
        raise UsageError("--creds: username can't be empty (want USERNAME[:PASSWORD])")
    return user, password


def auth_from_flags(args: argparse.Namespace) -> api_pb2.AuthConfig | None:
    """The AuthConfig the flags ask for, or None for an anonymous pull."""
    if args.creds and args.auth:
        raise UsageError("both --creds and --auth are specified")
    if args.username:
        password = getpass.getpass("Enter Password:")
        return api_pb2.AuthConfig(username=args.username, password=password)
    if args.creds:
        user, password = parse_creds(args.creds)
        return api_pb2.AuthConfig(username=user, password=password)
    if args.auth:
        return api_pb2.AuthConfig(auth=args.auth)
    return None


def pull_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--creds", help="use USERNAME[:PASSWORD] for accessing the registry")
    p.add_argument("--auth", help="use AUTH_STRING (base64 'USERNAME[:PASSWORD]') for accessing the registry")
    p.add_argument("-u", "--username", help="use USERNAME; the password is asked for on the terminal")
    p.add_argument("--pull-timeout", help="maximum time for the pull (e.g. 5m); default: 10m")


def run_pull(session: Session, args: argparse.Namespace) -> int:
    auth = auth_from_flags(args)
    sandbox = load_pod_config(args.pod_config) if args.pod_config else None
    spec = api_pb2.ImageSpec(image=args.image)
    for key, value in parse_labels(args.annotation).items():
        spec.annotations[key] = value
    kwargs: dict[str, Any] = {}
    if args.pull_timeout:
        seconds = parse_duration(args.pull_timeout)
        if seconds <= 0:
            raise UsageError("--pull-timeout must be positive")
        kwargs["timeout"] = seconds
    with session.attempt(f"pulling image {args.image}"):
        ref = session.image.pull_image(spec, auth=auth, sandbox_config=sandbox, **kwargs)
    session.print(f"Image is up to date for {ref}")
    return 0


def _sort_key(image: api_pb2.Image) -> tuple[str, str, str]:
    return (
        image.repo_tags[0] if image.repo_tags else "~",
        image.repo_digests[0] if image.repo_digests else "~",
        image.id,
    )


def list_images(session: Session, name: str | None) -> list[api_pb2.Image]:
    flt = api_pb2.ImageFilter(image=api_pb2.ImageSpec(image=name)) if name else None
    with session.attempt("listing images"):
        images = session.image.list_images(flt)
    return sorted(images, key=_sort_key)


def filter_images(images: list[api_pb2.Image], filters: list[str] | None) -> list[api_pb2.Image]:
    """crictl's `--filter`: dangling=true|false, reference=<regex>, before=<image>, since=<image>.

    before/since cut the (sorted) list at the named image, by tag, id prefix or repo digest.
    """
    result = list(images)
    for flt in filters or []:
        key, sep, value = flt.partition("=")
        if not sep:
            raise UsageError(f"unknown filter flag: {flt} (want key=value)")
        if key == "dangling":
            if value not in ("true", "false"):
                raise UsageError("dangling filter wants true or false")
            result = [i for i in result if (not i.repo_tags) == (value == "true")]
        elif key == "reference":
            try:
                pattern = re.compile(value)
            except re.error as e:
                raise UsageError(f"invalid reference regular expression {value!r}: {e}") from None
            result = [
                i
                for i in result
                if any(pattern.search(repo) or repo == value for repo, _ in repo_tag_pairs(i))
            ]
        elif key in ("before", "since"):
            index = next((n for n, i in enumerate(result) if _names(i, value)), None)
            if index is None:
                result = []
            elif key == "before":
                result = result[:index]
            else:
                result = result[index + 1 :]
        else:
            raise UsageError(f"unknown filter flag: {flt}")
    return result


def _names(image: api_pb2.Image, value: str) -> bool:
    return (
        value in image.repo_tags
        or image.id.removeprefix("sha256:").startswith(value.removeprefix("sha256:"))
        or any(d.startswith(value) for d in image.repo_digests)
    )


def repo_tag_pairs(image: api_pb2.Image) -> list[tuple[str, str]]:
    """(repository, tag) rows for one image: one per tag, or (<repo from digest>, <none>)."""
    repo_from_digest = image.repo_digests[0].split("@", 1)[0] if image.repo_digests else "<none>"
    if not image.repo_tags:
        return [(repo_from_digest, "<none>")]
    pairs = []
    for tag in image.repo_tags:
        repo, sep, t = tag.rpartition(":")
        if not sep or "/" in t:
            pairs.append((tag, "<none>"))
            continue
        pairs.append((repo_from_digest if repo == "<none>" else repo, t))
    return pairs


def run_images(session: Session, args: argparse.Namespace) -> int:
    images = filter_images(list_images(session, args.name), args.filter)
    if args.output in ("json", "yaml"):
        doc = output.message_to_dict(api_pb2.ListImagesResponse(images=images))
        doc.setdefault("images", [])
        session.print(output.dumps(doc, args.output), end="")
        return 0
    if args.quiet:
        for image in images:
            session.print(image.id)
        return 0
    if args.verbose:
        for image in images:
            session.print(f"ID: {image.id}")
            for tag in image.repo_tags:
                session.print(f"RepoTags: {tag}")
            for digest in image.repo_digests:
                session.print(f"RepoDigests: {digest}")
            if image.size:
                session.print(f"Size: {image.size}")
            if image.HasField("uid"):
                session.print(f"Uid: value:{image.uid.value}")
            if image.username:
                session.print(f"Username: {image.username}")
            if image.pinned:
                session.print("Pinned: true")
            session.print()
        return 0
    header = ["IMAGE", "TAG"] + (["DIGEST"] if args.digests else []) + ["IMAGE ID", "SIZE"]
    header += ["PINNED"] if args.pinned else []
    rows = [header]
    for image in images:
        digest = image.repo_digests[0].split("@", 1)[-1] if image.repo_digests else "<none>"
        image_id = image.id
        if not args.no_trunc:
            image_id = output.truncate_id(image_id, "sha256:")
            digest = output.truncate_id(digest, "sha256:")
        for repo, tag in repo_tag_pairs(image):
            row = (
                [repo, tag]
                + ([digest] if args.digests else [])
                + [image_id, output.human_size(image.size, 3)]
            )
            row += [str(image.pinned).lower()] if args.pinned else []
            rows.append(row)
    session.print(output.render_table(rows), end="")
    return 0


def run_inspecti(session: Session, args: argparse.Namespace) -> int:
    ids = list(args.ids) or [i.id for i in list_images(session, args.name)]
    if not ids:
        raise UsageError("no image ids given and none match the filters")
    fmt = args.output or "json"
    documents = []
    for image in ids:
        with session.attempt(f"getting the status of image {image}"):
            response = session.image.image_status(image, verbose=not args.quiet)
        if not response.HasField("image"):
            raise CRIFailure(f"no such image {image!r} present")
        if fmt == "table":
            session.print(f"ID: {response.image.id}")
            for tag in response.image.repo_tags:
                session.print(f"Tag: {tag}")
            for digest in response.image.repo_digests:
                session.print(f"Digest: {digest}")
            session.print(f"Size: {output.human_size(response.image.size, 3)}")
            if not args.quiet:
                session.print(f"Info: {dict(response.info)}")
            continue
        documents.append(output.status_document(response.image, dict(response.info), {}))
    print_statuses(session, documents, fmt)
    return 0


def run_rmi(session: Session, args: argparse.Namespace) -> int:
    ids: dict[str, bool] = {i: True for i in args.ids}
    if args.all or args.prune:
        for image in list_images(session, None):
            if args.prune and image.pinned:
                continue
            ids[image.id] = True
    if args.prune:
        with session.attempt("listing containers"):
            containers = session.runtime.list_containers()
        for c in containers:
            with session.attempt(f"getting the status of image {c.image.image}"):
                in_use = session.image.image_status(c.image.image)
            if in_use.HasField("image"):
                ids[in_use.image.id] = False
    targets = [i for i, remove in ids.items() if remove]
    if not targets:
        if args.all or args.prune:
            session.warn("no images to remove")
            return 0
        raise UsageError("rmi needs at least one IMAGE-ID (or --all/--prune)")
    for image in targets:
        with session.attempt(f"getting the status of image {image}"):
            status = session.image.image_status(image)
        if not status.HasField("image"):
            raise CRIFailure(f"no such image {image}")
        try:
            with session.attempt(f"removing image {image}"):
                session.image.remove_image(image)
        except CRIFailure:
            if args.prune:
                continue  # in use by now, or gone: prune is best effort
            raise
        for name in status.image.repo_tags or status.image.repo_digests:
            session.print(f"Deleted: {name}")
    return 0


def run_imagefsinfo(session: Session, args: argparse.Namespace) -> int:
    with session.attempt("getting image filesystem info"):
        response = session.image.image_fs_info()
    fmt = args.output or "json"
    if fmt != "table":
        session.print(output.dumps({"status": output.message_to_dict(response)}, fmt), end="")
        return 0
    for label, filesystems in (
        ("Container", response.container_filesystems),
        ("Image", response.image_filesystems),
    ):
        session.print(f"{label} Filesystem ")
        for i, fs in enumerate(filesystems):
            session.print(f"TimeStamp[{i}]: {fs.timestamp}")
            session.print(f"Disk[{i}]: {output.human_size(fs.used_bytes.value)}")
            session.print(f"Inodes[{i}]: {fs.inodes_used.value}")
            session.print(f"Mountpoint[{i}]: {fs.fs_id.mountpoint}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("images", aliases=["image", "img"], help="list images")
    p.add_argument("name", nargs="?", metavar="REPOSITORY[:TAG]")
    p.add_argument("-v", "--verbose", action="store_true", help="show verbose info for images")
    p.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    add_output_flag(p, "table", output.OUTPUT_FORMATS)
    p.add_argument("--digests", action="store_true", help="show digests")
    p.add_argument("--no-trunc", action="store_true", help="show output without truncating the ID")
    p.add_argument("--pinned", action="store_true", help="show whether the image is pinned")
    p.add_argument(
        "-f",
        "--filter",
        action="append",
        help="dangling=true|false, reference=REGEX, before=IMAGE, since=IMAGE (repeatable)",
    )
    p.set_defaults(_cri_run=run_images)

    p = sub.add_parser("pull", help="pull an image from a registry")
    p.add_argument("image", metavar="NAME[:TAG|@DIGEST]")
    pull_flags(p)
    p.add_argument("--pod-config", help="pod-config.[json|yaml] to pass along with the pull")
    p.add_argument("-a", "--annotation", action="append", help="key=value annotation for the pulled image")
    p.set_defaults(_cri_run=run_pull)

    p = sub.add_parser("inspecti", help="return the status of one or more images")
    p.add_argument("ids", nargs="*", metavar="IMAGE-ID")
    add_output_flag(p, None, output.OUTPUT_FORMATS)
    p.add_argument("-q", "--quiet", action="store_true", help="do not show verbose information")
    p.add_argument("--name", help="filter by image name")
    p.set_defaults(_cri_run=run_inspecti)

    p = sub.add_parser("rmi", help="remove one or more images")
    p.add_argument("ids", nargs="*", metavar="IMAGE-ID")
    p.add_argument("-a", "--all", action="store_true", help="remove all images")
    p.add_argument("-q", "--prune", action="store_true", help="remove all unused images")
    p.set_defaults(_cri_run=run_rmi)

    p = sub.add_parser("imagefsinfo", help="return image filesystem info")
    add_output_flag(p, None, output.OUTPUT_FORMATS)
    p.set_defaults(_cri_run=run_imagefsinfo)
