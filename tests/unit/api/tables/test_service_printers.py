"""`kubectl get services`, `endpoints` and `endpointslices` cells."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubelite.api.registry import Kind, by_kind
from kubelite.api.tables import column_definitions, row_cells


def must_kind(group: str, name: str) -> Kind:
    kind = by_kind(group, "v1", name)
    assert kind is not None
    return kind


SERVICE = must_kind("", "Service")
ENDPOINTS = must_kind("", "Endpoints")
SLICE = must_kind("discovery.k8s.io", "EndpointSlice")
NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
CREATED = "2024-05-01T11:58:00Z"


def service(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": CREATED},
            "spec": spec, "status": status or {}}


def test_service_columns() -> None:
    assert [(c["name"], c["priority"]) for c in column_definitions(SERVICE)] == [
        ("Name", 0), ("Type", 0), ("Cluster-IP", 0), ("External-IP", 0), ("Port(s)", 0), ("Age", 0),
        ("Selector", 1)]


def test_cluster_ip_service() -> None:
    svc = service({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                   "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                             {"name": "dns", "port": 53, "protocol": "UDP"}],
                   "selector": {"app": "web", "tier": "fe"}})
    assert row_cells(SERVICE, svc, NOW) == [
        "web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP", "2m", "app=web,tier=fe"]


def test_node_port_service() -> None:
    svc = service({"type": "NodePort", "clusterIPs": ["10.96.3.4"],
                   "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]})
    assert row_cells(SERVICE, svc, NOW)[1:5] == ["NodePort", "10.96.3.4", "<none>", "80:30080/TCP"]
    assert row_cells(SERVICE, svc, NOW)[6] == "<none>"  # no selector


@pytest.mark.parametrize(
    ("spec", "status", "external"),
    [
        ({"type": "LoadBalancer"}, {}, "<pending>"),
        ({"type": "LoadBalancer"}, {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"},
                                                                  {"hostname": "lb.example.com"}]}},
         "203.0.113.9,lb.example.com"),
        ({"type": "LoadBalancer", "externalIPs": ["198.51.100.1"]},
         {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}, "203.0.113.9,198.51.100.1"),
        ({"type": "ClusterIP", "externalIPs": ["198.51.100.1", "198.51.100.2"]}, {},
         "198.51.100.1,198.51.100.2"),
        ({"type": "ExternalName", "externalName": "db.example.com"}, {}, "db.example.com"),
    ],
)
def test_external_ip_column(spec: dict[str, Any], status: dict[str, Any], external: str) -> None:
    assert row_cells(SERVICE, service(spec, status), NOW)[3] == external


def test_headless_and_portless_service() -> None:
    svc = service({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]})
    assert row_cells(SERVICE, svc, NOW)[2:5] == ["None", "<none>", "<none>"]
    svc = service({"type": "ExternalName", "externalName": "x.example.com"})
    assert row_cells(SERVICE, svc, NOW)[2] == "<none>"


def endpoints(subsets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "web", "creationTimestamp": CREATED}, "subsets": subsets}


def test_endpoints_list_addresses_with_ports() -> None:
    obj = endpoints([{"addresses": [{"ip": "10.244.1.5"}, {"ip": "10.244.2.7"}],
                      "ports": [{"port": 8080, "protocol": "TCP"}]}])
    assert [c["name"] for c in column_definitions(ENDPOINTS)] == ["Name", "Endpoints", "Age"]
    assert row_cells(ENDPOINTS, obj, NOW) == ["web", "10.244.1.5:8080,10.244.2.7:8080", "2m"]


def test_endpoints_beyond_three_say_how_many_more() -> None:
    obj = endpoints([{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)],
                      "ports": [{"port": 80}, {"port": 443}]}])
    assert row_cells(ENDPOINTS, obj, NOW)[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 5 more..."


def test_endpoints_headless_ipv6_and_empty() -> None:
    assert row_cells(ENDPOINTS, endpoints([{"addresses": [{"ip": "10.0.0.1"}]}]), NOW)[1] == "10.0.0.1"
    assert row_cells(ENDPOINTS, endpoints([{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]),
                     NOW)[1] == "[fd00::1]:80"
    assert row_cells(ENDPOINTS, endpoints([]), NOW)[1] == "<none>"


def test_endpoint_slice_row() -> None:
    obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "web-abc12", "creationTimestamp": CREATED},
           "addressType": "IPv4",
           "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "metrics"}, {}, {"port": 9},
                     {"port": 10}],
           "endpoints": [{"addresses": ["10.244.1.5"]}, {"addresses": ["10.244.2.7"]}]}
    assert [c["name"] for c in column_definitions(SLICE)] == ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    assert row_cells(SLICE, obj, NOW) == [
        "web-abc12", "IPv4", "80,metrics,* + 2 more...", "10.244.1.5,10.244.2.7", "2m"]


def test_empty_endpoint_slice_is_unset() -> None:
    obj = {"metadata": {"name": "s", "creationTimestamp": CREATED}, "addressType": "IPv4"}
    assert row_cells(SLICE, obj, NOW)[2:4] == ["<unset>", "<unset>"]
