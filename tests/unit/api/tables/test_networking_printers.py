"""`kubectl get ingress` and `ingressclasses` cells (printIngress, printIngressClass)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.registry import Kind, by_kind
from kubelite.api.tables import column_definitions, row_cells

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
CREATED = "2024-05-01T10:00:00Z"


def kind(name: str) -> Kind:
    k = by_kind("networking.k8s.io", "v1", name)
    assert k is not None
    return k


def ing(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "creationTimestamp": CREATED},
            "spec": spec, "status": status or {"loadBalancer": {}}}


def test_ingress_columns_and_row() -> None:
    assert [c["name"] for c in column_definitions(kind("Ingress"))] == [
        "Name", "Class", "Hosts", "Address", "Ports", "Age"]
    one = ing({"rules": [{"host": "foo.example.com"}]})
    assert row_cells(kind("Ingress"), one, NOW) == ["web", "<none>", "foo.example.com", "", "80", "120m"]


def test_ingress_hosts_address_and_tls_ports() -> None:
    rules = [{"host": f"h{i}.example.com"} for i in range(5)]
    status = {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"hostname": "lb.example.com"}]}}
    many = ing({"ingressClassName": "nginx", "rules": rules, "tls": [{"hosts": ["h0.example.com"]}]},
               status)
    assert row_cells(kind("Ingress"), many, NOW)[1:5] == [
        "nginx", "h0.example.com,h1.example.com,h2.example.com + 2 more...",
        "10.0.0.2,lb.example.com", "80, 443"]
    assert row_cells(kind("Ingress"), ing({"defaultBackend": {}}), NOW)[2] == "*"


def test_ingress_class_row() -> None:
    assert [c["name"] for c in column_definitions(kind("IngressClass"))] == [
        "Name", "Controller", "Parameters", "Age"]
    ic = {"metadata": {"name": "nginx", "creationTimestamp": CREATED},
          "spec": {"controller": "k8s.io/ingress-nginx",
                   "parameters": {"apiGroup": "k8s.example.com", "kind": "Params", "name": "p"}}}
    assert row_cells(kind("IngressClass"), ic, NOW) == [
        "nginx", "k8s.io/ingress-nginx", "Params.k8s.example.com/p", "120m"]
    bare = {"metadata": {"name": "x", "creationTimestamp": CREATED}, "spec": {"controller": "a.io/b"}}
    assert row_cells(kind("IngressClass"), bare, NOW)[2] == "<none>"


def test_network_policy_columns_and_row() -> None:
    assert [c["name"] for c in column_definitions(kind("NetworkPolicy"))] == ["Name", "Pod-Selector", "Age"]
    meta = {"name": "deny", "namespace": "default", "creationTimestamp": CREATED}
    assert row_cells(kind("NetworkPolicy"), {"metadata": meta, "spec": {"podSelector": {}}}, NOW) == [
        "deny", "<none>", "120m"]
    selected = {"metadata": meta, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}}
    assert row_cells(kind("NetworkPolicy"), selected, NOW) == ["deny", "app=web", "120m"]
