"""`kubectl get` of deployments, replicasets, statefulsets and controllerrevisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.selectors import SelectorError, label_selector_from_struct, selector_to_string
from kubelite.api.tables._base import (
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    container_cells,
    doc,
    name,
    name_column,
    spec,
    status,
)

DEPLOYMENT_SPEC = "io.k8s.api.apps.v1.DeploymentSpec"
DEPLOYMENT_STATUS = "io.k8s.api.apps.v1.DeploymentStatus"
REPLICASET_SPEC = "io.k8s.api.apps.v1.ReplicaSetSpec"
REPLICASET_STATUS = "io.k8s.api.apps.v1.ReplicaSetStatus"


def _template_columns(selector_doc: str) -> tuple[Column, ...]:
    return (
        Column("Containers", "string", "Names of each container in the template.", priority=1),
        Column("Images", "string", "Images referenced by each container in the template.", priority=1),
        Column("Selector", "string", selector_doc, priority=1),
    )


def _containers(obj: Obj) -> list[Obj]:
    template = spec(obj).get("template") or {}
    containers: list[Obj] = (template.get("spec") or {}).get("containers") or []
    return containers


def _replicas(obj: Obj) -> int:
    # The apiserver defaults spec.replicas to 1.
    replicas = spec(obj).get("replicas")
    return 1 if replicas is None else int(replicas)


DEPLOYMENT_COLUMNS = columns(
    name_column(),
    Column("Ready", "string", "Number of the pod with ready state"),
    Column("Up-to-date", "string", doc(DEPLOYMENT_STATUS, "updatedReplicas")),
    Column("Available", "string", doc(DEPLOYMENT_STATUS, "availableReplicas")),
    age_column(),
    *_template_columns(doc(DEPLOYMENT_SPEC, "selector")),
)


def deployment_row(obj: Obj, now: dt.datetime) -> list[Any]:
    st = status(obj)
    try:
        selector = str(label_selector_from_struct(spec(obj).get("selector")))
    except SelectorError:
        selector = "<invalid>"
    names, images = container_cells(_containers(obj))
    return [
        name(obj), f"{st.get('readyReplicas') or 0}/{_replicas(obj)}",
        st.get("updatedReplicas") or 0, st.get("availableReplicas") or 0, age(obj, now),
        names, images, selector,
    ]


def replica_columns(spec_definition: str, status_definition: str) -> tuple[Column, ...]:
    """NAME DESIRED CURRENT READY AGE (+ wide template columns): ReplicaSets' and
    ReplicationControllers' printed columns, documented from each kind's own schema."""
    return columns(
        name_column(),
        Column("Desired", "integer", doc(spec_definition, "replicas")),
        Column("Current", "integer", doc(status_definition, "replicas")),
        Column("Ready", "integer", doc(status_definition, "readyReplicas")),
        age_column(),
        *_template_columns(doc(spec_definition, "selector")),
    )


REPLICASET_COLUMNS = replica_columns(REPLICASET_SPEC, REPLICASET_STATUS)


def replicaset_row(obj: Obj, now: dt.datetime) -> list[Any]:
    st = status(obj)
    names, images = container_cells(_containers(obj))
    return [
        name(obj), _replicas(obj), st.get("replicas") or 0, st.get("readyReplicas") or 0,
        age(obj, now), names, images, selector_to_string(spec(obj).get("selector")),
    ]


DEPLOYMENT = Printer(DEPLOYMENT_COLUMNS, deployment_row)
REPLICASET = Printer(REPLICASET_COLUMNS, replicaset_row)


STATEFULSET_COLUMNS = columns(
    name_column(),
    Column("Ready", "string", "Number of the pod with ready state"),
    age_column(),
    Column("Containers", "string", "Names of each container in the template.", priority=1),
    Column("Images", "string", "Images referenced by each container in the template.", priority=1),
)


def statefulset_row(obj: Obj, now: dt.datetime) -> list[Any]:
    names, images = container_cells(_containers(obj))
    return [name(obj), f"{status(obj).get('readyReplicas') or 0}/{_replicas(obj)}",
            age(obj, now), names, images]


CONTROLLER_REVISION_COLUMNS = columns(
    name_column(),
    Column("Controller", "string", "Controller of the object"),
    Column("Revision", "string", doc("io.k8s.api.apps.v1.ControllerRevision", "revision")),
    age_column(),
)


def controller_revision_row(obj: Obj, now: dt.datetime) -> list[Any]:
    controller = "<none>"
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = str(ref.get("apiVersion", ""))
            group = api_version.split("/")[0] if "/" in api_version else ""
            kind = str(ref.get("kind", "")).lower() + (f".{group}" if group else "")
            controller = f"{kind}/{ref.get('name', '')}"
    return [name(obj), controller, obj.get("revision") or 0, age(obj, now)]


STATEFULSET = Printer(STATEFULSET_COLUMNS, statefulset_row)
CONTROLLER_REVISION = Printer(CONTROLLER_REVISION_COLUMNS, controller_revision_row)
