"""The ServiceAccount admission plugin's token volume (plugin/pkg/admission/serviceaccount).

Every new pod (unless `automountServiceAccountToken: false` or a mirror pod) gets a projected
volume `kube-api-access-xxxxx` with the service account token, the cluster CA (from the
`kube-root-ca.crt` ConfigMap every namespace has) and the namespace, mounted read-only at
/var/run/secrets/kubernetes.io/serviceaccount in each container that has nothing there yet.
"""

from __future__ import annotations

import random

from kubelite.api.types import core_v1

VOLUME_PREFIX = "kube-api-access-"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
# Kubernetes asks for 3607 s: a value tokens are recognised by (WarnOnlyBoundTokenExpirationSeconds).
TOKEN_EXPIRATION_SECONDS = 3607
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # utilrand.String's alphabet: no vowels, no 0/1/3


def token_volume_source() -> core_v1.ProjectedVolumeSource:
    """TokenVolumeSource(): token, ca.crt and namespace, defaultMode 0644."""
    return core_v1.ProjectedVolumeSource(default_mode=0o644, sources=[
        core_v1.VolumeProjection(service_account_token=core_v1.ServiceAccountTokenProjection(
            path="token", expiration_seconds=TOKEN_EXPIRATION_SECONDS)),
        core_v1.VolumeProjection(config_map=core_v1.ConfigMapProjection(
            name=ROOT_CA_CONFIGMAP, items=[core_v1.KeyToPath(key="ca.crt", path="ca.crt")])),
        core_v1.VolumeProjection(downward_api=core_v1.DownwardAPIProjection(items=[
            core_v1.DownwardAPIVolumeFile(path="namespace", field_ref=core_v1.ObjectFieldSelector(
                api_version="v1", field_path="metadata.namespace"))])),
    ])


def _random_name() -> str:
    # Like utilrand.String, not a secret: a CSPRNG here cost a getrandom() syscall per letter.
    return VOLUME_PREFIX + "".join(random.choices(_NAME_CHARS, k=5))


def mount_service_account_token(pod: core_v1.Pod) -> None:
    """Add the token volume and its mounts to a new pod, as the admission plugin does."""
    spec = pod.spec
    if spec is None or spec.automount_service_account_token is False:
        return
    annotations = (pod.metadata.annotations if pod.metadata else None) or {}
    if MIRROR_ANNOTATION in annotations:
        return
    volumes = list(spec.volumes or [])
    existing = next((v.name for v in volumes if v.name.startswith(VOLUME_PREFIX)), None)
    name = existing or _random_name()
    needed = False
    for container in list(spec.init_containers or []) + list(spec.containers or []):
        mounts = list(container.volume_mounts or [])
        if any(m.mount_path == MOUNT_PATH for m in mounts):
            continue
        mounts.append(core_v1.VolumeMount(name=name, read_only=True, mount_path=MOUNT_PATH))
        container.volume_mounts = mounts
        needed = True
    if needed and existing is None:
        volumes.append(core_v1.Volume(name=name, projected=token_volume_source()))
        spec.volumes = volumes
