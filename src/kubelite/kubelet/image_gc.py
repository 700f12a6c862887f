"""Image garbage collection by disk use, as the kubelet's image GC manager does it.

Every `period` seconds the filesystem holding the image store is measured. When its use
reaches `high_percent` of capacity (Kubernetes' imageGCHighThresholdPercent, 85), images no
container uses are removed, oldest first, until use is back to `low_percent` (80).
Images of stopped containers whose records are kept (for `logs --previous`) count as used.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubelite.runtime.images import GcResult, ImageStore

if TYPE_CHECKING:
    from kubelite.kubelet.kubelet import Kubelet

log = logging.getLogger(__name__)

FREE_DISK_SPACE_FAILED = ("Failed to garbage collect required amount of images. Attempted to "
                          "free {need} bytes, but only found {freed} bytes eligible to free.")


@dataclass(frozen=True)
class ImageGcPolicy:
    high_percent: int = 85
    low_percent: int = 80
    period: float = 300.0


def bytes_to_free(capacity: int, available: int, policy: ImageGcPolicy) -> int:
    """How much the kubelet wants freed (0 below the high threshold): its own arithmetic."""
    if capacity <= 0:
        return 0
    usage_percent = 100 - available * 100 // capacity
    if usage_percent < policy.high_percent:
        return 0
    return max(0, capacity * (100 - policy.low_percent) // 100 - available)


def filesystem_space(path: str) -> tuple[int, int]:
    """(capacity, available) bytes of the filesystem holding `path`."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


async def collect(store: ImageStore, in_use: set[str], policy: ImageGcPolicy,
                  space: Callable[[str], tuple[int, int]] = filesystem_space) -> GcResult | None:
    """One GC pass; None when the disk is below the high threshold."""
    capacity, available = space(store.root)
    need = bytes_to_free(capacity, available, policy)
    if need <= 0:
        return None
    usage = store.disk_usage()
    result = await store.gc(in_use=in_use, max_bytes=max(0, usage - need))
    if result.freed_bytes < need:
        log.warning(FREE_DISK_SPACE_FAILED.format(need=need, freed=result.freed_bytes))
    elif result.removed:
        log.info("image GC removed %s (%d bytes)", ", ".join(result.removed), result.freed_bytes)
    return result


def images_in_use(kubelet: Kubelet) -> set[str]:
    """References and repo digests of every container the kubelet still keeps."""
    out: set[str] = set()
    if kubelet.syncer is not None:
        for rec in kubelet.syncer.records.all():
            out.update(x for x in (rec.image_name, rec.image_ref, rec.image) if x)
    if kubelet.runtime is not None:
        out |= kubelet.runtime.in_use_images()
    return out


def start(kubelet: Kubelet, policy: ImageGcPolicy | None = None) -> asyncio.Task[None]:
    policy = policy or ImageGcPolicy()

    async def loop() -> None:
        while True:
            await asyncio.sleep(policy.period)
            if kubelet.runtime is None:
                continue
            try:
                await collect(kubelet.runtime.images, images_in_use(kubelet), policy)
            except Exception as e:  # noqa: BLE001 - tried again next period
                log.warning("image garbage collection failed: %s", e)

    return asyncio.create_task(loop(), name="image-gc")
