"""What a pod's spec asks of this node, read as plain functions.

The sandbox it wants (namespaces, host ports, DNS), the image pull policy Kubernetes defaults to,
whether an exited container restarts, and the pod as `fieldRef`s see it. No state, no I/O beyond
reading the node's resolv.conf.
"""

from __future__ import annotations

import socket
from typing import Any

from kubelite.dns import pod_dns_settings
from kubelite.dns.resolvconf import DnsSettings, parse_resolv_conf
from kubelite.kubelet.runtime_service import SandboxSpec
from kubelite.runtime.images import ImageError, parse_reference


def default_pull_policy(image: str) -> str:
    """Kubernetes' defaulting: `:latest` or no tag means Always, otherwise IfNotPresent."""
    try:
        ref = parse_reference(image)
    except (ValueError, ImageError):
        return "IfNotPresent"
    if ref.digest:
        return "IfNotPresent"
    return "Always" if (ref.tag or "latest") == "latest" else "IfNotPresent"


def should_restart(policy: str, exit_code: int | None) -> bool:
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return exit_code != 0
    return False


def pod_hostname(pod: dict[str, Any]) -> str:
    """The pod's hostname (kubelet's GeneratePodHostNameAndDomain): `spec.hostname`, else its
    name cut to 63 characters without a trailing '-' or '.'."""
    spec = pod.get("spec") or {}
    return spec.get("hostname") or pod["metadata"]["name"][:63].rstrip("-.")


def hostname_env(pod: dict[str, Any]) -> str:
    """HOSTNAME as the container runtime sets it (containerd's CRI): the pod's hostname, the
    node's for hostNetwork pods; the image's and the container's env override it."""
    if (pod.get("spec") or {}).get("hostNetwork"):
        return socket.gethostname()
    return pod_hostname(pod)


def sandbox_spec(pod: dict[str, Any], cluster_dns: list[str], cluster_domain: str
                 ) -> SandboxSpec:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    ns = meta.get("namespace") or "default"
    ports = [
        {"hostPort": p["hostPort"], "containerPort": p["containerPort"],
         "protocol": (p.get("protocol") or "TCP").lower(), "hostIP": p.get("hostIP", "")}
        for c in spec.get("containers") or [] for p in c.get("ports") or [] if p.get("hostPort")
    ]
    dns = pod_dns_settings(pod, cluster_dns[0] if cluster_dns else None, cluster_domain,
                           parse_resolv_conf_file())
    return SandboxSpec(
        pod_uid=meta["uid"], namespace=ns, name=meta["name"],
        hostname=pod_hostname(pod),
        host_network=bool(spec.get("hostNetwork")), host_ipc=bool(spec.get("hostIPC")),
        host_pid=bool(spec.get("hostPID")),
        share_process_namespace=bool(spec.get("shareProcessNamespace")),
        subdomain=spec.get("subdomain") or "", port_mappings=ports,
        host_aliases=list(spec.get("hostAliases") or []),
        dns_servers=dns.nameservers, dns_searches=dns.searches, dns_options=dns.options,
    )


def parse_resolv_conf_file(path: str = "/etc/resolv.conf") -> DnsSettings:
    """The node's resolv.conf (what dnsPolicy Default gives a pod)."""
    try:
        with open(path) as f:
            return parse_resolv_conf(f.read())
    except OSError:
        return DnsSettings()


def needs_pod_ip(pod: dict[str, Any]) -> bool:
    """Whether a container's env reads status.podIP(s): then its config waits for CNI."""
    spec = pod.get("spec") or {}
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for e in c.get("env") or []:
            field = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath", "")
            if field in ("status.podIP", "status.podIPs"):
                return True
    return False


def pod_with_ips(pod: dict[str, Any], pod_ip: str, host_ip: str) -> dict[str, Any]:
    """The pod as fieldRefs see it: status.podIP and hostIP filled in already."""
    status = dict(pod.get("status") or {})
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    status["hostIP"] = host_ip
    status["hostIPs"] = [{"ip": host_ip}]
    return {**pod, "status": status}
