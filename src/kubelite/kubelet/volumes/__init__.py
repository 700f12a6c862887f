"""The kubelet's volume manager (see manager.py) and the pieces it is built from."""

from kubelite.kubelet.volumes.manager import (
    ContainerMountError,
    MountResult,
    VolumeManager,
)
from kubelite.kubelet.volumes.projections import VolumeSetupError

__all__ = ["ContainerMountError", "MountResult", "VolumeManager", "VolumeSetupError"]
