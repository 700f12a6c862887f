"""Cluster DNS: `NAME.NAMESPACE.svc.cluster.local` for pods, and their resolv.conf and hosts."""

from kubelite.dns.cluster_dns import ClusterDns
from kubelite.dns.records import ClusterRecords
from kubelite.dns.resolvconf import hosts_file, pod_dns_settings, resolv_conf
from kubelite.dns.server import DnsHandler, DnsServer

__all__ = ["ClusterDns", "ClusterRecords", "DnsHandler", "DnsServer", "hosts_file", "pod_dns_settings",
           "resolv_conf"]
