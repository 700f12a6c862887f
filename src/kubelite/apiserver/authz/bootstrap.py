"""Reconcile the bootstrap RBAC policy at every API server start, as kube-apiserver's
rbac/bootstrap-roles post-start hook (pkg/registry/rbac/rest/storage_rbac.go).

A missing role or binding is created. One that exists and is not annotated
`rbac.authorization.kubernetes.io/autoupdate: "false"` gets back whatever bootstrap
rules, aggregation rule, subjects, labels and annotations it lost (additions a cluster
admin made are kept); a binding whose roleRef changed is deleted and made again.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from kubelite.api import status as st
from kubelite.api.rbac.bootstrap import AUTOUPDATE, policy
from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver.rest import ObjectStore, WriteOptions

log = logging.getLogger(__name__)
GROUP = "rbac.authorization.k8s.io"
FIELD_MANAGER = "kube-apiserver"
CLUSTER_ROLES = by_resource(GROUP, "v1", "clusterroles")
CLUSTER_ROLE_BINDINGS = by_resource(GROUP, "v1", "clusterrolebindings")


def _merged_meta(have: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    meta = dict(have["metadata"])
    for key in ("labels", "annotations"):
        meta[key] = {**(meta.get(key) or {}), **(want["metadata"].get(key) or {})}
    return meta


def reconciled_role(have: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """`have` with the bootstrap rules it lacks (and the aggregation rule of `want`)."""
    rules = list(have.get("rules") or [])
    if "aggregationRule" not in want:  # aggregated roles' rules belong to the controller
        rules += [r for r in want["rules"] if r not in rules]
    out = {**have, "metadata": _merged_meta(have, want), "rules": rules}
    if "aggregationRule" in want:
        selectors = list((have.get("aggregationRule") or {}).get("clusterRoleSelectors") or [])
        selectors += [s for s in want["aggregationRule"]["clusterRoleSelectors"] if s not in selectors]
        out["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return out


def reconciled_binding(have: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    subjects = list(have.get("subjects") or [])
    subjects += [s for s in want["subjects"] if s not in subjects]
    return {**have, "metadata": _merged_meta(have, want), "subjects": subjects}


async def _reconcile_one(store: ObjectStore, kind: Kind, want: dict[str, Any]) -> str:
    name = want["metadata"]["name"]
    opts = WriteOptions(field_manager=FIELD_MANAGER)
    try:
        have = json.loads(await store.get(kind, None, name))
    except st.NotFound:
        with contextlib.suppress(st.AlreadyExists):  # another API server was quicker
            await store.create(kind, None, json.loads(json.dumps(want)), opts)
        return "created"
    if (have["metadata"].get("annotations") or {}).get(AUTOUPDATE) == "false":
        return ""
    if kind is CLUSTER_ROLE_BINDINGS and have.get("roleRef") != want["roleRef"]:
        await store.delete(kind, None, name, {}, opts)
        await store.create(kind, None, json.loads(json.dumps(want)), opts)
        return "recreated"
    fixed = (reconciled_binding if kind is CLUSTER_ROLE_BINDINGS else reconciled_role)(have, want)
    if fixed == have:
        return ""
    try:
        await store.update(kind, None, name, fixed, opts)
    except st.Conflict:  # another API server reconciled it meanwhile; the next start looks again
        return ""
    return "updated"


async def reconcile(store: ObjectStore) -> None:
    """Bring every bootstrap ClusterRole and ClusterRoleBinding up to date."""
    assert CLUSTER_ROLES is not None and CLUSTER_ROLE_BINDINGS is not None
    roles, bindings = policy()
    changed: list[str] = []
    for kind, objs in ((CLUSTER_ROLES, roles), (CLUSTER_ROLE_BINDINGS, bindings)):
        for want in objs:
            done = await _reconcile_one(store, kind, want)
            if done:
                changed.append(f"{done} {kind.plural}/{want['metadata']['name']}")
    if changed:
        log.info("bootstrap RBAC policy: %s", ", ".join(changed))
