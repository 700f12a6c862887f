"""containerStatuses[].volumeMounts from a container spec, as a 1.32 kubelet reports them,
and PodCondition times written as Go writes a zero metav1.Time (`null`)."""

from __future__ import annotations

import msgspec

from kubelite.api.types.core_v1 import PodCondition
from kubelite.api.volume_mounts import mount_statuses


def test_each_mount_in_order_read_only_ones_not_recursively() -> None:
    container = {"name": "c", "volumeMounts": [
        {"name": "data", "mountPath": "/data", "subPath": "x"},
        {"name": "cfg", "mountPath": "/cfg", "readOnly": True, "recursiveReadOnly": "IfPossible"},
        {"name": "rw", "mountPath": "/rw", "readOnly": False}]}
    assert mount_statuses(container) == [
        {"name": "data", "mountPath": "/data"},
        {"name": "cfg", "mountPath": "/cfg", "readOnly": True, "recursiveReadOnly": "Disabled"},
        {"name": "rw", "mountPath": "/rw"}]
    assert mount_statuses({"name": "c"}) == []


def test_pod_condition_times_are_always_written() -> None:
    cond = msgspec.json.decode(b'{"type":"Ready","status":"True"}', type=PodCondition)
    assert msgspec.json.decode(msgspec.json.encode(cond)) == {
        "lastProbeTime": None, "lastTransitionTime": None, "status": "True", "type": "Ready"}
    cond.last_transition_time = "2025-01-01T00:00:00Z"
    assert b'"lastTransitionTime":"2025-01-01T00:00:00Z"' in msgspec.json.encode(cond)
