"""Which nodes a DaemonSet runs on (pkg/controller/daemon/util and NodeShouldRunDaemonPod).

A daemon pod is the template plus the default DaemonSet tolerations, pinned to its node by a
required node affinity on `metadata.name` (matchFields): the scheduler then places it as any
other pod. The checks here are the scheduler's own pure helpers (node name, node affinity,
taints), run over the pod the controller would create.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import msgspec

from kubelite.api.types import core_v1
from kubelite.scheduler.plugins.node_affinity import required_matches
from kubelite.scheduler.plugins.taint_toleration import untolerated_taint

Obj = dict[str, Any]

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"


def _toleration(key: str, effect: str) -> Obj:
    return {"key": key, "operator": "Exists", "effect": effect}


def add_default_tolerations(pod_spec: Obj) -> None:
    """util.AddOrUpdateDaemonPodTolerations: daemons survive not-ready and unreachable nodes,
    node pressure and cordoning; host-network daemons also an unavailable pod network."""
    wanted = [
        _toleration(NOT_READY, "NoExecute"),
        _toleration(UNREACHABLE, "NoExecute"),
        _toleration(DISK_PRESSURE, "NoSchedule"),
        _toleration(MEMORY_PRESSURE, "NoSchedule"),
        _toleration(PID_PRESSURE, "NoSchedule"),
        _toleration(UNSCHEDULABLE, "NoSchedule"),
    ]
    if pod_spec.get("hostNetwork"):
        wanted.append(_toleration(NETWORK_UNAVAILABLE, "NoSchedule"))
    tolerations = list(pod_spec.get("tolerations") or [])
    for t in wanted:
        # AddOrUpdateTolerationInPodSpec: one with the same key, operator and effect is replaced
        tolerations = [x for x in tolerations if (x.get("key"), x.get("operator") or "Equal",
                                                  x.get("effect")) != (t["key"], "Exists", t["effect"])]
        tolerations.append(t)
    pod_spec["tolerations"] = tolerations


def pin_to_node(pod_spec: Obj, node_name: str) -> None:
    """util.ReplaceDaemonSetPodNodeNameNodeAffinity: the required terms become one term with
    `metadata.name In [node]` (the node already matched the others); preferred terms stay."""
    affinity = pod_spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}


def daemon_pod_spec(template_spec: Obj, node_name: str) -> Obj:
    """The spec of the daemon pod for `node_name` (util.NewPod plus the node pin)."""
    pod_spec = copy.deepcopy(template_spec)
    add_default_tolerations(pod_spec)
    pin_to_node(pod_spec, node_name)
    return pod_spec


@dataclass(frozen=True)
class Placement:
    """NodeShouldRunDaemonPod's answer: create a pod here; keep one already here."""

    should_run: bool
    should_continue_running: bool


def node_should_run(node: Obj, template_spec: Obj) -> Placement:
    """Node name, nodeSelector and node affinity must match; NoSchedule/NoExecute taints must
    be tolerated to run, and NoExecute ones to keep running."""
    name = str((node.get("metadata") or {}).get("name") or "")
    wanted_name = template_spec.get("nodeName")
    if wanted_name and wanted_name != name:
        return Placement(False, False)
    spec = copy.deepcopy(template_spec)
    add_default_tolerations(spec)
    pod = msgspec.convert({"spec": spec}, core_v1.Pod, strict=False)
    typed_node = msgspec.convert(node, core_v1.Node, strict=False)
    if not required_matches(pod, typed_node):
        return Placement(False, False)
    taints = (typed_node.spec.taints if typed_node.spec else None) or []
    tolerations = (pod.spec.tolerations if pod.spec else None) or []
    if untolerated_taint(taints, tolerations, ("NoExecute",)) is not None:
        return Placement(False, False)
    fits = untolerated_taint(taints, tolerations, ("NoSchedule",)) is None
    return Placement(fits, True)
