"""The image domain's exception tree.

Every failure of the image store, unpacker and registry client is an ``ImageError``; callers
that serve an API (the CRI ImageService, the ``kyb image`` command) map these classes to status
codes in one place each, so the classes say *what kind* of failure it is and the message says
what to do about it.
"""

from __future__ import annotations


class ImageError(Exception):
    """Base of every error raised by ``runtime.images``."""


class ImageNotFound(ImageError):
    """No image in the store matches the reference, id or digest asked for."""


class InvalidReference(ImageError):
    """A string is not a valid image reference (``name[:tag][@digest]``)."""


class InvalidImage(ImageError):
    """An archive, manifest, index or config is malformed or incomplete."""


class UnsupportedImage(InvalidImage):
    """The image is well formed but uses something we do not implement (media type, algorithm)."""


class DigestMismatch(InvalidImage):
    """Content did not hash to the digest it was addressed by."""


class UnsafeLayerEntry(InvalidImage):
    """A layer entry would write outside the layer directory or create a device node."""

    def __init__(self, entry: str, reason: str) -> None:
        super().__init__(f"layer entry {entry!r} rejected: {reason}")
        self.entry = entry
        self.reason = reason


class ImageInUse(ImageError):
    """The image cannot be removed because a container uses it."""


class PlatformNotFound(ImageError):
    """An image index has no manifest for this machine's platform."""


class RegistryError(ImageError):
    """The registry answered with an error or could not be reached."""


class RegistryUnauthorized(RegistryError):
    """The registry refused the credentials (or their absence)."""


class RegistryNotFound(RegistryError, ImageNotFound):
    """The registry does not have the repository, tag or blob asked for."""
