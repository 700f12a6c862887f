"""`kubectl get` for namespaces, configmaps, secrets, serviceaccounts and leases."""

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
    name,
    name_column,
    spec,
    status,
)

NAMESPACE_COLUMNS = columns(
    name_column(),
    Column("Status", "string", "The status of the namespace"),
    age_column(),
)


def namespace_row(ns: Obj, now: dt.datetime) -> list[Any]:
    return [name(ns), status(ns).get("phase") or "", age(ns, now)]


CONFIGMAP_COLUMNS = columns(
    name_column(),
    Column("Data", "string", doc("io.k8s.api.core.v1.ConfigMap", "data")),
    age_column(),
)


def configmap_row(cm: Obj, now: dt.datetime) -> list[Any]:
    return [name(cm), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), age(cm, now)]


SECRET_COLUMNS = columns(
    name_column(),
    Column("Type", "string", doc("io.k8s.api.core.v1.Secret", "type")),
    Column("Data", "string", doc("io.k8s.api.core.v1.Secret", "data")),
    age_column(),
)


def secret_row(secret: Obj, now: dt.datetime) -> list[Any]:
    # The apiserver defaults type to Opaque; stringData is folded into data on write.
    return [name(secret), secret.get("type") or "Opaque", len(secret.get("data") or {}),
            age(secret, now)]


SERVICE_ACCOUNT_COLUMNS = columns(
    name_column(),
    Column("Secrets", "string", doc("io.k8s.api.core.v1.ServiceAccount", "secrets")),
    age_column(),
)


def service_account_row(sa: Obj, now: dt.datetime) -> list[Any]:
    return [name(sa), len(sa.get("secrets") or []), age(sa, now)]


LEASE_COLUMNS = columns(
    name_column(),
    Column("Holder", "string", doc("io.k8s.api.coordination.v1.LeaseSpec", "holderIdentity")),
    age_column(),
)


def lease_row(lease: Obj, now: dt.datetime) -> list[Any]:
    return [name(lease), spec(lease).get("holderIdentity") or "", age(lease, now)]


NAMESPACE = Printer(NAMESPACE_COLUMNS, namespace_row)
CONFIGMAP = Printer(CONFIGMAP_COLUMNS, configmap_row)
SECRET = Printer(SECRET_COLUMNS, secret_row)
SERVICE_ACCOUNT = Printer(SERVICE_ACCOUNT_COLUMNS, service_account_row)
LEASE = Printer(LEASE_COLUMNS, lease_row)
