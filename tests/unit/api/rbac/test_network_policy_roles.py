"""The bootstrap roles grant NetworkPolicies as Kubernetes' do: view reads them, edit (and
admin, which aggregates edit) writes them, and the node agent, which enforces them, watches
them with pods and namespaces."""

from __future__ import annotations

from typing import Any

from kubelite.api.rbac.bootstrap import policy


def verbs(role: str, resource: str, group: str = "networking.k8s.io") -> set[str]:
    """The verbs `role` grants on `resource`, with what aggregates into it (transitively, as
    the aggregation controller fills it: view into edit into admin)."""
    roles, _ = policy()
    found: set[str] = set()
    for r in roles:
        labels = r["metadata"].get("labels") or {}
        name = r["metadata"]["name"]
        if name != role and labels.get(f"rbac.authorization.k8s.io/aggregate-to-{role}") != "true":
            continue
        if name != role and r.get("aggregationRule"):
            found |= verbs(name, resource, group)
        rule: dict[str, Any]
        for rule in r.get("rules") or []:
            if group in rule.get("apiGroups", []) and resource in rule.get("resources", []):
                found |= set(rule["verbs"])
    return found


def test_view_edit_admin() -> None:
    assert verbs("view", "networkpolicies") == {"get", "list", "watch"}
    assert {"create", "delete", "deletecollection", "patch", "update"} <= verbs("edit", "networkpolicies")
    assert verbs("admin", "networkpolicies") == verbs("edit", "networkpolicies") == {
        "get", "list", "watch", "create", "delete", "deletecollection", "patch", "update"}


def test_the_node_agent_watches_what_it_enforces() -> None:
    assert {"list", "watch"} <= verbs("system:node-proxier", "networkpolicies")
    assert {"list", "watch"} <= verbs("system:node-proxier", "pods", "")
    assert {"list", "watch"} <= verbs("system:node-proxier", "namespaces", "")
