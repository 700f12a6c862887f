"""ServiceLB and the Ingress addresses: which nodes' addresses a LoadBalancer Service or an
Ingress gets (Ready nodes, ExternalIP before InternalIP, Local policy: nodes with endpoints)."""

from __future__ import annotations

from typing import Any

from kubelite.controllers.loadbalancer import current_ips, node_addresses
from kubelite.controllers.servicelb import handled, wanted_ips

Obj = dict[str, Any]


def node(name: str, internal: str, external: str = "", ready: bool = True) -> Obj:
    addresses = [{"type": "InternalIP", "address": internal}, {"type": "Hostname", "address": name}]
    if external:
        addresses.append({"type": "ExternalIP", "address": external})
    return {"metadata": {"name": name}, "status": {"addresses": addresses, "conditions": [
        {"type": "Ready", "status": "True" if ready else "Unknown"}]}}


NODES = [node("b", "10.0.0.12"), node("a", "10.0.0.9"), node("c", "10.0.0.13", external="203.0.113.5"),
         node("down", "10.0.0.14", ready=False)]


def lb(**spec: Any) -> Obj:
    return {"metadata": {"namespace": "default", "name": "web"}, "spec": {"type": "LoadBalancer", **spec}}


def test_ready_nodes_external_address_first_in_ip_order() -> None:
    assert node_addresses(NODES) == ["10.0.0.9", "10.0.0.12", "203.0.113.5"]
    assert node_addresses(NODES, {"a", "down"}) == ["10.0.0.9"]


def test_load_balancers_without_a_class_get_every_ready_node() -> None:
    assert handled(lb()) and not handled(lb(loadBalancerClass="example.com/lb"))
    assert not handled({"spec": {"type": "NodePort"}})
    assert wanted_ips(lb(), NODES, []) == ["10.0.0.9", "10.0.0.12", "203.0.113.5"]
    assert wanted_ips({"spec": {"type": "ClusterIP"}}, NODES, []) == []


def test_local_policy_only_nodes_with_ready_endpoints() -> None:
    slices = [{"endpoints": [{"addresses": ["10.42.0.2"], "nodeName": "b", "conditions": {"ready": True}},
                             {"addresses": ["10.42.1.2"], "nodeName": "a", "conditions": {"ready": False}}]}]
    assert wanted_ips(lb(externalTrafficPolicy="Local"), NODES, slices) == ["10.0.0.12"]


def test_current_ips_reads_the_status() -> None:
    assert current_ips({"status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4", "ipMode": "VIP"}]}}}) == ["1.2.3.4"]
    assert current_ips({"status": {"loadBalancer": {}}}) == []


def test_ingress_addresses_only_of_nodes_serving_ingresses() -> None:
    serving = node("d", "10.0.0.20")
    serving["metadata"]["annotations"] = {"kubelite.io/ingress-ports": "80,443"}
    assert node_addresses([*NODES, serving], annotated="kubelite.io/ingress-ports") == ["10.0.0.20"]
