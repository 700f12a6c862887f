"""ClusterIP and NodePort allocation through the API server's generic object store."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver.admission import NamespaceLifecycle
from kubelite.apiserver.ipalloc import CLUSTER_IPS, NODE_PORTS, ServiceAllocator
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.store.sqlite import SqliteStore

SERVICES = by_resource("", "v1", "services")
NAMESPACES = by_resource("", "v1", "namespaces")
assert SERVICES is not None and NAMESPACES is not None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "state.db"))
    await s.start()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def make_objects(store: SqliteStore, clock: Clock, cidr: str = "10.96.0.0/24",
                       ports: str = "30000-30010") -> tuple[ObjectStore, ServiceAllocator]:
    alloc = ServiceAllocator(store, cidr, ports, clock=clock)
    objs = ObjectStore(store, admission=[NamespaceLifecycle(store), alloc],
                       after_delete=[alloc.after_delete])
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}
    await objs.create(NAMESPACES, None, ns, WriteOptions())
    return objs, alloc


def service(name: str, *, cluster_ip: str | None = None, type: str = "ClusterIP",
            ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": type, "selector": {"app": name},
                            "ports": ports or [{"port": 80, "protocol": "TCP"}]}
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


async def create(objs: ObjectStore, body: dict[str, Any]) -> dict[str, Any]:
    return (await objs.create(SERVICES, "default", body, WriteOptions())).obj


async def test_create_assigns_an_ip_from_the_range_with_families(store: SqliteStore, clock: Clock) -> None:
    objs, _ = await make_objects(store, clock)
    spec = (await create(objs, service("web")))["spec"]
    ip = ipaddress.IPv4Address(spec["clusterIP"])
    assert ip in ipaddress.IPv4Network("10.96.0.0/24")
    assert ip not in (ipaddress.IPv4Address("10.96.0.0"), ipaddress.IPv4Address("10.96.0.255"))
    assert int(ip) - int(ipaddress.IPv4Address("10.96.0.0")) > 16  # dynamic picks avoid the static band
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert (await store.get(CLUSTER_IPS + spec["clusterIP"])) is not None


async def test_distinct_ips_for_many_services(store: SqliteStore, clock: Clock) -> None:
    objs, _ = await make_objects(store, clock, cidr="10.96.0.0/27")  # 30 usable addresses
    ips = {(await create(objs, service(f"s{i}")))["spec"]["clusterIP"] for i in range(30)}
    assert len(ips) == 30
    with pytest.raises(st.InternalError) as err:
        await create(objs, service("one-too-many"))
    assert "failed to allocate a serviceIP: range is full" in err.value.message


async def test_requested_ip_taken_and_out_of_range_use_kubernetes_words(store: SqliteStore, clock: Clock) -> None:
    objs, _ = await make_objects(store, clock)
    assert (await create(objs, service("dns", cluster_ip="10.96.0.10")))["spec"]["clusterIP"] == "10.96.0.10"
    with pytest.raises(st.Invalid) as err:
        await create(objs, service("dns2", cluster_ip="10.96.0.10"))
    assert err.value.message == ('Service "dns2" is invalid: spec.clusterIPs: Invalid value: '
                                 '[]string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: '
                                 'provided IP is already allocated')
    assert err.value.details["causes"][0]["field"] == "spec.clusterIPs"
    with pytest.raises(st.Invalid) as err:
        await create(objs, service("far", cluster_ip="1.1.1.1"))
    assert err.value.message.endswith(
        "failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/24")


async def test_headless_and_external_name_get_no_ip(store: SqliteStore, clock: Clock) -> None:
    objs, _ = await make_objects(store, clock)
    headless = (await create(objs, service("db", cluster_ip="None")))["spec"]
    assert headless["clusterIP"] == "None" and headless["clusterIPs"] == ["None"]
    ext = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
           "spec": {"type": "ExternalName", "externalName": "example.com"}}
    spec = (await create(objs, ext))["spec"]
    assert "clusterIP" not in spec and "clusterIPs" not in spec
    assert (await store.list(CLUSTER_IPS)).items == []


async def test_update_keeps_the_ip_and_a_deleted_services_ip_is_reused(store: SqliteStore, clock: Clock) -> None:
    objs, alloc = await make_objects(store, clock)
    created = await create(objs, service("web", cluster_ip="10.96.0.20"))
    body = service("web")  # a PUT that leaves the allocated IP out keeps it
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    body["spec"]["clusterIP"] = "10.96.0.20"
    updated = (await objs.update(SERVICES, "default", "web", body, WriteOptions())).obj
    assert updated["spec"]["clusterIP"] == "10.96.0.20"
    await objs.delete(SERVICES, "default", "web", {}, WriteOptions())
    # the delete released it: free at once, within the grace window
    assert (await create(objs, service("web", cluster_ip="10.96.0.20")))["spec"]["clusterIP"] == "10.96.0.20"


async def test_delete_releases_and_repair_frees_leftovers(store: SqliteStore, clock: Clock) -> None:
    objs, alloc = await make_objects(store, clock)
    a = await create(objs, service("a", type="NodePort"))
    await create(objs, service("b"))
    await objs.delete(SERVICES, "default", "a", {}, WriteOptions())
    assert len((await store.list(CLUSTER_IPS)).items) == 1  # a's IP and node port went with it
    assert (await store.list(NODE_PORTS)).items == []
    assert await alloc.release("default", "a", a["metadata"]["uid"]) == 0
    clock.now += 60
    assert await alloc.repair() == 0  # b still holds its IP
    plain = ObjectStore(store)  # a delete that ran no hook (a server killed before releasing)
    await plain.delete(SERVICES, "default", "b", {}, WriteOptions())
    assert await alloc.repair() == 1
    assert (await store.list(CLUSTER_IPS)).items == [] and (await store.list(NODE_PORTS)).items == []


async def test_finalizer_delete_releases_when_the_service_is_removed(store: SqliteStore,
                                                                      clock: Clock) -> None:
    objs, _ = await make_objects(store, clock)
    body = service("kept", cluster_ip="10.96.0.30", type="NodePort",
                   ports=[{"port": 80, "protocol": "TCP", "nodePort": 30005}])
    body["metadata"]["finalizers"] = ["example.com/hold"]
    await create(objs, body)
    await objs.delete(SERVICES, "default", "kept", {}, WriteOptions())  # marked, still there
    assert len((await store.list(NODE_PORTS)).items) == 1
    await objs.patch(SERVICES, "default", "kept", "application/merge-patch+json",
                     {"metadata": {"finalizers": None}}, WriteOptions())
    again = service("kept", cluster_ip="10.96.0.30", type="NodePort",
                    ports=[{"port": 80, "protocol": "TCP", "nodePort": 30005}])
    created = await create(objs, again)
    assert (created["spec"]["clusterIP"], created["spec"]["ports"][0]["nodePort"]) == ("10.96.0.30", 30005)


async def test_state_survives_a_new_allocator(store: SqliteStore, clock: Clock) -> None:
    objs, _ = await make_objects(store, clock)
    await create(objs, service("dns", cluster_ip="10.96.0.10"))
    clock.now += 60
    fresh = ObjectStore(store, admission=[ServiceAllocator(store, "10.96.0.0/24", clock=clock)])
    with pytest.raises(st.Invalid):
        await create(fresh, service("dns2", cluster_ip="10.96.0.10"))


async def test_node_ports_assigned_shared_by_protocol_and_checked(store: SqliteStore, clock: Clock) -> None:
    objs, _ = await make_objects(store, clock)
    ports = [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
             {"name": "web", "port": 80, "protocol": "TCP", "nodePort": 30005}]
    spec = (await create(objs, service("np", type="NodePort", ports=ports)))["spec"]
    got = [p["nodePort"] for p in spec["ports"]]
    assert got[0] == got[1] and 30000 <= got[0] <= 30010 and got[2] == 30005
    with pytest.raises(st.Invalid) as err:
        await create(objs, service("np2", type="NodePort", ports=[{"port": 80, "protocol": "TCP", "nodePort": 30005}]))
    assert err.value.message == ('Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 30005: '
                                 "provided port is already allocated")
    with pytest.raises(st.Invalid) as err:
        await create(objs, service("np3", type="NodePort", ports=[{"port": 80, "protocol": "TCP", "nodePort": 8080}]))
    assert err.value.message.endswith("spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the "
                                      "valid range. The range of valid ports is 30000-30010")


async def test_type_change_to_node_port_allocates_and_keeps_ports(store: SqliteStore, clock: Clock) -> None:
    objs, _ = await make_objects(store, clock)
    created = await create(objs, service("web"))
    body = service("web", type="NodePort", cluster_ip=created["spec"]["clusterIP"])
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    updated = (await objs.update(SERVICES, "default", "web", body, WriteOptions())).obj
    node_port = updated["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 30010
    body = service("web", type="NodePort", cluster_ip=created["spec"]["clusterIP"])
    body["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]
    again = (await objs.update(SERVICES, "default", "web", body, WriteOptions())).obj
    assert again["spec"]["ports"][0]["nodePort"] == node_port


async def test_local_load_balancer_gets_a_health_check_node_port(store: SqliteStore, clock: Clock) -> None:
    objs, alloc = await make_objects(store, clock)
    body = service("lb", type="LoadBalancer")
    body["spec"]["externalTrafficPolicy"] = "Local"
    spec = (await create(objs, body))["spec"]
    check, node_port = spec["healthCheckNodePort"], spec["ports"][0]["nodePort"]
    assert 30000 <= check <= 30010 and check != node_port
    clock.now += 60
    assert await alloc.repair() == 0  # held by the Service: not stale
    cluster = service("lb2", type="LoadBalancer")
    assert "healthCheckNodePort" not in (await create(objs, cluster))["spec"]
