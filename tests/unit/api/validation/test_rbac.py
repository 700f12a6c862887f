"""Validation and defaulting of roles and bindings, in Kubernetes' words."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.defaults import apply_defaults
from kubelite.api.types import rbac_v1
from kubelite.api.validation import rbac

GROUP = "rbac.authorization.k8s.io"


def obj(t: type[msgspec.Struct], namespaced: bool = True, **fields: Any) -> Any:
    meta = {"name": "x", "namespace": "default"} if namespaced else {"name": "x"}
    return msgspec.convert({"metadata": meta, **fields}, t)


def msgs(errors: list[Any]) -> list[str]:
    return [e.message() for e in errors]


def test_policy_rules() -> None:
    ok = obj(rbac_v1.ClusterRole, False, rules=[{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}])
    assert rbac.validate_cluster_role(ok) == []
    bad = obj(rbac_v1.Role, rules=[{"verbs": [], "nonResourceURLs": ["/x"], "resources": ["pods"]},
                                   {"verbs": ["get"]}])
    assert msgs(rbac.validate_role(bad)) == [
        "rules[0].verbs: Required value: verbs must contain at least one value",
        'rules[0].nonResourceURLs: Invalid value: ["/x"]: namespaced rules cannot apply to non-resource URLs',
        'rules[0].nonResourceURLs: Invalid value: ["/x"]: rules cannot apply to both regular resources and non-resource URLs',
        "rules[1].apiGroups: Required value: resource rules must supply at least one api group",
        "rules[1].resources: Required value: resource rules must supply at least one resource",
    ]
    empty = obj(rbac_v1.ClusterRole, False, aggregationRule={"clusterRoleSelectors": []})
    assert msgs(rbac.validate_cluster_role(empty)) == [
        "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if "
        "aggregationRule is non-nil"]


def test_bindings_default_and_validate_subjects_and_role_refs() -> None:
    crb = obj(rbac_v1.ClusterRoleBinding, False, roleRef={"apiGroup": "", "kind": "Role", "name": "r"},
              subjects=[{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "sa"},
                        {"kind": "Robot", "name": "r"}])
    apply_defaults(crb)
    assert crb.role_ref.api_group == GROUP and crb.subjects[0].api_group == GROUP
    assert msgs(rbac.validate_cluster_role_binding(crb)) == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[1].namespace: Required value",
        'subjects[2].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
    ]
    rb = obj(rbac_v1.RoleBinding, roleRef={"apiGroup": GROUP, "kind": "Role", "name": "r"},
             subjects=[{"kind": "ServiceAccount", "name": "sa"}])
    assert rbac.validate_role_binding(rb) == []
    changed = obj(rbac_v1.RoleBinding, roleRef={"apiGroup": GROUP, "kind": "ClusterRole", "name": "r"})
    assert any("cannot change roleRef" in m for m in msgs(rbac.validate_role_binding_update(changed, rb)))
