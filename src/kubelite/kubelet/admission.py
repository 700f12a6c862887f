"""The kubelet's own admission of a pod bound to it (kubelet lifecycle/predicate.go).

The scheduler already checked the node, but a pod bound by `spec.nodeName` skips it: the
kubelet re-checks the pod count against `--max-pods` before running anything. A refused
pod gets a Warning event and ends Failed with the reason "OutOfpods" and the message
"Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: N,
capacity: N" (Kubelet.rejectPod). Pods already running when the agent restarts are
admitted again as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = ("Succeeded", "Failed")
REJECTED_PREFIX = "Pod was rejected: "


@dataclass(frozen=True)
class Rejection:
    reason: str
    message: str


def pods_fit(used: int, capacity: int) -> Rejection | None:
    """noderesources.Fits for the pod count: one more pod, against `capacity`."""
    if used + 1 <= capacity:
        return None
    return Rejection("OutOfpods", f"Node didn't have enough resource: pods, requested: 1, used: {used}, "
                                  f"capacity: {capacity}")


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def rejected_status(pod: dict[str, Any], rejection: Rejection) -> dict[str, Any]:
    status = {k: v for k, v in (pod.get("status") or {}).items() if k == "qosClass"}
    return {**status, "phase": "Failed", "reason": rejection.reason,
            "message": REJECTED_PREFIX + rejection.message}


@dataclass
class PodAdmission:
    """Which pods this agent has admitted, and which it refused."""

    max_pods: int
    admitted: set[str] = field(default_factory=set)
    rejected: dict[str, Rejection] = field(default_factory=dict)

    def check(self, uid: str, pod: dict[str, Any], pods: dict[str, dict[str, Any]]) -> Rejection | None:
        """None if the pod may run here (admitting it on first sight); its refusal otherwise."""
        if pod["metadata"].get("deletionTimestamp"):
            return None  # whatever it was, it is now terminated and deleted as any pod
        if uid in self.rejected:
            return self.rejected[uid]
        if uid in self.admitted or _phase(pod) in TERMINAL:
            return None
        if _phase(pod) != "Running":  # a running pod was admitted before an agent restart
            used = sum(1 for u in self.admitted if u in pods and _phase(pods[u]) not in TERMINAL)
            rejection = pods_fit(used, self.max_pods)
            if rejection is not None:
                self.rejected[uid] = rejection
                return rejection
        self.admitted.add(uid)
        return None

    def forget(self, uid: str) -> None:
        self.admitted.discard(uid)
        self.rejected.pop(uid, None)
