"""The `local-path` StorageClass and its provisioner (as k3s ships rancher's local-path-provisioner).

A claim of this class waits for its first pod (volumeBindingMode WaitForFirstConsumer); once the
pod has a node (`volume.kubernetes.io/selected-node`), a directory-backed PersistentVolume is
made for that node: a hostPath under the directory the node's kubelet announces in its Node
annotation `kubelite.io/local-path-dir`, with node affinity to that node and pre-bound to the
claim. The kubelet makes the directory when it mounts it and deletes it when the volume is
Released with reclaimPolicy Delete (kubelet/volumes/reclaim.py).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from kubelite.client import AlreadyExists, ApiClient
from kubelite.controllers.base import Controller
from kubelite.controllers.pv_binder import (
    DEFAULT_CLASS_ANNOTATION,
    LOCAL_PATH_PROVISIONER,
    PROVISIONED_BY,
    SELECTED_NODE,
    phase,
    with_effective_class,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]

CLASS_NAME = "local-path"
PROVISIONER = LOCAL_PATH_PROVISIONER
NODE_DIR_ANNOTATION = "kubelite.io/local-path-dir"  # written by the kubelet's volume manager
PV_SELECTED_NODE = "local.path.provisioner/selected-node"
DEFAULT_NODE_DIR = "/var/lib/kubelite/storage"
COMPONENT = "rancher.io/local-path_kubelite"


def default_storage_class() -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": CLASS_NAME, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def volume_name(pvc: Obj) -> str:
    return f"pvc-{pvc['metadata']['uid']}"


def volume_for(pvc: Obj, cls: Obj, node: str, node_dir: str) -> Obj:
    """The PersistentVolume for a claim on a node: hostPath under the node's storage dir."""
    meta, spec = pvc["metadata"], pvc.get("spec") or {}
    ns = meta.get("namespace") or "default"
    name = volume_name(pvc)
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage") or "1Gi"
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER,
                                                    PV_SELECTED_NODE: node}},
        "spec": {
            "capacity": {"storage": storage},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": cls.get("reclaimPolicy") or "Delete",
            "storageClassName": cls["metadata"]["name"],
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns,
                         "name": meta["name"], "uid": meta["uid"],
                         "resourceVersion": meta.get("resourceVersion")},
            "hostPath": {"path": os.path.join(node_dir, f"{name}_{ns}_{meta['name']}"),
                         "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}},
        },
    }


class LocalPathProvisioner(Controller):
    name = "local-path-provisioner"

    def __init__(self, client: ApiClient) -> None:
        super().__init__(client)
        self._made: set[str] = set()

    def setup(self) -> None:
        self.pvcs = self.informer("persistentvolumeclaims", raw=True)
        self.classes = self.informer("storageclasses", raw=True)
        self.nodes = self.informer("nodes", raw=True)
        enqueue = lambda o: self.queue.add(  # noqa: E731
            f"{o['metadata'].get('namespace') or 'default'}/{o['metadata']['name']}")
        self.pvcs.on_add(enqueue)
        self.pvcs.on_update(lambda _o, n: enqueue(n))

    async def start(self) -> None:
        await ensure_default_class(self.client)
        await super().start()

    async def reconcile(self, key: str) -> float | None:
        pvc = self.pvcs.get(key)
        if pvc is None:
            return None
        pvc = with_effective_class(pvc, self.classes.list())
        meta, spec = pvc["metadata"], pvc.get("spec") or {}
        if meta.get("deletionTimestamp") or spec.get("volumeName") or phase(pvc) == "Bound":
            return None
        cls = self.classes.get(spec.get("storageClassName") or "")
        if cls is None or cls.get("provisioner") != PROVISIONER:
            return None
        node = (meta.get("annotations") or {}).get(SELECTED_NODE)
        if not node:
            return None  # WaitForFirstConsumer: the binder names the node once a pod runs
        name = volume_name(pvc)
        if name in self._made:
            return None
        node_obj = self.nodes.get(node) or {}
        node_dir = ((node_obj.get("metadata") or {}).get("annotations") or {}).get(
            NODE_DIR_ANNOTATION)
        if not node_dir:
            if not node_obj:
                return 1.0  # the node is not in the cache yet
            node_dir = DEFAULT_NODE_DIR
        await self._event(pvc, "Provisioning",
                          f'External provisioner is provisioning volume for claim "{key}"')
        try:
            await self.client.create("persistentvolumes", volume_for(pvc, cls, node, node_dir),
                                     raw=True)
        except AlreadyExists:
            pass
        self._made.add(name)
        await self._event(pvc, "ProvisioningSucceeded", f"Successfully provisioned volume {name}")
        log.info("provisioned %s for claim %s on node %s", name, key, node)
        return None

    async def _event(self, pvc: Obj, reason: str, message: str) -> None:
        try:
            await self.client.create_event(pvc, reason, message, component=COMPONENT,
                                           involved_kind="persistentvolumeclaims")
        except Exception as e:  # noqa: BLE001 - events are best effort
            log.debug("event %s not recorded: %s", reason, e)


async def ensure_default_class(client: ApiClient) -> None:
    """Create the `local-path` StorageClass unless it exists (at controller start)."""
    try:
        await client.create("storageclasses", default_storage_class(), raw=True)
        log.info("created the default StorageClass %s", CLASS_NAME)
    except AlreadyExists:
        pass
