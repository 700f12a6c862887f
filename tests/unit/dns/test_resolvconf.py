"""resolv.conf per dnsPolicy and dnsConfig, and /etc/hosts, as the kubelet writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubelite.api.types.core_v1 import Pod, PodSpec
from kubelite.api.types.meta_v1 import ObjectMeta
from kubelite.dns.resolvconf import hosts_file, resolv_conf

HOST = "nameserver 10.255.255.53\nnameserver 10.255.255.54\nsearch corp.example\noptions timeout:2\n"


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"containers": [], **spec}}


def host_file(tmp_path: Path) -> str:
    path = tmp_path / "resolv.conf"
    path.write_text(HOST)
    return str(path)


def test_cluster_first(tmp_path: Path) -> None:
    text = resolv_conf(pod(), "10.96.0.10", "cluster.local", host_file(tmp_path))
    assert text == ("nameserver 10.96.0.10\n"
                    "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
                    "options ndots:5\n")


def test_default_and_host_network_use_the_host(tmp_path: Path) -> None:
    expected = "nameserver 10.255.255.53\nnameserver 10.255.255.54\nsearch corp.example\noptions timeout:2\n"
    assert resolv_conf(pod(dnsPolicy="Default"), "10.96.0.10", host_resolv_conf=host_file(tmp_path)) == expected
    assert resolv_conf(pod(hostNetwork=True), "10.96.0.10", host_resolv_conf=host_file(tmp_path)) == expected
    with_net = resolv_conf(pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"), "10.96.0.10",
                           host_resolv_conf=host_file(tmp_path))
    assert with_net.startswith("nameserver 10.96.0.10\n")


def test_none_with_dns_config_and_merged_options(tmp_path: Path) -> None:
    config = {"nameservers": ["1.2.3.4"], "searches": ["ns1.svc.cluster-domain.example", "my.dns.search.suffix"],
              "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}
    text = resolv_conf(pod(dnsPolicy="None", dnsConfig=config), "10.96.0.10", host_resolv_conf=host_file(tmp_path))
    assert text == ("nameserver 1.2.3.4\nsearch ns1.svc.cluster-domain.example my.dns.search.suffix\n"
                    "options ndots:2 edns0\n")
    merged = resolv_conf(pod(dnsConfig={"options": [{"name": "ndots", "value": "1"}]}), "10.96.0.10",
                         host_resolv_conf=host_file(tmp_path))
    assert merged.endswith("options ndots:1\n")


def test_accepts_a_pod_struct(tmp_path: Path) -> None:
    struct_pod = Pod(metadata=ObjectMeta(name="web", namespace="shop"), spec=PodSpec(containers=[]))
    assert "search shop.svc.cluster.local" in resolv_conf(struct_pod, "10.96.0.10", host_resolv_conf=host_file(tmp_path))


def test_hosts_file() -> None:
    text = hosts_file(pod(hostAliases=[{"ip": "1.2.3.4", "hostnames": ["foo.local", "bar.local"]}]), ["10.244.0.5"])
    lines = text.splitlines()
    assert lines[0] == "# Kubernetes-managed hosts file." and lines[1] == "127.0.0.1\tlocalhost"
    assert "10.244.0.5\tweb" in lines
    assert lines[-2:] == ["# Entries added by HostAliases.", "1.2.3.4\tfoo.local\tbar.local"]
    sub = hosts_file(pod(hostname="db-0", subdomain="db"), ["10.244.0.6"])
    assert "10.244.0.6\tdb-0.db.shop.svc.cluster.local\tdb-0" in sub.splitlines()
