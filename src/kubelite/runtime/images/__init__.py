"""Container images on this node: references, registries, the layer store, rootfs mounts.

The kubelet uses :class:`ImageStore` (pull, get, list, remove, import, gc, image config,
layer dirs) and :func:`mount_rootfs`/:func:`unmount`. Errors carry the kubelet ``reason``.
"""

from .config import RegistriesConfig, load_registries
from .errors import (
    ImageCorrupt,
    ImageError,
    ImageNeverPull,
    ImageNotFound,
    InvalidImageName,
    LayerRefused,
    RegistryUnavailable,
    Unauthorized,
)
from .reference import Reference, is_valid_reference, parse_reference
from .rootfs import mount_rootfs, unmount
from .store import GcResult, ImageRecord, ImageStore

__all__ = [
    "GcResult",
    "ImageCorrupt",
    "ImageError",
    "ImageNeverPull",
    "ImageNotFound",
    "ImageRecord",
    "ImageStore",
    "InvalidImageName",
    "LayerRefused",
    "Reference",
    "RegistriesConfig",
    "RegistryUnavailable",
    "Unauthorized",
    "is_valid_reference",
    "load_registries",
    "mount_rootfs",
    "parse_reference",
    "unmount",
]
