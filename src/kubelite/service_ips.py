"""Well-known addresses of a service range, shared by the API server and the node agent.

The `kubernetes` Service takes the first address of the range (kube-apiserver's
`GetIndexedIP(serviceCIDR, 1)`), cluster DNS the tenth (kubeadm's `--cluster-dns` default,
also k3s'). Imports nothing of kubelite.
"""

from __future__ import annotations

import ipaddress

KUBERNETES_INDEX = 1
DNS_INDEX = 10


def indexed_ip(cidr: str, index: int) -> str:
    """The `index`-th address of `cidr` (0 is the network address)."""
    network = ipaddress.ip_network(cidr, strict=False)
    if index >= network.num_addresses - 1:
        raise ValueError(f"service range {cidr} has no address number {index}")
    return str(network.network_address + index)


def kubernetes_service_ip(cidr: str) -> str:
    return indexed_ip(cidr, KUBERNETES_INDEX)


def dns_service_ip(cidr: str) -> str:
    return indexed_ip(cidr, DNS_INDEX)
