"""Fake addresses: each node an InternalIP, each node a pod range handing out unique pod IPs.

Node number i (1-based) gets InternalIP 172.16.0.0 + i and the pod block 10.128.0.0 + (i-1) *
block size, where a block holds at least `pods` addresses (a /24 or bigger). A pod range set by
the control plane (`spec.podCIDR`) replaces the fake block.
"""

from __future__ import annotations

import ipaddress

NODE_BASE = ipaddress.IPv4Address("172.16.0.0")
POD_BASE = ipaddress.IPv4Address("10.128.0.0")


def node_internal_ip(number: int) -> str:
    return str(NODE_BASE + number)


def pod_block_prefix(pods: int) -> int:
    """The prefix length of a block with room for `pods` hosts (never smaller than a /24)."""
    prefix = 24
    while (2 ** (32 - prefix)) - 2 < pods and prefix > 8:
        prefix -= 1
    return prefix


def fake_pod_cidr(number: int, pods: int) -> str:
    prefix = pod_block_prefix(pods)
    size = 2 ** (32 - prefix)
    return f"{POD_BASE + (number - 1) * size}/{prefix}"


class PodIpPool:
    """Unique pod IPs from one node's range, keyed by pod (so a re-sync never hands out two)."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self._by_pod: dict[str, str] = {}
        self._used: set[str] = set()
        self._next = 1

    def __len__(self) -> int:
        return len(self._by_pod)

    def get(self, pod_key: str) -> str | None:
        return self._by_pod.get(pod_key)

    def allocate(self, pod_key: str) -> str:
        """The pod's IP, allocating the next free host address on first use."""
        existing = self._by_pod.get(pod_key)
        if existing is not None:
            return existing
        hosts = self.network.num_addresses - 2
        for _ in range(hosts):
            offset = self._next
            self._next = self._next % hosts + 1
            ip = str(self.network.network_address + offset)
            if ip not in self._used:
                self._claim(pod_key, ip)
                return ip
        raise RuntimeError(f"pod range {self.network} is exhausted")

    def reserve(self, pod_key: str, ip: str) -> bool:
        """Adopt an IP a pod already reports (after a restart); False if another pod holds it."""
        if self._by_pod.get(pod_key) == ip:
            return True
        if ip in self._used or ipaddress.ip_address(ip) not in self.network:
            return False
        self.release(pod_key)
        self._claim(pod_key, ip)
        return True

    def release(self, pod_key: str) -> None:
        ip = self._by_pod.pop(pod_key, None)
        if ip is not None:
            self._used.discard(ip)

    def _claim(self, pod_key: str, ip: str) -> None:
        self._by_pod[pod_key] = ip
        self._used.add(ip)
