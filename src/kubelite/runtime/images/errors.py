"""The errors an image pull or import can end in.

Each carries ``reason``: the word the kubelet puts in the container's waiting state
(``ErrImagePull``, ``InvalidImageName``, ``ErrImageNeverPull``), and a message that says
what went wrong and what to do about it.
"""

from __future__ import annotations


class ImageError(Exception):
    """Base class of every image error."""

    reason = "ErrImagePull"


class InvalidImageName(ImageError, ValueError):
    """The image reference does not parse."""

    reason = "InvalidImageName"


class ImageNotFound(ImageError):
    """No registry we tried has this image (manifest unknown, 404)."""


class RegistryUnavailable(ImageError):
    """The registry could not be reached or answered with a server error."""


class Unauthorized(ImageError):
    """The registry refused our credentials, or wants some and we have none."""


class ImageCorrupt(ImageError):
    """Content did not match its digest or size, or is not a valid image."""


class LayerRefused(ImageCorrupt):
    """A layer tries to write outside its root (absolute path, ``..``, symlink, hardlink)."""


class ImageNeverPull(ImageError):
    """The image is not present and the pull policy is Never."""

    reason = "ErrImageNeverPull"
