"""The ClusterRole aggregation controller gathers the rules of the roles its selectors match."""

from __future__ import annotations

from typing import Any

from kubelite.controllers.clusterroleaggregation import (
    ClusterRoleAggregationController,
    aggregated_rules,
)
from tests.helpers.wait import eventually
from tests.unit.sim.fake_client import FakeClient

LABEL = "rbac.authorization.k8s.io/aggregate-to-view"
PODS = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
METRICS = {"verbs": ["list"], "apiGroups": ["metrics.k8s.io"], "resources": ["pods"]}


def role(name: str, rules: list[dict[str, Any]], labels: dict[str, str] | None = None,
         aggregate: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": {"name": name, "labels": labels or {}}, "rules": rules}
    if aggregate:
        out["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {LABEL: "true"}}]}
    return out


def test_rules_are_gathered_by_name_once_each_and_never_from_itself() -> None:
    view = role("view", [], {LABEL: "true"}, aggregate=True)
    roles = [view, role("z-metrics", [METRICS, PODS], {LABEL: "true"}), role("a-pods", [PODS], {LABEL: "true"}),
             role("other", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}])]
    assert aggregated_rules(view, roles) == [PODS, METRICS]


async def test_a_labelled_role_adds_its_rules_and_removing_it_takes_them_away() -> None:
    client = FakeClient()
    ctrl = ClusterRoleAggregationController(client)  # type: ignore[arg-type]
    await ctrl.start()
    try:
        await client.put_direct("clusterroles", role("view", [], aggregate=True))
        await client.put_direct("clusterroles", role("metrics-reader", [METRICS], {LABEL: "true"}))

        def rules() -> list[dict[str, Any]]:
            return (client.get_obj("clusterroles", "view") or {}).get("rules") or []

        await eventually(lambda: rules() == [METRICS], timeout=3.0)
        await client.put_direct("clusterroles", role("metrics-reader", [METRICS], {}))
        await eventually(lambda: rules() == [], timeout=3.0)
    finally:
        await ctrl.stop()
