"""NetworkPolicy compilation: policies + pods + namespaces into the rules and nft text one node
enforces (network/policy/model.py, ruleset.py); the text is checked by `nft -c`."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from kubelite.network.policy import compile_rules, dns_pod, pod_info, render
from kubelite.network.policy.model import Compiled, PodInfo
from kubelite.network.policy.ruleset import transaction
from kubelite.proxy import nft

NODE = "n1"
NAMESPACES = {"prod": {"kubernetes.io/metadata.name": "prod", "env": "prod"},
              "dev": {"kubernetes.io/metadata.name": "dev", "team": "x"},
              "kube-system": {"kubernetes.io/metadata.name": "kube-system"}}


def pod(name: str, ns: str, ip: str, node: str = NODE, ports: list[dict[str, Any]] | None = None,
        **labels: str) -> PodInfo:
    obj = {"metadata": {"name": name, "namespace": ns, "uid": name, "labels": labels},
           "spec": {"nodeName": node, "containers": [{"name": "c", "ports": ports or []}]},
           "status": {"podIP": ip, "phase": "Running"}}
    info = pod_info(obj, NODE)
    assert info is not None
    return info


WEB = pod("web", "prod", "10.42.0.5", ports=[{"name": "http", "containerPort": 8080}], app="web")
DB = pod("db", "prod", "10.42.0.6", app="db")
REMOTE = pod("cli", "dev", "10.42.1.7", node="n2", app="cli")
OTHER = pod("other", "prod", "10.42.1.8", node="n2", app="other",
            ports=[{"name": "http", "containerPort": 9090}])
PODS = [WEB, DB, REMOTE, OTHER, dns_pod("10.42.0.1")]


def policy(name: str, spec: dict[str, Any], ns: str = "prod") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"podSelector": {}, **spec}}


def compiled(*policies: dict[str, Any]) -> Compiled:
    return compile_rules(policies, PODS, NAMESPACES)


def nets(*cidrs: str) -> tuple[ipaddress.IPv4Network, ...]:
    return tuple(ipaddress.IPv4Network(c) for c in cidrs)


def test_pods_without_policy_use_or_finished_are_left_out() -> None:
    host = {"metadata": {"namespace": "a"}, "spec": {"hostNetwork": True}, "status": {"podIP": "192.0.2.1"}}
    done = {"metadata": {"namespace": "a"}, "spec": {}, "status": {"podIP": "10.42.0.9", "phase": "Succeeded"}}
    pending = {"metadata": {"namespace": "a"}, "spec": {}, "status": {}}
    assert [pod_info(p, NODE) for p in (host, done, pending)] == [None, None, None]
    assert compiled() == Compiled()


def test_default_deny_isolates_only_this_nodes_pods_of_the_namespace() -> None:
    c = compiled(policy("deny", {"policyTypes": ["Ingress", "Egress"]}))
    assert c.ingress_isolated == {"10.42.0.5", "10.42.0.6"}  # OTHER runs on n2: n2 protects it
    assert c.egress_isolated == {"10.42.0.5", "10.42.0.6"}
    assert c.rules == []


def test_ingress_from_pods_and_namespaces_union_and_intersection() -> None:
    c = compiled(policy("allow", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [
        {"from": [{"podSelector": {"matchLabels": {"app": "db"}}}]},  # same namespace only
        {"from": [{"namespaceSelector": {"matchLabels": {"team": "x"}}}]},
        {"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "other"}}}]}]}))
    assert c.ingress_isolated == {"10.42.0.5"} and c.egress_isolated == set()
    assert [(r.targets, r.peers) for r in c.rules] == [
        (frozenset({"10.42.0.5"}), nets("10.42.0.6/32")),
        (frozenset({"10.42.0.5"}), nets("10.42.1.7/32")),
        (frozenset({"10.42.0.5"}), nets("10.42.1.8/32"))]
    assert all(r.any_port for r in c.rules)


def test_ports_ranges_protocols_and_named_ports_per_destination() -> None:
    c = compiled(policy("ports", {"ingress": [{"ports": [
        {"port": 80, "protocol": "TCP"}, {"port": 9000, "endPort": 9100, "protocol": "TCP"},
        {"protocol": "UDP"}, {"port": "http", "protocol": "TCP"}]}]}))
    [rule] = c.rules
    assert rule.peers is None and not rule.any_port
    assert rule.ports == (("tcp", 80, 80), ("tcp", 9000, 9100), ("udp", 0, 0))
    assert rule.named == {("10.42.0.5", "tcp", 8080)}  # web's http; db has none
    egress = compiled(policy("out", {"policyTypes": ["Egress"], "egress": [
        {"to": [{"podSelector": {}}], "ports": [{"port": "http", "protocol": "TCP"}]}]}))
    assert egress.rules[0].named == {("10.42.0.5", "tcp", 8080), ("10.42.1.8", "tcp", 9090)}
    none = compiled(policy("nothing", {"ingress": [{"ports": [{"port": "nope", "protocol": "TCP"}]}]}))
    assert none.rules == [] and none.ingress_isolated == {"10.42.0.5", "10.42.0.6"}


def test_ip_block_except_becomes_disjoint_networks() -> None:
    c = compiled(policy("cidr", {"ingress": [{"from": [
        {"ipBlock": {"cidr": "192.168.0.0/22", "except": ["192.168.1.0/24"]}},
        {"ipBlock": {"cidr": "192.168.2.0/24"}}]}]}))
    assert c.rules[0].peers == nets("192.168.0.0/24", "192.168.2.0/23")


def test_dns_egress_to_kube_dns_reaches_the_node_local_server() -> None:
    c = compiled(policy("dns", {"policyTypes": ["Egress"], "egress": [{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": "dns-tcp", "protocol": "TCP"}]}]}))
    [rule] = c.rules
    assert rule.peers == nets("10.42.0.1/32")
    assert rule.named == {("10.42.0.1", "tcp", 53)}
    assert "10.42.0.1" not in c.egress_isolated | c.ingress_isolated


def test_rendered_text_keys_sets_by_pod_address() -> None:
    c = compiled(policy("deny", {"policyTypes": ["Ingress", "Egress"]}),
                 policy("web", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{
                     "from": [{"namespaceSelector": {"matchLabels": {"team": "x"}}}],
                     "ports": [{"port": "http", "protocol": "TCP"}, {"port": 81, "protocol": "TCP"}]}]}))
    text = render("kubelite_t_pol", c, "klt0")
    assert "elements = { 10.42.0.5, 10.42.0.6 }" in text
    assert "ip daddr @i0-pods ip saddr @i0-peers meta l4proto tcp th dport { 81 } return" in text
    assert "ip daddr @i0-pods ip daddr . meta l4proto . th dport @i0-named ip saddr @i0-peers return" in text
    assert 'oifname "klt0" ip daddr @ingress-isolated jump ingress' in text
    assert 'iifname "klt0" ip saddr @egress-isolated jump egress' in text


@pytest.mark.root
async def test_nft_accepts_every_shape() -> None:
    c = compiled(
        policy("deny", {"policyTypes": ["Ingress", "Egress"]}),
        policy("all", {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.42.0.0/16"]}},
                                            {"namespaceSelector": {}}],
                                   "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"},
                                             {"port": 1, "endPort": 1024, "protocol": "SCTP"},
                                             {"port": "http", "protocol": "TCP"}]}],
                       "egress": [{}, {"to": [{"podSelector": {}}], "ports": [{"port": "http", "protocol": "TCP"}]}]}))
    await nft.check(transaction("kubelite_t_pol", render("kubelite_t_pol", c, "klt0")))
    await nft.check(transaction("kubelite_t_pol", render("kubelite_t_pol", Compiled(), "klt0")))
