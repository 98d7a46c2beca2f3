"""Writing images: layer tarballs and OCI image layout archives, deterministically.

Used by ``kyb image build-busybox`` and by tests and benchmarks that need images with exact
contents (layers with whiteouts, multi-platform indexes, hostile entries). Everything is built
in memory (these images are small), every timestamp is fixed and every owner is root, so the
same input always gives the same digests.

The archive is an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/``) in a tar.
Each tagged image gets, as containerd and Docker 25 export them, an ``index.json`` entry
annotated with ``io.containerd.image.name`` (the full name) and
``org.opencontainers.image.ref.name`` (the tag). Single-platform tagged images are also listed in
a ``manifest.json`` in ``docker save`` format, so ``docker load`` and skopeo's docker-archive
transport read the same file.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass, field

from runtime.images import mediatypes as mt
from runtime.images.content import sha256_digest
from runtime.images.reference import Reference

BUILD_EPOCH = 946684800  # 2000-01-01T00:00:00Z, the mtime of every file we write
BUILD_CREATED = "2000-01-01T00:00:00Z"


def canonical_json(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


class LayerTar:
    """A layer being written: files, dirs, links and whiteouts, in the order added."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()
        self._tar = tarfile.open(fileobj=self._buf, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name: str, kind: bytes, mode: int, uid: int, gid: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.uid, info.gid = uid, gid
        info.uname = info.gname = ""
        info.mtime = BUILD_EPOCH
        return info

    def add_dir(self, name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        self._tar.addfile(self._info(name, tarfile.DIRTYPE, mode, uid, gid))

    def add_file(
        self,
        name: str,
        data: bytes,
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        xattrs: dict[str, str] | None = None,
    ) -> None:
        info = self._info(name, tarfile.REGTYPE, mode, uid, gid)
        info.size = len(data)
        if xattrs:
            info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
        self._tar.addfile(info, io.BytesIO(data))

    def add_symlink(self, name: str, target: str) -> None:
        info = self._info(name, tarfile.SYMTYPE, 0o777, 0, 0)
        info.linkname = target
        self._tar.addfile(info)

    def add_hardlink(self, name: str, target: str, mode: int = 0o644) -> None:
        """A hard link entry; ``mode`` should be the target's, since some unpackers (containerd)
        apply a link header's mode to the shared inode."""
        info = self._info(name, tarfile.LNKTYPE, mode, 0, 0)
        info.linkname = target
        self._tar.addfile(info)

    def add_device(self, name: str, char: bool = True, major: int = 0, minor: int = 0) -> None:
        info = self._info(name, tarfile.CHRTYPE if char else tarfile.BLKTYPE, 0o600, 0, 0)
        info.devmajor, info.devminor = major, minor
        self._tar.addfile(info)

    def add_raw(self, info: tarfile.TarInfo, data: bytes | None = None) -> None:
        """An entry exactly as given (tests use this for hostile names)."""
        self._tar.addfile(info, io.BytesIO(data) if data is not None else None)

    def whiteout(self, name: str) -> None:
        """Delete ``name`` (from lower layers) in this layer."""
        head, _, base = name.rpartition("/")
        self.add_file(f"{head}/.wh.{base}" if head else f".wh.{base}", b"")

    def opaque(self, directory: str) -> None:
        """Hide everything lower layers have in ``directory``."""
        self.add_file(f"{directory.rstrip('/')}/.wh..wh..opq", b"")

    def getvalue(self) -> bytes:
        self._tar.close()
        return self._buf.getvalue()


@dataclass
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        d: dict = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform:
            d["platform"] = self.platform
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d


class LayoutWriter:
    """Collects blobs and tags, then writes one archive."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self._tagged: list[tuple[Reference, Descriptor]] = []
        self._docker: list[dict] = []

    def add_blob(self, data: bytes, media_type: str) -> Descriptor:
        digest = sha256_digest(data)
        self.blobs[digest] = data
        return Descriptor(media_type, digest, len(data))

    def add_image(
        self,
        layers: list[bytes],
        config: dict,
        *,
        architecture: str,
        os_name: str = "linux",
        variant: str | None = None,
        compress: bool = True,
        docker_media_types: bool = False,
        history: list[dict] | None = None,
    ) -> Descriptor:
        """Add a single-platform image from uncompressed layer tars; returns its manifest."""
        diff_ids = [sha256_digest(layer) for layer in layers]
        image_config: dict = {
            "architecture": architecture,
            "os": os_name,
            "created": BUILD_CREATED,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history or [{"created": BUILD_CREATED, "created_by": "kyb image build"}],
        }
        if variant:
            image_config["variant"] = variant
        if docker_media_types:
            layer_type = mt.DOCKER_LAYER_GZIP if compress else mt.DOCKER_LAYER
            config_type, manifest_type = mt.DOCKER_CONFIG, mt.DOCKER_MANIFEST
        else:
            layer_type = mt.OCI_LAYER_GZIP if compress else mt.OCI_LAYER
            config_type, manifest_type = mt.OCI_CONFIG, mt.OCI_MANIFEST
        layer_descs = []
        for layer in layers:
            data = gzip.compress(layer, compresslevel=6, mtime=0) if compress else layer
            layer_descs.append(self.add_blob(data, layer_type))
        config_desc = self.add_blob(canonical_json(image_config), config_type)
        manifest = {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": config_desc.to_json(),
            "layers": [d.to_json() for d in layer_descs],
        }
        desc = self.add_blob(canonical_json(manifest), manifest_type)
        desc.platform = {"architecture": architecture, "os": os_name}
        if variant:
            desc.platform["variant"] = variant
        return desc

    def add_index(self, manifests: list[Descriptor], docker_media_types: bool = False) -> Descriptor:
        media = mt.DOCKER_LIST if docker_media_types else mt.OCI_INDEX
        index = {"schemaVersion": 2, "mediaType": media, "manifests": [d.to_json() for d in manifests]}
        return self.add_blob(canonical_json(index), media)

    def tag(self, desc: Descriptor, ref: Reference) -> None:
        self._tagged.append((ref, desc))
        if desc.media_type in mt.MANIFEST_TYPES:
            manifest = json.loads(self.blobs[desc.digest])
            self._docker.append(
                {
                    "Config": "blobs/sha256/" + manifest["config"]["digest"].split(":")[1],
                    "RepoTags": [ref.familiar()],
                    "Layers": ["blobs/sha256/" + lay["digest"].split(":")[1] for lay in manifest["layers"]],
                }
            )

    def index_json(self) -> dict:
        manifests = []
        for ref, desc in self._tagged:
            entry = Descriptor(desc.media_type, desc.digest, desc.size)
            entry.annotations = {
                "io.containerd.image.name": str(ref),
                "org.opencontainers.image.ref.name": ref.tag or "latest",
            }
            manifests.append(entry.to_json())
        return {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests}

    def write(self, path: str | bytes | object) -> None:
        """Write the archive to ``path`` (a filesystem path), entries sorted, times fixed."""
        files: list[tuple[str, bytes]] = [
            ("oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"})),
            ("index.json", canonical_json(self.index_json())),
        ]
        if self._docker:
            files.append(("manifest.json", canonical_json(self._docker)))
        for digest in sorted(self.blobs):
            files.append((f"blobs/sha256/{digest.split(':')[1]}", self.blobs[digest]))
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for d in ("blobs", "blobs/sha256"):
                info = tarfile.TarInfo(d)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, BUILD_EPOCH
                tar.addfile(info)
            for name, data in files:
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, BUILD_EPOCH
                tar.addfile(info, io.BytesIO(data))
