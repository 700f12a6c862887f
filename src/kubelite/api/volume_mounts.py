"""containerStatuses[].volumeMounts: what the kubelet reports of a container's mounts (1.31+).

As Kubernetes' kubelet (convertToAPIContainerStatuses, RecursiveReadOnlyMounts on by
default since 1.31): one entry per volumeMount of the container's spec, `readOnly` only
when true, and for read-only mounts `recursiveReadOnly` saying whether the mount is
recursively read-only. kubelite's runtimes do not make recursive read-only mounts (the
node reports no `recursiveReadOnlyMounts` feature), so that is always `Disabled`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RRO_DISABLED = "Disabled"


def mount_statuses(container: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The VolumeMountStatus list of a container spec, in the spec's order."""
    out: list[dict[str, Any]] = []
    for mount in container.get("volumeMounts") or []:
        status: dict[str, Any] = {"name": mount.get("name", ""), "mountPath": mount.get("mountPath", "")}
        if mount.get("readOnly"):
            status["readOnly"] = True
            status["recursiveReadOnly"] = RRO_DISABLED
        out.append(status)
    return out
