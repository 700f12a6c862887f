"""The control plane's Services, their endpoints, the address leases and the advertised address."""

from __future__ import annotations

import pytest

from kubelite.apiserver.advertise import advertise_address, default_gateway
from kubelite.apiserver.master_leases import StoreLeases
from kubelite.controlplane.endpoints import endpoints_body, slice_body
from kubelite.controlplane.system_services import (
    _needs_reset,
    in_cluster_names,
    kube_dns_service,
    kubernetes_service,
)
from kubelite.service_ips import dns_service_ip, indexed_ip, kubernetes_service_ip
from kubelite.store.sqlite import SqliteStore


def test_well_known_service_addresses() -> None:
    assert kubernetes_service_ip("10.43.0.0/16") == "10.43.0.1"
    assert dns_service_ip("10.43.0.0/16") == "10.43.0.10"
    assert dns_service_ip("10.96.0.0/12") == "10.96.0.10"
    with pytest.raises(ValueError):
        indexed_ip("10.0.0.0/29", 10)


def test_kubernetes_service_as_kube_apiserver_makes_it() -> None:
    svc = kubernetes_service("10.43.0.0/16", 6443)
    assert svc["spec"]["clusterIP"] == "10.43.0.1" and "selector" not in svc["spec"]
    assert svc["spec"]["ports"] == [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 6443}]
    assert svc["metadata"]["labels"] == {"provider": "kubernetes", "component": "apiserver"}
    changed = {"spec": {"type": "ClusterIP", "ports": [{**svc["spec"]["ports"][0], "port": 8443}]}}
    assert _needs_reset(changed, svc) and not _needs_reset(svc, svc)
    dns = kube_dns_service("10.43.0.0/16")
    assert dns["metadata"]["namespace"] == "kube-system" and dns["spec"]["clusterIP"] == "10.43.0.10"
    assert [(p["name"], p["protocol"], p["port"]) for p in dns["spec"]["ports"]] == [
        ("dns", "UDP", 53), ("dns-tcp", "TCP", 53)]
    assert "kubernetes.default.svc.cluster.local" in in_cluster_names("10.43.0.0/16")
    assert "10.43.0.1" in in_cluster_names("10.43.0.0/16")


def test_endpoints_and_slice_list_every_server() -> None:
    ep = endpoints_body(["192.0.2.2", "192.0.2.3"], 6443)
    assert ep["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert ep["subsets"] == [{"ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
                              "addresses": [{"ip": "192.0.2.2"}, {"ip": "192.0.2.3"}]}]
    es = slice_body(["192.0.2.2"], 6443)
    assert es["metadata"]["name"] == "kubernetes"
    assert es["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert es["endpoints"] == [{"addresses": ["192.0.2.2"], "conditions": {"ready": True}}]


async def test_leases_expire_and_are_shared(tmp_path: object) -> None:
    now = [1000.0]
    store = SqliteStore(str(tmp_path) + "/state.db")  # type: ignore[operator]
    await store.start()
    try:
        one, two = StoreLeases(store, lambda: now[0]), StoreLeases(store, lambda: now[0])
        await one.renew("192.0.2.2", 15)
        await two.renew("192.0.2.3", 15)
        assert await one.current() == ["192.0.2.2", "192.0.2.3"]
        now[0] += 10
        await one.renew("192.0.2.2", 15)
        now[0] += 10  # the second server stopped renewing
        assert await two.current() == ["192.0.2.2"]
        await one.remove("192.0.2.2")
        assert await two.current() == []
    finally:
        await store.close()


def test_advertised_address() -> None:
    table = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
             "eth0\t0002000C\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
             "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n")
    assert default_gateway(table) == "192.0.2.1"
    assert default_gateway(table.splitlines()[0]) == ""
    assert advertise_address("198.51.100.7", "0.0.0.0") == "198.51.100.7"
    assert advertise_address("", "127.0.0.1") == "127.0.0.1"
