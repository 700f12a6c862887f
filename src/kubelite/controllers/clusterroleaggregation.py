"""The ClusterRole aggregation controller (pkg/controller/clusterroleaggregation): a
ClusterRole with an `aggregationRule` gets, as its rules, the rules of every other
ClusterRole its selectors match, in the order of their names, each rule once.

That is how `admin`, `edit` and `view` grow: a chart's ClusterRole labelled
`rbac.authorization.k8s.io/aggregate-to-view: "true"` adds its rules to `view`.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api.selectors import SelectorError, label_selector_from_struct
from kubelite.client import NotFound
from kubelite.controllers.base import Controller

log = logging.getLogger(__name__)
Obj = dict[str, Any]
CLUSTER_ROLES = "clusterroles"


def _selects(role: Obj, other: Obj) -> bool:
    labels = (other.get("metadata") or {}).get("labels") or {}
    for selector in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []:
        try:
            if label_selector_from_struct(selector).matches(labels):
                return True
        except SelectorError:
            continue
    return False


def aggregated_rules(role: Obj, roles: list[Obj]) -> list[Obj]:
    """The rules `role` should have: those of the roles it selects (itself excluded), sorted
    by role name, duplicates dropped."""
    name = role["metadata"]["name"]
    rules: list[Obj] = []
    for other in sorted(roles, key=lambda r: r["metadata"]["name"]):
        if other["metadata"]["name"] == name or not _selects(role, other):
            continue
        rules += [r for r in other.get("rules") or [] if r not in rules]
    return rules


class ClusterRoleAggregationController(Controller):
    name = "clusterrole-aggregation"

    def setup(self) -> None:
        self.roles = self.informer(CLUSTER_ROLES, raw=True)
        # any ClusterRole change may change what an aggregated one gathers: look at them all
        self.roles.on_add(lambda _r: self._enqueue_aggregated())
        self.roles.on_update(lambda _o, _n: self._enqueue_aggregated())
        self.roles.on_delete(lambda _r: self._enqueue_aggregated())

    def _enqueue_aggregated(self) -> None:
        for role in self.roles.list():
            if role.get("aggregationRule"):
                self.queue.add(role["metadata"]["name"])

    async def reconcile(self, key: str) -> float | None:
        role = self.roles.get(key)
        if role is None or not role.get("aggregationRule"):
            return None
        rules = aggregated_rules(role, self.roles.list())
        if rules == (role.get("rules") or []):
            return None
        try:  # a merge patch replaces the whole list, without racing other writers of the role
            await self.client.patch(CLUSTER_ROLES, key, None, {"rules": rules}, raw=True)
        except NotFound:
            pass
        return None
