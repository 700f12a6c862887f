"""The agent's own admission (--max-pods): Kubernetes' OutOfpods words, running pods kept."""

from __future__ import annotations

from typing import Any

from kubelite.kubelet.admission import PodAdmission, pods_fit, rejected_status


def pod(uid: str, phase: str = "Pending", deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"uid": uid, "name": uid}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "qosClass": "BestEffort"}}


def test_pods_fit_until_capacity_then_out_of_pods() -> None:
    assert pods_fit(1, 2) is None
    rejection = pods_fit(2, 2)
    assert rejection is not None and rejection.reason == "OutOfpods"
    assert rejection.message == "Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2"


def test_the_third_pod_is_refused_and_stays_refused() -> None:
    admission = PodAdmission(2)
    pods = {u: pod(u) for u in ("a", "b", "c")}
    assert admission.check("a", pods["a"], pods) is None
    assert admission.check("b", pods["b"], pods) is None
    rejection = admission.check("c", pods["c"], pods)
    assert rejection is not None
    assert admission.check("c", pods["c"], pods) == rejection  # also after "a" ends: never run
    status = rejected_status(pods["c"], rejection)
    assert status == {"phase": "Failed", "reason": "OutOfpods", "qosClass": "BestEffort",
                      "message": "Pod was rejected: " + rejection.message}


def test_finished_and_deleted_pods_free_their_place() -> None:
    admission = PodAdmission(1)
    pods = {"a": pod("a"), "b": pod("b")}
    assert admission.check("a", pods["a"], pods) is None
    pods["a"] = pod("a", "Succeeded")
    assert admission.check("b", pods["b"], pods) is None
    admission.forget("b")
    del pods["b"]
    assert admission.check("c", pod("c"), pods) is None


def test_running_pods_are_readmitted_after_an_agent_restart() -> None:
    admission = PodAdmission(1)
    pods = {"a": pod("a", "Running"), "b": pod("b", "Running")}
    assert admission.check("a", pods["a"], pods) is None
    assert admission.check("b", pods["b"], pods) is None
    assert admission.check("c", pod("c", deleting=True), pods) is None  # terminated as any pod
