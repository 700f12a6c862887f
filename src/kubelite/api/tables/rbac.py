"""`kubectl get` for roles, clusterroles, rolebindings and clusterrolebindings, as
Kubernetes' printers: roles show when they were made, bindings the role they grant and,
with `-o wide`, who they grant it to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.tables._base import (
    OBJECT_META,
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    doc,
    meta,
    name,
    name_column,
)

ROLE_COLUMNS = columns(
    name_column(),
    Column("Created At", "date", doc(OBJECT_META, "creationTimestamp")),
)


def role_row(role: Obj, now: dt.datetime) -> list[Any]:
    return [name(role), meta(role).get("creationTimestamp") or ""]


BINDING_COLUMNS = columns(
    name_column(),
    Column("Role", "string", doc("io.k8s.api.rbac.v1.RoleBinding", "roleRef")),
    age_column(),
    Column("Users", "string", "Users in the roleBinding", priority=1),
    Column("Groups", "string", "Groups in the roleBinding", priority=1),
    Column("ServiceAccounts", "string", "ServiceAccounts in the roleBinding", priority=1),
)


def binding_row(binding: Obj, now: dt.datetime) -> list[Any]:
    ref = binding.get("roleRef") or {}
    users, groups, accounts = [], [], []
    for subject in binding.get("subjects") or []:
        kind = subject.get("kind")
        if kind == "User":
            users.append(subject.get("name", ""))
        elif kind == "Group":
            groups.append(subject.get("name", ""))
        elif kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}/{subject.get('name', '')}")
    return [name(binding), f"{ref.get('kind', '')}/{ref.get('name', '')}", age(binding, now),
            ", ".join(users), ", ".join(groups), ", ".join(accounts)]


ROLE = Printer(ROLE_COLUMNS, role_row)
BINDING = Printer(BINDING_COLUMNS, binding_row)
