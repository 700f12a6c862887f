"""Answers in the cluster zone: ClusterIPs, headless endpoints, SRV, ExternalName, NXDOMAIN."""

from __future__ import annotations

from typing import Any

from kubelite.dns import wire
from kubelite.dns.records import ClusterRecords

Obj = dict[str, Any]

SERVICES: dict[tuple[str, str], Obj] = {
    ("default", "my-svc"): {"spec": {"clusterIP": "10.96.0.7", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
    ("default", "db"): {"spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}},
    ("default", "ext"): {"spec": {"type": "ExternalName", "externalName": "example.com"}},
}
SLICES: dict[tuple[str, str], list[Obj]] = {
    ("default", "db"): [{"addressType": "IPv4", "endpoints": [
        {"addresses": ["10.244.0.9"], "conditions": {"ready": True}, "hostname": "db-0"},
        {"addresses": ["10.244.0.3"], "conditions": {"ready": True}},
        {"addresses": ["10.244.0.4"], "conditions": {"ready": False}}]}],
}


def records() -> ClusterRecords:
    return ClusterRecords(lambda ns, n: SERVICES.get((ns, n)), lambda ns, n: SLICES.get((ns, n), []))


def a_records(answer: Any) -> list[str]:
    return [wire.read_a(r.data) for r in answer.answers if r.type == wire.A]


def test_cluster_ip_service() -> None:
    answer = records().lookup("my-svc.default.svc.cluster.local", wire.A)
    assert answer.rcode == wire.NOERROR and a_records(answer) == ["10.96.0.7"]
    assert answer.answers[0].ttl == 5


def test_headless_service_lists_ready_pod_ips_and_hostnames() -> None:
    r = records()
    assert a_records(r.lookup("db.default.svc.cluster.local", wire.A)) == ["10.244.0.3", "10.244.0.9"]
    assert a_records(r.lookup("db-0.db.default.svc.cluster.local", wire.A)) == ["10.244.0.9"]
    assert a_records(r.lookup("10-244-0-3.db.default.svc.cluster.local", wire.A)) == ["10.244.0.3"]
    assert r.lookup("10-244-0-4.db.default.svc.cluster.local", wire.A).rcode == wire.NXDOMAIN


def test_srv_for_named_ports() -> None:
    r = records()
    answer = r.lookup("_http._tcp.my-svc.default.svc.cluster.local", wire.SRV)
    assert [wire.read_srv(x.data) for x in answer.answers] == [(0, 100, 80, "my-svc.default.svc.cluster.local")]
    headless = r.lookup("_pg._tcp.db.default.svc.cluster.local", wire.SRV)
    targets = sorted(wire.read_srv(x.data)[3] for x in headless.answers)
    assert targets == ["10-244-0-3.db.default.svc.cluster.local", "db-0.db.default.svc.cluster.local"]
    assert r.lookup("_nope._tcp.my-svc.default.svc.cluster.local", wire.SRV).rcode == wire.NXDOMAIN


def test_external_name_is_a_cname() -> None:
    answer = records().lookup("ext.default.svc.cluster.local", wire.A)
    assert answer.answers[0].type == wire.CNAME and wire.read_name(answer.answers[0].data) == "example.com"


def test_nodata_nxdomain_and_pod_names() -> None:
    r = records()
    nodata = r.lookup("my-svc.default.svc.cluster.local", wire.AAAA)
    assert nodata.rcode == wire.NOERROR and nodata.answers == [] and nodata.soa
    missing = r.lookup("nope.default.svc.cluster.local", wire.A)
    assert missing.rcode == wire.NXDOMAIN and missing.soa
    assert r.lookup("my-svc.prod.svc.cluster.local", wire.A).rcode == wire.NXDOMAIN
    assert r.lookup("something.cluster.local", wire.A).rcode == wire.NXDOMAIN
    assert a_records(r.lookup("10-244-1-5.default.pod.cluster.local", wire.A)) == ["10.244.1.5"]
    assert r.in_zone("x.cluster.local.") and not r.in_zone("example.com")
