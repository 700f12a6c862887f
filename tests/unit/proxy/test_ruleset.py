"""From Services and EndpointSlices to an nftables table: the model, the text, and real nft."""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import pytest

from kubelite.proxy import nft
from kubelite.proxy.model import Endpoint, ServicePort, cluster_model
from kubelite.proxy.proxier import ServiceProxy
from kubelite.proxy.ruleset import Scope, render, transaction

Obj = dict[str, Any]


def service(name: str = "web", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.20", "type": "ClusterIP",
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP"},
                               {"name": "dns", "port": 53, "protocol": "UDP"}], **spec}}


def endpoint_slice(service_name: str, endpoints: list[tuple[str, bool, bool, bool]]) -> Obj:
    return {"metadata": {"name": f"{service_name}-abcde", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "dns", "port": 5353, "protocol": "UDP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": r, "serving": s, "terminating": t}}
                          for ip, r, s, t in endpoints]}


def test_model_takes_only_ready_endpoints_with_their_target_ports() -> None:
    es = endpoint_slice("web", [("10.244.0.3", True, True, False), ("10.244.0.2", True, True, False),
                                ("10.244.0.4", False, False, False), ("10.244.0.5", False, True, True)])
    ports = cluster_model([service()], [es])
    by_proto = {p.protocol: p for p in ports}
    assert by_proto["TCP"].endpoints == (Endpoint("10.244.0.2", 8080), Endpoint("10.244.0.3", 8080))
    assert by_proto["UDP"].endpoints == (Endpoint("10.244.0.2", 5353), Endpoint("10.244.0.3", 5353))
    assert by_proto["TCP"].cluster_ip == "10.96.0.20" and by_proto["TCP"].port == 80


def test_model_falls_back_to_serving_terminating_and_skips_headless() -> None:
    es = endpoint_slice("web", [("10.244.0.5", False, True, True), ("10.244.0.6", False, False, True)])
    tcp = [p for p in cluster_model([service()], [es]) if p.protocol == "TCP"][0]
    assert tcp.endpoints == (Endpoint("10.244.0.5", 8080),)
    assert cluster_model([service(clusterIP="None")], [es]) == []
    assert cluster_model([service(type="ExternalName", clusterIP="")], []) == []


def test_model_reads_affinity_and_node_port() -> None:
    svc = service(type="NodePort", sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    svc["spec"]["ports"][0]["nodePort"] = 30080
    tcp = [p for p in cluster_model([svc], []) if p.protocol == "TCP"][0]
    assert tcp.node_port == 30080 and tcp.affinity_timeout == 60


def port(endpoints: tuple[Endpoint, ...], **kw: Any) -> ServicePort:
    base: dict[str, Any] = {"namespace": "default", "name": "web", "port_name": "http", "protocol": "TCP",
                            "cluster_ip": "10.96.0.20", "port": 80, "endpoints": endpoints}
    return ServicePort(**{**base, **kw})


TWO = (Endpoint("10.244.0.2", 8080), Endpoint("10.244.0.3", 8080))


def test_render_balances_with_numgen_and_dnats_each_endpoint() -> None:
    rs = render("kl_test", [port(TWO)])
    text = rs.text
    svc_chain = f"svc-{port(TWO).id}"
    assert f"ip daddr 10.96.0.20 tcp dport 80 goto {svc_chain}" in text
    assert f"numgen random mod 2 vmap {{ 0 : goto ep-{port(TWO).id}-0, 1 : goto ep-{port(TWO).id}-1 }}" in text
    assert "meta l4proto tcp dnat to 10.244.0.2:8080" in text and "dnat to 10.244.0.3:8080" in text
    assert "ip saddr 10.244.0.2 jump mark-for-masquerade" in text  # hairpin
    assert "meta mark & 0x4000 == 0x4000 masquerade" in text
    assert svc_chain in rs.chains and not rs.sets


def test_render_rejects_services_without_endpoints_and_handles_node_ports_and_affinity() -> None:
    empty = port((), name="empty", cluster_ip="10.96.0.30", node_port=30081)
    sticky = port(TWO, node_port=30080, affinity_timeout=60)
    rs = render("kl_test", [empty, sticky], cluster_cidr="10.244.0.0/16")
    text = rs.text
    assert "ip daddr 10.96.0.30 tcp dport 80 reject" in text
    assert "fib daddr type local tcp dport 30081 reject" in text  # 127.0.0.1 too
    assert f"fib daddr type local tcp dport 30080 goto ext-{sticky.id}" in text
    assert "ip saddr != 10.244.0.0/16 jump mark-for-masquerade" in text
    assert len(rs.sets) == 2 and "timeout 60s" in text
    aff = sorted(rs.sets)[0]
    assert f"ip saddr @{aff} goto ep-{sticky.id}-0" in text and f"update @{aff} {{ ip saddr }}" in text


async def test_nft_accepts_the_script() -> None:
    rs = render("kl_check", [port(TWO, node_port=30080, affinity_timeout=30),
                             port((), name="none", cluster_ip="10.96.0.31", protocol="UDP", port_name="dns")])
    await nft.check(transaction(rs, None))
    await nft.check(transaction(rs, rs))


@pytest.fixture
def table() -> Any:
    name = f"kltest_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        subprocess.run(["nft", "delete", "table", "ip", name], capture_output=True)


async def test_resync_keeps_affinity_elements_and_drops_stale_chains(table: str) -> None:
    first = render(table, [port(TWO, affinity_timeout=300)])
    await nft.run_nft(transaction(first, None))
    aff = sorted(first.sets)[0]
    subprocess.run(["nft", "add", "element", "ip", table, aff, "{ 192.0.2.7 }"], check=True)
    second = render(table, [port(TWO[:1], affinity_timeout=300)])
    await nft.run_nft(transaction(second, first))
    listing = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True, check=True).stdout
    assert "192.0.2.7" in listing
    assert f"ep-{port(TWO).id}-1" not in listing and "10.244.0.3" not in listing
    await nft.delete_table(table)
    gone = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True)
    assert gone.returncode != 0


def test_rules_match_only_this_clusters_traffic() -> None:
    scope = Scope(pod_interface="kl-abc", service_cidr="10.43.0.0/16",
                  node_ips=("192.0.2.10", "10.244.0.1"))
    sticky = port(TWO, node_port=30080)
    empty = port((), name="empty", cluster_ip="10.43.0.30", node_port=30081)
    text = render("kl_test", [sticky, empty], scope=scope).text
    assert 'iifname "kl-abc" jump services' in text  # pods of this cluster only
    assert "ip daddr 10.43.0.0/16 jump services" in text  # the node, to our service CIDR
    assert f"ip daddr {{ 192.0.2.10, 10.244.0.1 }} tcp dport 30080 goto ext-{sticky.id}" in text
    assert "ip daddr { 192.0.2.10, 10.244.0.1 } tcp dport 30081 reject" in text
    assert "fib daddr type local" not in text  # not every local address of the machine
    assert 'iifname != "kl-abc" return' in text and "ip daddr != 10.43.0.0/16 return" in text
    unscoped = render("kl_test", [sticky]).text
    assert "\t\tjump services" in unscoped


async def test_nft_accepts_the_scoped_script() -> None:
    scope = Scope(pod_interface="kl-abc", service_cidr="10.43.0.0/16", node_ips=("192.0.2.10",))
    rs = render("kl_check", [port(TWO, node_port=30080, affinity_timeout=30),
                             port((), name="none", cluster_ip="10.43.0.31", protocol="UDP",
                                  port_name="dns", node_port=30082)], scope=scope)
    await nft.check(transaction(rs, None))


class _NoApi:
    """The proxy's informers are never started here."""


async def test_stopping_the_proxy_leaves_its_rules(table: str) -> None:
    proxy = ServiceProxy(_NoApi(), table, service_cidr="10.43.0.0/16")  # type: ignore[arg-type]
    assert await proxy.sync()
    await proxy.stop()
    listing = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr  # kube-proxy leaves its rules in place
    await nft.delete_table(table)  # what `kubelite agent --cleanup` does
    assert subprocess.run(["nft", "list", "table", "ip", table], capture_output=True).returncode != 0


def test_node_ports_on_loopback_guard_localnet() -> None:
    """Every local address (127.0.0.1 included) by default, and then only NAT replies may reach
    127.0.0.0/8 from another interface; an explicit address list without loopback needs no guard."""
    text = render("kl_test", [port(TWO, node_port=30080)]).text
    assert 'iifname != "lo" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop' in text
    assert Scope().loopback_node_ports and Scope(node_ips=("127.0.0.1", "10.0.0.1")).loopback_node_ports
    scoped = render("kl_test", [port(TWO, node_port=30080)], scope=Scope(node_ips=("192.0.2.1",))).text
    assert "127.0.0.0/8" not in scoped


HERE, THERE = Endpoint("10.244.0.2", 8080, "node-a"), Endpoint("10.244.1.3", 8080, "node-b")


def test_model_reads_traffic_policies_and_endpoint_nodes() -> None:
    svc = service(type="NodePort", externalTrafficPolicy="Local", internalTrafficPolicy="Local")
    es = endpoint_slice("web", [("10.244.0.2", True, True, False)])
    es["endpoints"][0]["nodeName"] = "node-a"
    tcp = [p for p in cluster_model([svc], [es]) if p.protocol == "TCP"][0]
    assert tcp.internal_local and tcp.external_local
    assert tcp.endpoints == (HERE,)


def test_internal_traffic_policy_local_uses_only_this_nodes_endpoints() -> None:
    p = port((HERE, THERE), internal_local=True)
    text = render("kl_test", [p], cluster_cidr="10.244.0.0/16", scope=Scope(node_name="node-a")).text
    assert f"ip daddr 10.96.0.20 tcp dport 80 goto local-{p.id}" in text
    assert f"numgen random mod 1 vmap {{ 0 : goto ep-{p.id}-0 }}" in text  # here only
    assert "ip daddr 10.96.0.20 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade" in text
    elsewhere = render("kl_test", [p], scope=Scope(node_name="node-c")).text
    assert "ip daddr 10.96.0.20 tcp dport 80 drop" in elsewhere  # kube-proxy drops, not rejects
    assert f"goto local-{p.id}" not in elsewhere


def test_external_traffic_policy_local_keeps_the_client_address() -> None:
    p = port((HERE, THERE), node_port=30080, external_local=True)
    text = render("kl_test", [p], cluster_cidr="10.244.0.0/16", scope=Scope(node_name="node-a")).text
    ext = text.split(f"chain ext-{p.id} {{")[1].split("}")[0]
    assert ext.split("\n")[1:-1] == [
        f"\t\tip saddr 10.244.0.0/16 goto svc-{p.id}",  # pods of this node: any endpoint
        "\t\tfib saddr type local jump mark-for-masquerade",  # the node itself (127.0.0.1 too)
        f"\t\tfib saddr type local goto svc-{p.id}",
        f"\t\tgoto local-{p.id}"]  # from outside: no masquerade, this node's endpoints
    local = text.split(f"chain local-{p.id} {{")[1].split("}")[0]
    assert "mark-for-masquerade" not in local and "mod 1" in local
    assert f"ip daddr 10.96.0.20 tcp dport 80 goto svc-{p.id}" in text  # ClusterIP: any endpoint
    far = render("kl_test", [p], scope=Scope(node_name="node-c")).text
    assert far.split(f"chain ext-{p.id} {{")[1].split("}")[0].strip().endswith("drop")


async def test_nft_accepts_traffic_policy_scripts() -> None:
    ports = [port((HERE, THERE), node_port=30080, external_local=True, internal_local=True,
                  affinity_timeout=30),
             port((THERE,), name="far", cluster_ip="10.96.0.21", node_port=30081,
                  external_local=True, internal_local=True)]
    rs = render("kl_check", ports, cluster_cidr="10.244.0.0/16", scope=Scope(node_name="node-a"))
    await nft.check(transaction(rs, None))


def test_model_marks_load_balancers_without_a_class() -> None:
    plain, = [p for p in cluster_model([service(type="LoadBalancer")], []) if p.protocol == "TCP"]
    assert plain.load_balancer
    other, = [p for p in cluster_model([service(type="LoadBalancer", loadBalancerClass="example.com/lb")], [])
              if p.protocol == "TCP"]
    assert not other.load_balancer  # another implementation's
    assert not any(p.load_balancer for p in cluster_model([service(type="NodePort")], []))


def test_load_balancer_ports_answer_on_node_addresses() -> None:
    lb = port(TWO, load_balancer=True)  # allocateLoadBalancerNodePorts: false, no NodePort
    text = render("kl_test", [lb], scope=Scope(node_ips=("192.0.2.1",))).text
    lbs = text.split("chain load-balancers {")[1].split("\t}")[0]
    assert f"ip daddr {{ 192.0.2.1 }} tcp dport 80 goto ext-{lb.id}" in lbs
    assert f"chain ext-{lb.id} {{" in text and "jump load-balancers" in text
    both = port(TWO, load_balancer=True, node_port=30080)
    text = render("kl_test", [both]).text
    assert f"fib daddr type local tcp dport 80 goto ext-{both.id}" in text
    assert f"fib daddr type local tcp dport 30080 goto ext-{both.id}" in text
    empty = render("kl_test", [port((), load_balancer=True)]).text
    assert "fib daddr type local tcp dport 80 reject" in empty.split("chain filter-input {")[1]


async def test_nft_accepts_load_balancer_scripts() -> None:
    ports = [port((HERE, THERE), load_balancer=True, node_port=30080, external_local=True),
             port((), name="none", cluster_ip="10.96.0.31", load_balancer=True)]
    rs = render("kl_check", ports, cluster_cidr="10.244.0.0/16", scope=Scope(node_name="node-a"))
    await nft.check(transaction(rs, None))
