"""The volume manager against an in-memory API: set-up, container mounts, refresh, teardown."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelite.kubelet.volumes import ContainerMountError, VolumeManager
from kubelite.kubelet.volumes.syscalls import is_mounted, mounts_under
from tests.unit.sim.fake_client import FakeClient


def make_pod(volumes: list[dict[str, Any]], mounts: list[dict[str, Any]], **spec: Any
             ) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default", "uid": "uid-1"},
            "spec": {"containers": [{"name": "c", "volumeMounts": mounts}], "volumes": volumes,
                     **spec}}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[VolumeManager, FakeClient, list[str]]]:
    client = FakeClient()
    requeued: list[str] = []
    vm = VolumeManager(client, str(tmp_path / "pods"), str(tmp_path / "storage"), "n1",  # type: ignore[arg-type]
                       lambda uid, _d: requeued.append(uid))
    await vm.start()
    yield vm, client, requeued
    await vm.unmount_pod("uid-1")
    await vm.stop()


async def test_configmap_secret_emptydir_mounts(env: Any, tmp_path: Path) -> None:
    vm, client, _ = env
    await client.create("configmaps", {"metadata": {"name": "cfg"}, "data": {"k": "v1"}}, "default")
    await client.create("secrets", {"metadata": {"name": "s"},
                                    "data": {"pw": base64.b64encode(b"x").decode()}}, "default")
    pod = make_pod(
        [{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "s", "secret": {"secretName": "s"}},
         {"name": "scratch", "emptyDir": {}}],
        [{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "s", "mountPath": "/s"},
         {"name": "scratch", "mountPath": "/data", "readOnly": True},
         {"name": "scratch", "mountPath": "/per-pod", "subPathExpr": "$(POD)/logs"}])
    result = await vm.mount_pod(pod)
    assert result.ready and not result.failures
    cfg_dir = vm.volume_dir("uid-1", "configMap", "cfg")
    assert open(os.path.join(cfg_dir, "k")).read() == "v1"
    assert is_mounted(vm.volume_dir("uid-1", "secret", "s"))  # secrets live on tmpfs
    mounts = vm.container_mounts(pod, pod["spec"]["containers"][0], {"POD": "p"})
    by_dest = {m.destination: m for m in mounts}
    assert by_dest["/etc/cfg"].readonly  # kubelet-written volumes are always read-only
    assert by_dest["/data"].readonly and not by_dest["/per-pod"].readonly
    assert os.path.isdir(os.path.join(vm.volume_dir("uid-1", "emptyDir", "scratch"), "p", "logs"))
    assert is_mounted(by_dest["/per-pod"].source)


async def test_configmap_update_reaches_file_and_subpath_mirror(env: Any) -> None:
    vm, client, requeued = env
    await client.create("configmaps", {"metadata": {"name": "cfg"}, "data": {"k": "v1"}}, "default")
    pod = make_pod([{"name": "cfg", "configMap": {"name": "cfg"}}],
                   [{"name": "cfg", "mountPath": "/etc/k", "subPath": "k"}])
    await vm.mount_pod(pod)
    (mount,) = vm.container_mounts(pod, pod["spec"]["containers"][0], {})
    assert open(mount.source).read() == "v1"
    await client.patch("configmaps", "cfg", "default", {"data": {"k": "v2"}})
    for _ in range(100):  # the name-scoped watch requeues the pod
        if "uid-1" in requeued and (await vm.watcher.get(("configmaps", "default", "cfg")) or {}
                                    ).get("data", {}).get("k") == "v2":
            break
        await asyncio.sleep(0.02)
    assert "uid-1" in requeued
    await vm.mount_pod(pod)
    assert open(os.path.join(vm.volume_dir("uid-1", "configMap", "cfg"), "k")).read() == "v2"
    assert open(mount.source).read() == "v2"


async def test_missing_configmap_is_a_failed_mount(env: Any) -> None:
    vm, _, _ = env
    pod = make_pod([{"name": "cfg", "configMap": {"name": "absent"}}], [])
    result = await vm.mount_pod(pod)
    assert not result.ready
    assert result.failures == ['MountVolume.SetUp failed for volume "cfg" : configmap "absent" not found']
    assert vm.should_report("uid-1", result.failures[0])
    assert not vm.should_report("uid-1", result.failures[0])  # rate-limited


async def test_escaping_subpath_is_refused(env: Any, tmp_path: Path) -> None:
    vm, _, _ = env
    host = tmp_path / "host"
    host.mkdir()
    os.symlink("/", host / "root")
    pod = make_pod([{"name": "h", "hostPath": {"path": str(host)}}],
                   [{"name": "h", "mountPath": "/x", "subPath": "root"}])
    assert (await vm.mount_pod(pod)).ready
    with pytest.raises(ContainerMountError, match='failed to prepare subPath for volumeMount "h"'):
        vm.container_mounts(pod, pod["spec"]["containers"][0], {})


async def test_claim_mount_and_teardown_keeps_claim_data(env: Any, tmp_path: Path) -> None:
    vm, client, _ = env
    data = tmp_path / "pv-data"
    await client.create("persistentvolumes", {"metadata": {"name": "pv1"}, "spec": {
        "hostPath": {"path": str(data), "type": "DirectoryOrCreate"}}})
    await client.create("persistentvolumeclaims", {"metadata": {"name": "c"},
                        "spec": {"volumeName": "pv1"}, "status": {"phase": "Bound"}}, "default")
    pod = make_pod([{"name": "v", "persistentVolumeClaim": {"claimName": "c", "readOnly": True}},
                    {"name": "e", "emptyDir": {"sizeLimit": "10Ki"}}],
                   [{"name": "v", "mountPath": "/mnt", "subPath": "data"}])
    assert (await vm.mount_pod(pod)).ready
    (m,) = vm.container_mounts(pod, pod["spec"]["containers"][0], {})
    assert m.readonly and is_mounted(m.source)
    with open(os.path.join(m.source, "f"), "w") as f:
        f.write("kept")
    empty = vm.volume_dir("uid-1", "emptyDir", "e")
    with open(os.path.join(empty, "big"), "wb") as f:
        f.write(os.urandom(64 * 1024))
    assert await vm.over_limit(pod) == 'Usage of EmptyDir volume "e" exceeds the limit "10Ki". '
    await vm.unmount_pod("uid-1")
    assert not os.path.exists(vm.pod_dir("uid-1")) and not mounts_under(str(tmp_path / "pods"))
    assert (data / "data" / "f").read_text() == "kept"


async def test_unbound_claim_message(env: Any) -> None:
    vm, client, _ = env
    await client.create("persistentvolumeclaims", {"metadata": {"name": "c"}, "spec": {},
                                                   "status": {"phase": "Pending"}}, "default")
    pod = make_pod([{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}], [])
    result = await vm.mount_pod(pod)
    assert not result.ready and "PVC default/c has non-bound phase (\"'Pending'\")" not in result.failures[0]
    assert "has non-bound phase ('Pending')" in result.failures[0]


async def test_finished_pod_keeps_only_its_empty_dirs(env: Any, tmp_path: Path) -> None:
    vm, client, _ = env
    data = tmp_path / "pv-data"
    await client.create("persistentvolumes", {"metadata": {"name": "pv1"}, "spec": {
        "hostPath": {"path": str(data), "type": "DirectoryOrCreate"}}})
    await client.create("persistentvolumeclaims", {"metadata": {"name": "c"},
                        "spec": {"volumeName": "pv1"}, "status": {"phase": "Bound"}}, "default")
    await client.create("secrets", {"metadata": {"name": "s"},
                                    "data": {"pw": base64.b64encode(b"x").decode()}}, "default")
    pod = make_pod([{"name": "v", "persistentVolumeClaim": {"claimName": "c"}},
                    {"name": "s", "secret": {"secretName": "s"}},
                    {"name": "e", "emptyDir": {}}],
                   [{"name": "v", "mountPath": "/mnt", "subPath": "data"}])
    assert (await vm.mount_pod(pod)).ready
    (m,) = vm.container_mounts(pod, pod["spec"]["containers"][0], {})
    assert is_mounted(m.source) and is_mounted(vm.volume_dir("uid-1", "secret", "s"))
    empty = vm.volume_dir("uid-1", "emptyDir", "e")
    with open(os.path.join(empty, "out"), "w") as f:
        f.write("result")
    await vm.unmount_terminated("uid-1")
    assert not mounts_under(vm.pod_dir("uid-1"))  # no secret tmpfs, no claim bind left
    assert not os.path.exists(vm.volume_dir("uid-1", "secret", "s"))
    assert open(os.path.join(empty, "out")).read() == "result"  # kept until deletion
    assert (data / "data").is_dir()
    assert set(vm.pods["uid-1"].volumes) == {"e"}
    await vm.unmount_terminated("uid-1")  # idempotent (the agent may sync it again)
