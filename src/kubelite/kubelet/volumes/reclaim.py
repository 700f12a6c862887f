"""Deletes the data of this node's local-path volumes once their claim is gone (reclaimPolicy
Delete), then the PersistentVolume itself, as k3s' local-path provisioner does with its helper pod.

Only the node holding the directory can delete it, so this runs in the kubelet. The names below
must match controllers/local_path.py (a unit test checks they do).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from typing import Any

from kubelite.client import ApiClient, Informer, NotFound
from kubelite.kubelet.volumes.syscalls import mounts_under

log = logging.getLogger(__name__)

PROVISIONER = "rancher.io/local-path"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
SELECTED_NODE = "local.path.provisioner/selected-node"


def should_delete(pv: dict[str, Any], node_name: str) -> bool:
    meta, spec = pv.get("metadata") or {}, pv.get("spec") or {}
    ann = meta.get("annotations") or {}
    return (ann.get(PROVISIONED_BY) == PROVISIONER and ann.get(SELECTED_NODE) == node_name
            and (pv.get("status") or {}).get("phase") == "Released"
            and spec.get("persistentVolumeReclaimPolicy") == "Delete"
            and not meta.get("deletionTimestamp"))


def delete_data(path: str, storage_dir: str) -> None:
    """Remove a volume directory, only if it lies inside storage_dir and nothing is mounted there."""
    root = os.path.realpath(storage_dir)
    real = os.path.realpath(path)
    if not real.startswith(root + "/"):
        raise ValueError(f"refusing to delete {path}: not under {storage_dir}")
    if mounts_under(real):
        raise OSError(f"refusing to delete {path}: something is mounted there")
    shutil.rmtree(real, ignore_errors=True)


class LocalPathReclaimer:
    def __init__(self, client: ApiClient, node_name: str, storage_dir: str) -> None:
        self.client = client
        self.node_name = node_name
        self.storage_dir = storage_dir
        self.informer = Informer(client, "persistentvolumes", raw=True)
        self.informer.on_add(self._check)
        self.informer.on_update(lambda _old, new: self._check(new))
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[str] = set()

    def start(self) -> None:
        self.informer.start()

    async def stop(self) -> None:
        await self.informer.stop()
        for t in list(self._tasks):
            t.cancel()

    def _check(self, pv: dict[str, Any]) -> None:
        name = pv["metadata"]["name"]
        if should_delete(pv, self.node_name) and name not in self._busy:
            self._busy.add(name)
            task = asyncio.get_running_loop().create_task(self._reclaim(pv))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _reclaim(self, pv: dict[str, Any]) -> None:
        name = pv["metadata"]["name"]
        try:
            path = ((pv.get("spec") or {}).get("hostPath") or {}).get("path", "")
            if path:
                await asyncio.to_thread(delete_data, path, self.storage_dir)
            try:
                await self.client.delete("persistentvolumes", name)
            except NotFound:
                pass
            log.info("deleted local-path volume %s (%s)", name, path)
        except Exception as e:  # noqa: BLE001 - the next update of the PV retries
            log.warning("reclaiming local-path volume %s: %s", name, e)
        finally:
            self._busy.discard(name)
