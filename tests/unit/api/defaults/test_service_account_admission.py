"""The ServiceAccount admission's kube-api-access-xxxxx volume on new pods."""

from __future__ import annotations

import msgspec

from kubelite.api.defaults import admit_pod
from kubelite.api.defaults.service_account import MOUNT_PATH, VOLUME_PREFIX
from kubelite.api.types import core_v1


def make(spec: dict, annotations: dict | None = None) -> core_v1.Pod:
    return msgspec.convert({"metadata": {"name": "p", "annotations": annotations},
                            "spec": spec}, core_v1.Pod)


def test_every_container_gets_the_token_volume_read_only() -> None:
    pod = make({"initContainers": [{"name": "i", "image": "busybox"}],
                "containers": [{"name": "a", "image": "busybox"},
                               {"name": "b", "image": "busybox"}]})
    admit_pod(pod)
    assert pod.spec is not None and pod.spec.volumes is not None
    [vol] = pod.spec.volumes
    assert vol.name.startswith(VOLUME_PREFIX) and len(vol.name) == len(VOLUME_PREFIX) + 5
    doc = msgspec.to_builtins(vol)
    assert doc["projected"] == {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1",
                                                 "fieldPath": "metadata.namespace"},
                                    "path": "namespace"}]}}]}
    for c in (pod.spec.init_containers or []) + pod.spec.containers:
        assert msgspec.to_builtins(c.volume_mounts) == [
            {"mountPath": MOUNT_PATH, "name": vol.name, "readOnly": True}]
    assert pod.spec.service_account_name == "default"


def test_opt_out_mirror_pods_and_existing_mounts_are_left_alone() -> None:
    off = make({"automountServiceAccountToken": False,
                "containers": [{"name": "a", "image": "busybox"}]})
    admit_pod(off)
    assert off.spec is not None and not off.spec.volumes
    mirror = make({"containers": [{"name": "a", "image": "busybox"}]},
                  {"kubernetes.io/config.mirror": "x"})
    admit_pod(mirror)
    assert mirror.spec is not None and not mirror.spec.volumes
    own = make({"containers": [{"name": "a", "image": "busybox", "volumeMounts": [
        {"name": "mine", "mountPath": MOUNT_PATH}]}], "volumes": [{"name": "mine", "emptyDir": {}}]})
    admit_pod(own)
    assert own.spec is not None and [v.name for v in own.spec.volumes or []] == ["mine"]
