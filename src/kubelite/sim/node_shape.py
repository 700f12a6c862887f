"""The Node and Lease objects a simulated kubelet registers, shaped like a real kubelet's."""

from __future__ import annotations

import uuid
from typing import Any

from kubelite.sim.config import (
    CONTAINER_RUNTIME_VERSION,
    KERNEL_VERSION,
    KUBELET_PORT,
    KUBELET_VERSION,
    NODE_LEASE_NAMESPACE,
    OS_IMAGE,
    SIMULATED_LABEL,
    NodeShape,
)

# (type, status, reason, message) as the kubelet's node status setters word them.
CONDITIONS: tuple[tuple[str, str, str, str], ...] = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def _stable_uuid(name: str, what: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{what}.{name}.sim.kubelite.io"))


def node_labels(name: str, position: int, shape: NodeShape) -> dict[str, str]:
    """Well-known node labels; `position` (0-based) picks the zone when zones are asked for."""
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    if shape.zones > 0:
        labels["topology.kubernetes.io/zone"] = f"zone-{position % shape.zones}"
    labels.update(shape.labels)
    labels[SIMULATED_LABEL] = "true"
    return labels


def node_conditions(heartbeat: str, transition: str) -> list[dict[str, str]]:
    """The four conditions of a healthy node, heartbeat and last transition as given."""
    return [
        {"type": t, "status": s, "reason": r, "message": m,
         "lastHeartbeatTime": heartbeat, "lastTransitionTime": transition}
        for t, s, r, m in CONDITIONS
    ]


def node_status(name: str, internal_ip: str, shape: NodeShape, heartbeat: str,
                transition: str) -> dict[str, Any]:
    capacity = shape.capacity()
    return {
        "capacity": capacity,
        "allocatable": dict(capacity),
        "conditions": node_conditions(heartbeat, transition),
        "addresses": [
            {"type": "InternalIP", "address": internal_ip},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": _stable_uuid(name, "machine").replace("-", ""),
            "systemUUID": _stable_uuid(name, "system"),
            "bootID": _stable_uuid(name, "boot"),
            "kernelVersion": KERNEL_VERSION,
            "osImage": OS_IMAGE,
            "containerRuntimeVersion": CONTAINER_RUNTIME_VERSION,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


def build_node(name: str, position: int, internal_ip: str, shape: NodeShape,
               now: str) -> dict[str, Any]:
    """The Node a kubelet POSTs when it registers (spec.podCIDR is the control plane's)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": node_labels(name, position, shape),
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {},
        "status": node_status(name, internal_ip, shape, now, now),
    }


def build_lease(name: str, node_uid: str | None, renew_time: str,
                duration_seconds: int) -> dict[str, Any]:
    """The node's Lease in kube-node-lease, owned by the Node as the kubelet makes it."""
    meta: dict[str, Any] = {"name": name, "namespace": NODE_LEASE_NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid}
        ]
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": duration_seconds,
            "renewTime": renew_time,
        },
    }
