"""New claims get the default StorageClass and their protection finalizer at create."""

from __future__ import annotations

from pathlib import Path

from kubelite.api.registry import by_resource
from kubelite.apiserver.admission import NamespaceLifecycle, StorageAdmission
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.store.sqlite import SqliteStore

PVCS = by_resource("", "v1", "persistentvolumeclaims")
PVS = by_resource("", "v1", "persistentvolumes")
CLASSES = by_resource("storage.k8s.io", "v1", "storageclasses")
NAMESPACES = by_resource("", "v1", "namespaces")


def claim(name: str, cls: str | None = None) -> dict:
    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


async def test_default_class_and_finalizers(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    await store.start()
    try:
        objects = ObjectStore(store, admission=[NamespaceLifecycle(store), StorageAdmission(store)])
        opts = WriteOptions()
        await objects.create(NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}, opts)
        before = (await objects.create(PVCS, "default", claim("early"), opts)).obj
        assert "storageClassName" not in before["spec"]
        assert before["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
        await objects.create(CLASSES, None, {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "rancher.io/local-path",
            "metadata": {"name": "local-path", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        }, opts)
        after = (await objects.create(PVCS, "default", claim("late"), opts)).obj
        assert after["spec"]["storageClassName"] == "local-path"
        explicit = (await objects.create(PVCS, "default", claim("mine", ""), opts)).obj
        assert explicit["spec"]["storageClassName"] == ""  # "" means no class, not the default
        pv = (await objects.create(PVS, None, {
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/pv1"}},
        }, opts)).obj
        assert pv["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    finally:
        await store.close()
