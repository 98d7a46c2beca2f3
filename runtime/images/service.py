"""The CRI v1 ImageService over the image store.

Semantics follow containerd's CRI plugin, which kubelet and critest are written against:

- ``PullImage`` answers the image id (``sha256:<config digest>``) as ``image_ref``; concurrent
  pulls of one name share a lock so the work is done once.
- ``ImageStatus`` of an image that is not there is an *empty* response, not an error;
  ``verbose`` adds ``info["info"]``, a JSON document with the full image config.
- ``RemoveImage`` removes every name of the image; removing a missing image succeeds; an image a
  container uses is refused with FAILED_PRECONDITION (``in_use`` is supplied by the runtime).
- ``ListImages`` with a filter lists the one image the filter names (or nothing).
- ``ImageFsInfo`` reports what the store really occupies on disk: bytes and inodes.

Domain errors become gRPC status codes in one place, ``_CODES`` below, through ``_grpc_errors``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from cri import api_pb2, api_pb2_grpc
from runtime.images import errors as E
from runtime.images.pull import pull_image
from runtime.images.registry_config import AuthConfig, RegistryConfig, RegistryConfigError
from runtime.images.store import Image, ImageStore

log = logging.getLogger(__name__)

# Most specific class first: the first match decides the code.
_CODES: list[tuple[type[Exception], grpc.StatusCode]] = [
    (E.ImageInUse, grpc.StatusCode.FAILED_PRECONDITION),
    (E.RegistryUnauthorized, grpc.StatusCode.UNAUTHENTICATED),
    (E.ImageNotFound, grpc.StatusCode.NOT_FOUND),
    (E.PlatformNotFound, grpc.StatusCode.NOT_FOUND),
    (E.InvalidReference, grpc.StatusCode.INVALID_ARGUMENT),
    (E.DigestMismatch, grpc.StatusCode.DATA_LOSS),
    (E.InvalidImage, grpc.StatusCode.FAILED_PRECONDITION),
    (RegistryConfigError, grpc.StatusCode.FAILED_PRECONDITION),
    (E.RegistryError, grpc.StatusCode.UNAVAILABLE),
    (E.ImageError, grpc.StatusCode.UNKNOWN),
    (OSError, grpc.StatusCode.INTERNAL),
]


def status_code_for(error: Exception) -> grpc.StatusCode:
    for cls, code in _CODES:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.UNKNOWN


F = TypeVar("F", bound=Callable[..., Any])


def _grpc_errors(method: F) -> F:
    """Turn a domain error raised by ``method`` into a gRPC status with its message."""

    @functools.wraps(method)
    def wrapper(self: ImageServiceServicer, request: Any, context: grpc.ServicerContext) -> Any:
        started = time.monotonic()
        try:
            return method(self, request, context)
        except (E.ImageError, RegistryConfigError, OSError) as e:
            code = status_code_for(e)
            log.info(
                "image call failed",
                extra={"method": method.__name__, "code": code.name, "error": str(e),
                       "duration": time.monotonic() - started},
            )
            context.abort(code, str(e))

    return wrapper  # type: ignore[return-value]


def chain_id(diff_ids: list[str]) -> str:
    """The OCI chain id of a layer stack: what containerd reports as the image's ``chainID``."""
    chain = ""
    for diff_id in diff_ids:
        chain = diff_id if not chain else "sha256:" + hashlib.sha256(f"{chain} {diff_id}".encode()).hexdigest()
    return chain


def image_message(image: Image) -> api_pb2.Image:
    msg = api_pb2.Image(
        id=image.id,
        repo_tags=image.repo_tags,
        repo_digests=image.repo_digests,
        size=image.size,
        username=image.username,
        spec=api_pb2.ImageSpec(image=image.id),
    )
    if image.uid is not None:
        msg.uid.value = image.uid
    return msg


def _auth(config: api_pb2.AuthConfig | None) -> AuthConfig | None:
    if config is None:
        return None
    return AuthConfig(
        username=config.username,
        password=config.password,
        auth=config.auth,
        server_address=config.server_address,
        identity_token=config.identity_token,
        registry_token=config.registry_token,
    )


class ImageServiceServicer(api_pb2_grpc.ImageServiceServicer):
    def __init__(
        self,
        store: ImageStore,
        in_use: Callable[[str], bool],
        registry_config: RegistryConfig | None = None,
    ) -> None:
        self.store = store
        self.in_use = in_use
        self.registry_config = registry_config or RegistryConfig()
        self._pull_locks: dict[str, threading.Lock] = {}
        self._pull_locks_guard = threading.Lock()

    def _pull_lock(self, ref: str) -> threading.Lock:
        with self._pull_locks_guard:
            return self._pull_locks.setdefault(ref, threading.Lock())

    @_grpc_errors
    def PullImage(self, request: api_pb2.PullImageRequest, context: grpc.ServicerContext) -> api_pb2.PullImageResponse:
        ref = request.image.image
        if not ref:
            raise E.InvalidReference("PullImage: image.image is empty")
        auth = _auth(request.auth) if request.HasField("auth") else None
        with self._pull_lock(ref):
            image = pull_image(self.store, ref, self.registry_config, auth=auth)
        return api_pb2.PullImageResponse(image_ref=image.id)

    @_grpc_errors
    def ListImages(self, request: api_pb2.ListImagesRequest, context: grpc.ServicerContext) -> api_pb2.ListImagesResponse:
        wanted = request.filter.image.image if request.HasField("filter") else ""
        if wanted:
            try:
                images = [self.store.resolve(wanted)]
            except (E.ImageNotFound, E.InvalidReference):
                images = []
        else:
            images = self.store.list_images()
        return api_pb2.ListImagesResponse(images=[image_message(i) for i in images])

    @_grpc_errors
    def ImageStatus(self, request: api_pb2.ImageStatusRequest, context: grpc.ServicerContext) -> api_pb2.ImageStatusResponse:
        try:
            image = self.store.resolve(request.image.image)
        except E.ImageNotFound:
            return api_pb2.ImageStatusResponse()
        response = api_pb2.ImageStatusResponse(image=image_message(image))
        if request.verbose:
            info = {
                "chainID": chain_id(image.diff_ids),
                "id": image.id,
                "manifestDigest": image.manifest_digest,
                "targetDigest": image.target_digest,
                "layers": [str(d) for d in image.layer_dirs],
                "imageSpec": image.image_config,
            }
            response.info["info"] = json.dumps(info)
        return response

    @_grpc_errors
    def RemoveImage(self, request: api_pb2.RemoveImageRequest, context: grpc.ServicerContext) -> api_pb2.RemoveImageResponse:
        try:
            image = self.store.resolve(request.image.image)
        except E.ImageNotFound:
            return api_pb2.RemoveImageResponse()
        if self.in_use(image.id):
            raise E.ImageInUse(
                f"image {request.image.image} ({image.id}) is in use by a container; remove the container first"
            )
        try:
            self.store.remove(image.id)
        except E.ImageNotFound:
            pass  # removed concurrently: the caller's wish is met
        return api_pb2.RemoveImageResponse()

    @_grpc_errors
    def ImageFsInfo(self, request: api_pb2.ImageFsInfoRequest, context: grpc.ServicerContext) -> api_pb2.ImageFsInfoResponse:
        used, inodes = self.store.disk_usage()
        usage = api_pb2.FilesystemUsage(
            timestamp=time.time_ns(),
            fs_id=api_pb2.FilesystemIdentifier(mountpoint=str(self.store.root)),
            used_bytes=api_pb2.UInt64Value(value=used),
            inodes_used=api_pb2.UInt64Value(value=inodes),
        )
        return api_pb2.ImageFsInfoResponse(image_filesystems=[usage])
