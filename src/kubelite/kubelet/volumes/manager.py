"""The kubelet's volume manager: set up a pod's volumes before its containers start, turn
volumeMounts into runtime mounts, keep configMap/secret contents fresh, tear down after the pod.

Layout, as the kubelet's: `<pods_dir>/<uid>/volumes/kubernetes.io~<plugin>/<volume>` and
`<pods_dir>/<uid>/volume-subpaths/<volume>/<container>/<index>`. PersistentVolumes are mounted
from their own directory (data outlives the pod); local-path ones live under `storage_dir`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelite.api.quantity import parse_quantity
from kubelite.client import ApiClient, NotFound
from kubelite.kubelet.envvars import ConfigError, expand
from kubelite.kubelet.safepath import UnsafePathError
from kubelite.kubelet.volumes import atomic_writer, host, projections, subpath
from kubelite.kubelet.volumes.projections import VolumeSetupError
from kubelite.kubelet.volumes.reclaim import LocalPathReclaimer
from kubelite.kubelet.volumes.syscalls import mount_tmpfs, mounts_under, unmount_tree
from kubelite.kubelet.volumes.token_manager import TokenManager
from kubelite.kubelet.volumes.watch import Key, ObjectWatcher
from kubelite.runtime.spec import Mount

log = logging.getLogger(__name__)

LOCAL_PATH_DIR_ANNOTATION = "kubelite.io/local-path-dir"
PROJECTED_KINDS = ("configMap", "secret", "downwardAPI", "projected")
PLUGIN_DIRS = {
    "emptyDir": "kubernetes.io~empty-dir", "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret", "downwardAPI": "kubernetes.io~downward-api",
    "projected": "kubernetes.io~projected",
}
PROPAGATION = {"None": (), "HostToContainer": ("rslave",), "Bidirectional": ("rshared",)}
EVENT_REPEAT = 30.0  # seconds before the same FailedMount message is recorded again


class ContainerMountError(ConfigError):
    """A volumeMount cannot be prepared (unsafe subPath, unknown volume)."""


@dataclass
class Volume:
    """One set-up volume of a pod: where it is on the host and how containers may mount it."""

    name: str
    kind: str  # the VolumeSource field: emptyDir, hostPath, configMap, persistentVolumeClaim...
    path: str
    read_only: bool = False  # forced for every mount (kubelet-written kinds, readOnly claims)
    digest: str = ""  # of the last payload written (kubelet-written kinds)


@dataclass
class PodVolumes:
    uid: str
    volumes: dict[str, Volume] = field(default_factory=dict)
    mirrors: list[tuple[str, str, str]] = field(default_factory=list)  # volume, subPath, mirror
    fs_group_done: set[str] = field(default_factory=set)


@dataclass
class MountResult:
    """What a sync's volume step found: every volume ready, or these FailedMount messages."""

    ready: bool
    failures: list[str] = field(default_factory=list)


def volume_kind(volume: Mapping[str, Any]) -> str:
    for key, value in volume.items():
        if key != "name" and value is not None:
            return key
    return ""


def _digest(payload: atomic_writer.Payload) -> str:
    h = hashlib.sha256()
    for path in sorted(payload):
        h.update(path.encode() + b"\0" + payload[path].data + b"\0" + str(payload[path].mode).encode())
    return h.hexdigest()


class VolumeManager:
    """Volumes of the pods on this node. Every method is safe to call on every pod sync."""

    def __init__(self, client: ApiClient, pods_dir: str, storage_dir: str, node_name: str,
                 requeue: Callable[[str, float], None],
                 allocatable: Mapping[str, str] | None = None) -> None:
        self.client = client
        self.pods_dir = pods_dir
        self.storage_dir = storage_dir
        self.node_name = node_name
        self.requeue = requeue
        self.allocatable = dict(allocatable or {})
        self.pods: dict[str, PodVolumes] = {}
        self.watcher = ObjectWatcher(client, self._object_changed)
        self._reported: dict[tuple[str, str], tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.reclaimer = LocalPathReclaimer(client, node_name, storage_dir)
        self.tokens = TokenManager(self._request_token)

    # -- paths ------------------------------------------------------------------------------

    def pod_dir(self, uid: str) -> str:
        return os.path.join(self.pods_dir, uid)

    def volume_dir(self, uid: str, kind: str, name: str) -> str:
        return os.path.join(self.pod_dir(uid), "volumes", PLUGIN_DIRS[kind], name)

    def subpath_dir(self, uid: str, volume: str, container: str, index: int) -> str:
        return os.path.join(self.pod_dir(uid), "volume-subpaths", volume, container, str(index))

    # -- lifecycle of the manager -----------------------------------------------------------

    async def start(self) -> None:
        """Tell the provisioner where this node keeps local-path volumes (a Node annotation)."""
        os.makedirs(self.storage_dir, exist_ok=True)
        with contextlib.suppress(Exception):
            await self.client.patch("nodes", self.node_name, None, {"metadata": {"annotations": {
                LOCAL_PATH_DIR_ANNOTATION: self.storage_dir}}}, raw=True)
        self.reclaimer.start()

    async def stop(self) -> None:
        await self.reclaimer.stop()
        await self.watcher.stop()

    def _object_changed(self, key: Key) -> None:
        for uid in self.watcher.users(key):
            self.requeue(uid, 0)

    # -- set-up -----------------------------------------------------------------------------

    async def mount_pod(self, pod: dict[str, Any]) -> MountResult:
        """Set up (or refresh) every volume of the pod; idempotent."""
        uid = pod["metadata"]["uid"]
        lock = self._locks.setdefault(uid, asyncio.Lock())
        async with lock:
            state = self.pods.setdefault(uid, PodVolumes(uid))
            failures: list[str] = []
            for vol in (pod.get("spec") or {}).get("volumes") or []:
                try:
                    await self._setup(pod, state, vol)
                except (VolumeSetupError, UnsafePathError, OSError) as e:
                    msg = f'MountVolume.SetUp failed for volume "{vol.get("name")}" : {e}'
                    failures.append(msg)
            for volume, sub, mirror in state.mirrors:
                v = state.volumes.get(volume)
                if v is not None:
                    try:
                        await asyncio.to_thread(subpath.sync_mirror, v.path, sub, mirror)
                    except (UnsafePathError, OSError) as e:
                        failures.append(f'MountVolume.SetUp failed for volume "{volume}" : '
                                        f"subPath {sub!r}: {e}")
            names = {v.get("name") for v in (pod.get("spec") or {}).get("volumes") or []}
            ready = names <= set(state.volumes)
            return MountResult(ready, failures)

    def should_report(self, uid: str, message: str) -> bool:
        """Rate-limit FailedMount events: a message once per EVENT_REPEAT seconds."""
        key = (uid, message)
        last = self._reported.get(key)
        now = time.monotonic()
        if last is not None and now - last[1] < EVENT_REPEAT:
            return False
        self._reported[key] = (message, now)
        return True

    async def _setup(self, pod: dict[str, Any], state: PodVolumes, vol: dict[str, Any]) -> None:
        name, kind = vol["name"], volume_kind(vol)
        src = vol.get(kind) or {}
        uid = state.uid
        spec = pod.get("spec") or {}
        fs_group = (spec.get("securityContext") or {}).get("fsGroup")
        existing = state.volumes.get(name)
        if kind == "emptyDir":
            path = self.volume_dir(uid, kind, name)
            if existing is None:
                await asyncio.to_thread(host.setup_empty_dir, path, src.get("medium") or "",
                                        src.get("sizeLimit"))
                state.volumes[name] = Volume(name, kind, path)
        elif kind == "hostPath":
            path = src.get("path", "")
            await asyncio.to_thread(host.check_host_path, path, src.get("type") or "")
            state.volumes[name] = Volume(name, kind, path)
        elif kind in PROJECTED_KINDS:
            await self._setup_projection(pod, state, name, kind, src, fs_group)
        elif kind == "persistentVolumeClaim":
            if existing is None:
                path = await self._claim_path(pod, src)
                state.volumes[name] = Volume(name, kind, path, read_only=bool(src.get("readOnly")))
        else:
            raise VolumeSetupError(f"volume type {kind!r} is not supported on this node")
        if fs_group is not None and kind in ("emptyDir", "persistentVolumeClaim") \
                and name not in state.fs_group_done:
            policy = (spec.get("securityContext") or {}).get("fsGroupChangePolicy") or "Always"
            await asyncio.to_thread(host.apply_fs_group, state.volumes[name].path, int(fs_group),
                                    policy)
            state.fs_group_done.add(name)

    async def _setup_projection(self, pod: dict[str, Any], state: PodVolumes, name: str,
                                kind: str, src: dict[str, Any], fs_group: int | None) -> None:
        ns = pod["metadata"].get("namespace") or "default"
        uid = state.uid
        lookup = self._lookup_for(uid)
        if kind == "configMap":
            payload = await projections.configmap_payload(src, ns, lookup)
        elif kind == "secret":
            payload = await projections.secret_payload(src, ns, lookup)
        elif kind == "downwardAPI":
            payload = projections.downward_payload(pod, src, self.allocatable)
        else:
            payload = await projections.projected_payload(pod, src, lookup, self._token,
                                                          self.allocatable)
        path = self.volume_dir(uid, kind, name)
        vol = state.volumes.get(name) or Volume(name, kind, path, read_only=True)
        digest = _digest(payload)
        if vol.digest == digest and os.path.islink(os.path.join(path, atomic_writer.DATA_DIR_NAME)):
            return
        if kind in ("secret", "projected"):
            await asyncio.to_thread(mount_tmpfs, path, None, 0o755)
        gid = int(fs_group) if fs_group is not None else None
        await asyncio.to_thread(atomic_writer.write, path, payload, gid)
        vol.digest = digest
        state.volumes[name] = vol

    def _lookup_for(self, uid: str) -> projections.Lookup:
        async def lookup(plural: str, namespace: str, name: str) -> dict[str, Any] | None:
            key = (plural, namespace, name)
            self.watcher.use(key, uid)
            return await self.watcher.get(key)
        return lookup

    async def _token(self, pod: dict[str, Any], source: dict[str, Any]) -> str:
        """A token bound to the pod, refreshed before it expires (the pod is synced again then)."""
        uid = pod["metadata"]["uid"]
        try:
            token = await self.tokens.get(pod, source)
        except Exception as e:  # noqa: BLE001 - reported as the volume's FailedMount
            sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
            raise VolumeSetupError(f'failed to fetch token: serviceaccounts "{sa}": {e}') from e
        due = self.tokens.next_refresh(uid)
        if due is not None:
            self.requeue(uid, due + 1)
        return token

    async def _request_token(self, namespace: str, account: str,
                             body: dict[str, Any]) -> dict[str, Any]:
        """POST serviceaccounts/NAME/token (the TokenRequest API)."""
        answer: dict[str, Any] = await self.client.request(
            "POST", self.client.path("serviceaccounts", namespace, account) + "/token", body=body)
        return answer

    async def _claim_path(self, pod: dict[str, Any], src: dict[str, Any]) -> str:
        ns = pod["metadata"].get("namespace") or "default"
        claim = src.get("claimName", "")
        try:
            pvc: dict[str, Any] = await self.client.get("persistentvolumeclaims", claim, ns,
                                                        raw=True)
        except NotFound as e:
            raise VolumeSetupError(f'persistentvolumeclaim "{claim}" not found') from e
        if pvc["metadata"].get("deletionTimestamp"):
            raise VolumeSetupError(f"can't start pod because PVC {ns}/{claim} is being deleted")
        phase = (pvc.get("status") or {}).get("phase") or ""
        pv_name = (pvc.get("spec") or {}).get("volumeName") or ""
        if phase != "Bound" or not pv_name:
            raise VolumeSetupError(f"PVC {ns}/{claim} has non-bound phase ({phase!r}) or empty "
                                   f"pvc.Spec.VolumeName ({pv_name!r})")
        try:
            pv: dict[str, Any] = await self.client.get("persistentvolumes", pv_name, raw=True)
        except NotFound as e:
            raise VolumeSetupError(f'persistentvolume "{pv_name}" not found') from e
        pv_spec = pv.get("spec") or {}
        if pv_spec.get("hostPath"):
            path = pv_spec["hostPath"].get("path", "")
            await asyncio.to_thread(host.check_host_path, path,
                                    pv_spec["hostPath"].get("type") or "")
            return str(path)
        if pv_spec.get("local"):
            path = pv_spec["local"].get("path", "")
            await asyncio.to_thread(host.check_host_path, path, "Directory")
            return str(path)
        raise VolumeSetupError(f'persistentvolume "{pv_name}": only hostPath and local '
                               "volumes can be mounted on this node")

    # -- containers -------------------------------------------------------------------------

    def container_mounts(self, pod: dict[str, Any], container: dict[str, Any],
                         env: Mapping[str, str]) -> list[Mount]:
        """The runtime mounts of one container's volumeMounts (subPaths prepared here).

        Raises ContainerMountError (a CreateContainerConfigError, in the kubelet's words).
        """
        uid = pod["metadata"]["uid"]
        state = self.pods.get(uid) or PodVolumes(uid)
        out: list[Mount] = []
        cname = container["name"]
        for index, vm in enumerate(container.get("volumeMounts") or []):
            vol = state.volumes.get(vm.get("name", ""))
            if vol is None:
                raise ContainerMountError(f'cannot find volume "{vm.get("name")}" to mount into '
                                       f'container "{cname}"')
            sub = vm.get("subPath") or ""
            if vm.get("subPathExpr"):
                sub = expand(vm["subPathExpr"], env)
            source = vol.path
            if sub:
                target = self.subpath_dir(uid, vol.name, cname, index)
                try:
                    if vol.kind in PROJECTED_KINDS:
                        subpath.sync_mirror(vol.path, sub, target)
                        entry = (vol.name, sub, target)
                        if entry not in state.mirrors:
                            state.mirrors.append(entry)
                    else:
                        subpath.bind_subpath(vol.path, sub, target)
                except (UnsafePathError, OSError) as e:
                    log.warning("pod %s container %s subPath %r: %s", uid, cname, sub, e)
                    raise ContainerMountError(
                        f'failed to prepare subPath for volumeMount "{vm.get("name")}" of '
                        f'container "{cname}": {e}') from e
                source = target
            options = PROPAGATION.get(vm.get("mountPropagation") or "None", ())
            out.append(Mount(destination=vm["mountPath"], source=source,
                             readonly=bool(vm.get("readOnly")) or vol.read_only,
                             options=tuple(options)))
        return out

    # -- limits -----------------------------------------------------------------------------

    async def over_limit(self, pod: dict[str, Any]) -> str | None:
        """The eviction message when a disk emptyDir uses more than its sizeLimit."""
        state = self.pods.get(pod["metadata"]["uid"])
        if state is None:
            return None
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            src = vol.get("emptyDir")
            if not src or not src.get("sizeLimit") or src.get("medium") == "Memory":
                continue
            v = state.volumes.get(vol["name"])
            if v is None:
                continue
            used = await asyncio.to_thread(host.disk_usage, v.path)
            if used > parse_quantity(src["sizeLimit"]).value():
                return (f'Usage of EmptyDir volume "{vol["name"]}" exceeds the limit '
                        f'"{src["sizeLimit"]}". ')
        return None

    # -- teardown ---------------------------------------------------------------------------

    async def unmount_terminated(self, uid: str) -> None:
        """A pod that finished (Succeeded or Failed) but is not deleted yet: unmount and remove
        every volume except its emptyDirs, which keep their data until the pod is deleted.

        Its secrets leave memory, its claims and hostPaths are no longer bound into the pod's
        directory, and its configMaps, secrets and tokens are no longer watched or refreshed.
        """
        await self.watcher.release(uid)
        self.tokens.forget(uid)
        lock = self._locks.setdefault(uid, asyncio.Lock())
        async with lock:
            state = self.pods.get(uid)
            volumes_dir = os.path.join(self.pod_dir(uid), "volumes")
            doomed = [os.path.join(self.pod_dir(uid), "volume-subpaths")]
            with contextlib.suppress(OSError):
                doomed += [os.path.join(volumes_dir, d) for d in os.listdir(volumes_dir)
                           if d != PLUGIN_DIRS["emptyDir"]]
            for path in doomed:
                if not os.path.exists(path):
                    continue
                await asyncio.to_thread(unmount_tree, path)
                left = await asyncio.to_thread(mounts_under, path)
                if left:  # never delete through a mount (a claim's data could be behind it)
                    raise OSError(f"volumes of pod {uid} are still mounted: {', '.join(left)}")
                await asyncio.to_thread(shutil.rmtree, path, True)
            if state is not None:
                state.volumes = {n: v for n, v in state.volumes.items() if v.kind == "emptyDir"}
                state.mirrors.clear()

    async def unmount_pod(self, uid: str) -> None:
        """Unmount and delete the pod's volumes (emptyDirs, copies, subpath binds); PV data stays."""
        await self.watcher.release(uid)
        self.tokens.forget(uid)
        path = self.pod_dir(uid)
        if os.path.exists(path):
            await asyncio.to_thread(unmount_tree, path)
            left = await asyncio.to_thread(mounts_under, path)
            if left:  # never delete through a mount (a claim's data could be behind it)
                raise OSError(f"volumes of pod {uid} are still mounted: {', '.join(left)}")
            await asyncio.to_thread(shutil.rmtree, path, True)
        self.pods.pop(uid, None)
        self._locks.pop(uid, None)
        for key in [k for k in self._reported if k[0] == uid]:
            del self._reported[key]

    def known_pod_dirs(self) -> set[str]:
        try:
            return set(os.listdir(self.pods_dir))
        except OSError:
            return set()
