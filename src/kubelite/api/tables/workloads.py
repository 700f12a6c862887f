"""`kubectl get daemonsets`, `replicationcontrollers`, `podtemplates` and
`controllerrevisions` (pkg/printers/internalversion/printers.go)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.selectors import selector_to_string
from kubelite.api.tables._base import (
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    container_cells,
    doc,
    format_labels,
    name,
    name_column,
    spec,
    status,
)
from kubelite.api.tables.apps import _template_columns, replica_columns

DAEMONSET_SPEC = "io.k8s.api.apps.v1.DaemonSetSpec"
DAEMONSET_STATUS = "io.k8s.api.apps.v1.DaemonSetStatus"
RC_SPEC = "io.k8s.api.core.v1.ReplicationControllerSpec"
RC_STATUS = "io.k8s.api.core.v1.ReplicationControllerStatus"


def _template_containers(template: Obj | None) -> tuple[str, str]:
    return container_cells(((template or {}).get("spec") or {}).get("containers") or [])


DAEMONSET_COLUMNS = columns(
    name_column(),
    Column("Desired", "integer", doc(DAEMONSET_STATUS, "desiredNumberScheduled")),
    Column("Current", "integer", doc(DAEMONSET_STATUS, "currentNumberScheduled")),
    Column("Ready", "integer", doc(DAEMONSET_STATUS, "numberReady")),
    Column("Up-to-date", "integer", doc(DAEMONSET_STATUS, "updatedNumberScheduled")),
    Column("Available", "integer", doc(DAEMONSET_STATUS, "numberAvailable")),
    Column("Node Selector", "string",
           "NodeSelector is a selector which must be true for the pod to fit on a node."),
    age_column(),
    *_template_columns(doc(DAEMONSET_SPEC, "selector")),
)


def daemonset_row(obj: Obj, now: dt.datetime) -> list[Any]:
    st = status(obj)
    template = spec(obj).get("template") or {}
    node_selector = format_labels((template.get("spec") or {}).get("nodeSelector"))
    names, images = _template_containers(template)
    return [
        name(obj), st.get("desiredNumberScheduled") or 0, st.get("currentNumberScheduled") or 0,
        st.get("numberReady") or 0, st.get("updatedNumberScheduled") or 0,
        st.get("numberAvailable") or 0, node_selector, age(obj, now),
        names, images, selector_to_string(spec(obj).get("selector")),
    ]


RC_COLUMNS = replica_columns(RC_SPEC, RC_STATUS)


def rc_row(obj: Obj, now: dt.datetime) -> list[Any]:
    st = status(obj)
    replicas = spec(obj).get("replicas")
    names, images = _template_containers(spec(obj).get("template"))
    return [
        name(obj), 1 if replicas is None else int(replicas), st.get("replicas") or 0,
        st.get("readyReplicas") or 0, age(obj, now), names, images,
        format_labels(spec(obj).get("selector")),
    ]


POD_TEMPLATE_COLUMNS = columns(
    name_column(),
    Column("Containers", "string", "Names of each container in the template."),
    Column("Images", "string", "Images referenced by each container in the template."),
    Column("Pod Labels", "string", "The labels for the pod template."),
)


def pod_template_row(obj: Obj, now: dt.datetime) -> list[Any]:
    template = obj.get("template") or {}
    names, images = _template_containers(template)
    return [name(obj), names, images, format_labels((template.get("metadata") or {}).get("labels"))]


DAEMONSET = Printer(DAEMONSET_COLUMNS, daemonset_row)
REPLICATION_CONTROLLER = Printer(RC_COLUMNS, rc_row)
POD_TEMPLATE = Printer(POD_TEMPLATE_COLUMNS, pod_template_row)
