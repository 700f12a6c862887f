"""`kubectl get nodes`: printNode."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.tables._base import (
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
    spec,
    status,
)

NODE_STATUS = "io.k8s.api.core.v1.NodeStatus"
NODE_INFO = "io.k8s.api.core.v1.NodeSystemInfo"

# Roles come from `node-role.kubernetes.io/<role>` keys or a `kubernetes.io/role` value.
LABEL_NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_LABEL_ROLE = "kubernetes.io/role"

COLUMNS = columns(
    name_column(),
    Column("Status", "string", "The status of the node"),
    Column("Roles", "string", "The roles of the node"),
    age_column(),
    Column("Version", "string", doc(NODE_INFO, "kubeletVersion")),
    Column("Internal-IP", "string", doc(NODE_STATUS, "addresses"), priority=1),
    Column("External-IP", "string", doc(NODE_STATUS, "addresses"), priority=1),
    Column("OS-Image", "string", doc(NODE_INFO, "osImage"), priority=1),
    Column("Kernel-Version", "string", doc(NODE_INFO, "kernelVersion"), priority=1),
    Column("Container-Runtime", "string", doc(NODE_INFO, "containerRuntimeVersion"), priority=1),
)


def node_status(node: Obj) -> str:
    """`Ready`, `NotReady` or `Unknown` (no Ready condition), plus `,SchedulingDisabled`."""
    parts: list[str] = []
    ready = None
    for c in status(node).get("conditions") or []:
        if c.get("type") == "Ready":
            ready = c  # the last one wins, as Go's condition map does
    if ready is not None:
        parts.append("Ready" if ready.get("status") == "True" else "NotReady")
    else:
        parts.append("Unknown")
    if spec(node).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(node: Obj) -> str:
    roles: set[str] = set()
    for key, value in (meta(node).get("labels") or {}).items():
        if key.startswith(LABEL_NODE_ROLE_PREFIX):
            role = key[len(LABEL_NODE_ROLE_PREFIX):]
            if role:
                roles.add(role)
        elif key == NODE_LABEL_ROLE and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _address(node: Obj, kind: str) -> str:
    for a in status(node).get("addresses") or []:
        if a.get("type") == kind:
            address: str = a.get("address") or ""
            return address
    return "<none>"


def node_row(node: Obj, now: dt.datetime) -> list[Any]:
    info = status(node).get("nodeInfo") or {}
    return [
        name(node), node_status(node), node_roles(node), age(node, now),
        info.get("kubeletVersion") or "",
        _address(node, "InternalIP"), _address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


PRINTER = Printer(COLUMNS, node_row)
