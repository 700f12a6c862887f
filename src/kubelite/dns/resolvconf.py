"""A pod's /etc/resolv.conf and /etc/hosts, as the kubelet writes them (pkg/kubelet/network/dns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
CLUSTER_OPTIONS = ["ndots:5"]


@dataclass
class DnsSettings:
    nameservers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def parse_resolv_conf(text: str) -> DnsSettings:
    settings = DnsSettings()
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "nameserver" and len(words) > 1:
            settings.nameservers.append(words[1])
        elif words[0] in ("search", "domain"):
            settings.searches = words[1:]
        elif words[0] == "options":
            settings.options += words[1:]
    return settings


def _as_dict(pod: Any) -> dict[str, Any]:
    return pod if isinstance(pod, dict) else msgspec.to_builtins(pod)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _merge_options(base: list[str], extra: list[dict[str, Any]]) -> list[str]:
    merged: dict[str, str | None] = {}
    for option in base:
        name, sep, value = option.partition(":")
        merged[name] = value if sep else None
    for item in extra:
        if item.get("name"):
            merged[item["name"]] = item.get("value")
    return [name if value is None else f"{name}:{value}" for name, value in merged.items()]


def pod_dns_settings(pod: Any, cluster_dns_ip: str | None, cluster_domain: str = "cluster.local",
                     host: DnsSettings | None = None) -> DnsSettings:
    """The nameservers, searches and options a pod gets from its dnsPolicy and dnsConfig."""
    p = _as_dict(pod)
    spec = p.get("spec") or {}
    namespace = (p.get("metadata") or {}).get("namespace") or "default"
    host = host if host is not None else DnsSettings()
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and not cluster_dns_ip:
        policy = "Default"  # the kubelet falls back when no cluster DNS is configured
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        assert cluster_dns_ip is not None
        settings = DnsSettings(
            [cluster_dns_ip],
            [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain, *host.searches],
            list(CLUSTER_OPTIONS))
    elif policy == "None":
        settings = DnsSettings()
    else:
        settings = DnsSettings(list(host.nameservers), list(host.searches), list(host.options))
    config = spec.get("dnsConfig") or {}
    settings.nameservers = _unique(settings.nameservers + list(config.get("nameservers") or []))[:MAX_NAMESERVERS]
    settings.searches = _unique(settings.searches + list(config.get("searches") or []))[:MAX_SEARCHES]
    settings.options = _merge_options(settings.options, list(config.get("options") or []))
    return settings


def resolv_conf(pod: Any, cluster_dns_ip: str | None, cluster_domain: str = "cluster.local",
                host_resolv_conf: str = "/etc/resolv.conf") -> str:
    """The /etc/resolv.conf content for a pod (dnsPolicy ClusterFirst, Default, None + dnsConfig)."""
    try:
        host = parse_resolv_conf(Path(host_resolv_conf).read_text())
    except OSError:
        host = DnsSettings()
    settings = pod_dns_settings(pod, cluster_dns_ip, cluster_domain, host)
    lines = [f"nameserver {ns}" for ns in settings.nameservers]
    if settings.searches:
        lines.append("search " + " ".join(settings.searches))
    if settings.options:
        lines.append("options " + " ".join(settings.options))
    return "\n".join(lines) + "\n"


def hosts_file(pod: Any, pod_ips: list[str], cluster_domain: str = "cluster.local") -> str:
    """The /etc/hosts content for a pod: localhost, its own name and IPs, then hostAliases."""
    p = _as_dict(pod)
    spec = p.get("spec") or {}
    meta = p.get("metadata") or {}
    hostname = spec.get("hostname") or meta.get("name", "")
    lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost",
             "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet",
             "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    subdomain = spec.get("subdomain")
    for ip in pod_ips:
        if subdomain:
            fqdn = f"{hostname}.{subdomain}.{meta.get('namespace') or 'default'}.svc.{cluster_domain}"
            lines.append(f"{ip}\t{fqdn}\t{hostname}")
        else:
            lines.append(f"{ip}\t{hostname}")
    aliases = spec.get("hostAliases") or []
    if aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        for alias in aliases:
            lines.append(f"{alias['ip']}\t" + "\t".join(alias.get("hostnames") or []))
    return "\n".join(lines) + "\n"
