"""rbac/v1 defaulting (SetDefaults_Subject, SetDefaults_*Binding): User and Group subjects
and role references without an apiGroup get rbac.authorization.k8s.io."""

from __future__ import annotations

from typing import Any

GROUP = "rbac.authorization.k8s.io"


def default_binding(binding: Any) -> None:
    if binding.role_ref is not None and not binding.role_ref.api_group:
        binding.role_ref.api_group = GROUP
    for subject in binding.subjects or []:
        if not subject.api_group and subject.kind in ("User", "Group"):
            subject.api_group = GROUP
