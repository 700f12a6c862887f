"""PodDisruptionBudgets: the disruption controller's counting, and the eviction subresource's
decisions (apiserver/subresources/eviction.py) in Kubernetes' words."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api import status as st
from kubelite.apiserver.subresources.eviction import (
    VIOLATION,
    can_ignore_budget,
    matching_budgets,
    refusal,
    unhealthy_may_go,
)
from kubelite.controllers.disruption import budget_numbers, healthy_count, live_disrupted

Obj = dict[str, Any]
NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def pod(name: str, ready: bool = True, terminating: bool = False, phase: str = "Running") -> Obj:
    meta: Obj = {"name": name, "labels": {"app": "db"}}
    if terminating:
        meta["deletionTimestamp"] = "2025-01-01T12:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(status: Obj | None = None, generation: int = 1, **spec: Any) -> Obj:
    return {"metadata": {"name": "db", "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "db"}}, **spec}, "status": status or {}}


def test_budget_numbers() -> None:
    assert budget_numbers(pdb(minAvailable=2), 3, None) == (3, 2)
    assert budget_numbers(pdb(minAvailable="50%"), 3, 4) == (4, 2)
    assert budget_numbers(pdb(maxUnavailable=1), 3, 4) == (4, 3)
    assert budget_numbers(pdb(maxUnavailable="25%"), 4, 4) == (4, 3)


def test_healthy_pods_exclude_unready_terminating_and_just_evicted() -> None:
    pods = [pod("a"), pod("b", ready=False), pod("c", terminating=True), pod("d")]
    assert healthy_count(pods, {}, NOW) == 2
    assert healthy_count(pods, {"d": "2025-01-01T11:59:30Z"}, NOW) == 1
    assert healthy_count(pods, {"d": "2025-01-01T11:50:00Z"}, NOW) == 2  # older than 2 minutes
    assert live_disrupted({"d": "2025-01-01T11:59:30Z", "c": "2025-01-01T11:59:30Z",
                           "gone": "2025-01-01T11:59:30Z"}, pods, NOW) == {"d": "2025-01-01T11:59:30Z"}


def test_eviction_refused_when_no_disruption_is_allowed() -> None:
    error = refusal(pdb({"observedGeneration": 1, "disruptionsAllowed": 0, "desiredHealthy": 3,
                         "currentHealthy": 3}))
    assert isinstance(error, st.TooManyRequests)
    body = error.status()
    assert body["code"] == 429 and body["message"] == VIOLATION
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget",
                                          "message": "The disruption budget db needs 3 healthy pods and has 3 currently"}]
    stale = refusal(pdb({"observedGeneration": 1, "disruptionsAllowed": 1}, generation=2))
    assert isinstance(stale, st.TooManyRequests)
    assert "is still being processed by the server" in stale.status()["details"]["causes"][0]["message"]
    assert refusal(pdb({"observedGeneration": 1, "disruptionsAllowed": 1})) is None
    assert isinstance(refusal(pdb({"observedGeneration": 1, "disruptionsAllowed": -1})), st.Forbidden)


def test_which_pods_and_budgets_an_eviction_considers() -> None:
    assert can_ignore_budget(pod("a", phase="Succeeded"))
    assert can_ignore_budget(pod("a", phase="Pending"))
    assert can_ignore_budget(pod("a", terminating=True))
    assert not can_ignore_budget(pod("a"))
    other = {"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    assert [b["metadata"]["name"] for b in matching_budgets(pod("a"), [pdb(), other])] == ["db"]
    budget = pdb({"desiredHealthy": 2, "currentHealthy": 2})
    assert unhealthy_may_go(pod("a", ready=False), budget)
    assert not unhealthy_may_go(pod("a"), budget)
    assert not unhealthy_may_go(pod("a", ready=False), pdb({"desiredHealthy": 3, "currentHealthy": 2}))
    always = pdb({"desiredHealthy": 3, "currentHealthy": 2}, unhealthyPodEvictionPolicy="AlwaysAllow")
    assert unhealthy_may_go(pod("a", ready=False), always)
