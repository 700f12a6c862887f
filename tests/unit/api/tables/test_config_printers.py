"""Cells for namespaces, configmaps, secrets, serviceaccounts, leases, quotas, PDBs and
kinds without a printer of their own (LimitRange)."""

from __future__ import annotations

import datetime as dt

from kubelite.api.registry import Kind, by_kind
from kubelite.api.tables import column_definitions, row_cells

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
CREATED = "2024-04-30T12:00:00Z"
META = {"name": "x", "namespace": "default", "creationTimestamp": CREATED}


def kind(group: str, name: str) -> Kind:
    k = by_kind(group, "v1", name)
    assert k is not None
    return k


def test_namespace() -> None:
    ns = kind("", "Namespace")
    assert [c["name"] for c in column_definitions(ns)] == ["Name", "Status", "Age"]
    assert row_cells(ns, {"metadata": {**META, "name": "default"}, "status": {"phase": "Active"}}, NOW) == [
        "default", "Active", "24h"]
    assert row_cells(ns, {"metadata": META, "status": {"phase": "Terminating"}}, NOW)[1] == "Terminating"


def test_configmap_counts_data_and_binary_data() -> None:
    cm = kind("", "ConfigMap")
    assert [c["name"] for c in column_definitions(cm)] == ["Name", "Data", "Age"]
    obj = {"metadata": {**META, "name": "kube-root-ca.crt"}, "data": {"ca.crt": "..."},
           "binaryData": {"logo.png": "iVBO"}}
    assert row_cells(cm, obj, NOW) == ["kube-root-ca.crt", 2, "24h"]
    assert row_cells(cm, {"metadata": META}, NOW)[1] == 0


def test_secret() -> None:
    secret = kind("", "Secret")
    assert [c["name"] for c in column_definitions(secret)] == ["Name", "Type", "Data", "Age"]
    obj = {"metadata": {**META, "name": "tls"}, "type": "kubernetes.io/tls",
           "data": {"tls.crt": "Y3J0", "tls.key": "a2V5"}}
    assert row_cells(secret, obj, NOW) == ["tls", "kubernetes.io/tls", 2, "24h"]


def test_service_account() -> None:
    sa = kind("", "ServiceAccount")
    assert [c["name"] for c in column_definitions(sa)] == ["Name", "Secrets", "Age"]
    assert row_cells(sa, {"metadata": {**META, "name": "default"}}, NOW) == ["default", 0, "24h"]


def test_lease() -> None:
    lease = kind("coordination.k8s.io", "Lease")
    assert [c["name"] for c in column_definitions(lease)] == ["Name", "Holder", "Age"]
    obj = {"metadata": {**META, "name": "node-1"}, "spec": {"holderIdentity": "node-1",
                                                          "leaseDurationSeconds": 40}}
    assert row_cells(lease, obj, NOW) == ["node-1", "node-1", "24h"]
    assert row_cells(lease, {"metadata": META, "spec": {}}, NOW)[1] == ""


def test_resource_quota_splits_requests_and_limits() -> None:
    quota = kind("", "ResourceQuota")
    assert [c["name"] for c in column_definitions(quota)] == ["Name", "Request", "Limit", "Age"]
    obj = {"metadata": {**META, "name": "compute"},
           "status": {"hard": {"pods": "10", "requests.cpu": "2", "limits.memory": "4Gi", "limits.cpu": "4"},
                      "used": {"pods": "3", "requests.cpu": "500m", "limits.cpu": "1"}}}
    assert row_cells(quota, obj, NOW) == [
        "compute", "pods: 3/10, requests.cpu: 500m/2", "limits.cpu: 1/4, limits.memory: 0/4Gi", "24h"]


def test_pod_disruption_budget() -> None:
    pdb = kind("policy", "PodDisruptionBudget")
    assert [(c["name"], c["type"]) for c in column_definitions(pdb)] == [
        ("Name", "string"), ("Min Available", "string"), ("Max Unavailable", "string"),
        ("Allowed Disruptions", "integer"), ("Age", "string")]
    obj = {"metadata": {**META, "name": "web"}, "spec": {"minAvailable": 2},
           "status": {"disruptionsAllowed": 1}}
    assert row_cells(pdb, obj, NOW) == ["web", "2", "N/A", 1, "24h"]
    obj = {"metadata": {**META, "name": "web"}, "spec": {"maxUnavailable": "25%"}, "status": {}}
    assert row_cells(pdb, obj, NOW)[1:4] == ["N/A", "25%", 0]


def test_limit_range_uses_the_default_table() -> None:
    limits = kind("", "LimitRange")
    cols = column_definitions(limits)
    assert [(c["name"], c["type"]) for c in cols] == [("Name", "string"), ("Created At", "date")]
    obj = {"metadata": {**META, "name": "cpu-limits", "creationTimestamp": "2024-04-30T12:00:00+02:00"}}
    assert row_cells(limits, obj, NOW) == ["cpu-limits", "2024-04-30T10:00:00Z"]
