"""What one node enforces, computed from NetworkPolicies, pods and namespaces (raw dicts, as
the informers hold them), independent of nftables so the translation is tested on its own.

Each rule of each policy that selects pods of this node becomes one `Rule`: the local pod
addresses it protects (`targets`), the addresses it lets in or out (`peers`: pods chosen by
selectors as /32s, ipBlocks less their excepts, merged into disjoint networks; None for
"anyone"), its numeric ports and the (pod address, protocol, port) triples its named ports
resolve to. A named port is resolved against the destination pod's container ports: the local
target's for ingress, the peer's for egress.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelite.api.selectors import LabelSelector, SelectorError, label_selector_from_struct

Obj = dict[str, Any]
Net = ipaddress.IPv4Network
L4 = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}
INGRESS, EGRESS = "Ingress", "Egress"
TERMINAL_PHASES = ("Succeeded", "Failed")
# The node-local DNS server answers at the pod bridge's gateway; policies see it as the pod
# kube-dns/CoreDNS would be (dns_pod), so the usual "allow DNS" egress rules work.
DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}
DNS_PORTS = (("dns", "UDP", 53), ("dns-tcp", "TCP", 53), ("metrics", "TCP", 9153))


@dataclass(frozen=True)
class PodInfo:
    """A pod as policies see it: an IPv4 address, a namespace, labels, named container ports."""

    ip: str
    namespace: str
    labels: Mapping[str, str]
    ports: tuple[tuple[str, str, int], ...] = ()  # (name, protocol, containerPort)
    local: bool = False  # runs on this node: policies can protect it
    uid: str = ""

    def named_port(self, name: str, protocol: str) -> int | None:
        return next((number for n, proto, number in self.ports if n == name and proto == protocol), None)


def dns_pod(gateway: str) -> PodInfo:
    """The node-local DNS server as a kube-dns pod of kube-system (never a target)."""
    return PodInfo(gateway, DNS_NAMESPACE, DNS_LABELS, DNS_PORTS)


def _is_ipv4(value: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET, value)  # strict dotted quad, as ipaddress, but in C
    except OSError:
        return False
    return True


def pod_info(pod: Obj, node_name: str, ip: str | None = None) -> PodInfo | None:
    """The PodInfo of a pod dict, or None when policies cannot apply to it (no IPv4 address
    yet, hostNetwork, finished: its address may already belong to another pod)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    address = ip or status.get("podIP") or ""
    if spec.get("hostNetwork") or status.get("phase") in TERMINAL_PHASES or not _is_ipv4(address):
        return None
    ports = tuple((p["name"], p.get("protocol") or "TCP", int(p["containerPort"]))
                  for c in spec.get("containers") or [] for p in c.get("ports") or []
                  if p.get("name") and p.get("containerPort"))
    return PodInfo(address, meta.get("namespace", ""), dict(meta.get("labels") or {}), ports,
                   local=spec.get("nodeName") == node_name, uid=meta.get("uid", ""))


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule of one policy, as this node enforces it."""

    id: str  # i<N> or e<N>: names its nft sets
    direction: str  # Ingress | Egress
    targets: frozenset[str]  # local pod addresses the rule applies to
    peers: tuple[Net, ...] | None  # None: any address
    ports: tuple[tuple[str, int, int], ...] = ()  # (l4, first, last); first 0: every port
    named: frozenset[tuple[str, str, int]] = frozenset()  # (pod address, l4, port)
    any_port: bool = True  # the rule names no port at all


@dataclass
class Compiled:
    """Everything the ruleset needs: isolated pods per direction, and the allowing rules."""

    ingress_isolated: set[str] = field(default_factory=set)
    egress_isolated: set[str] = field(default_factory=set)
    rules: list[Rule] = field(default_factory=list)

    def mentions(self, ip: str) -> bool:
        """Whether any set holds this address (a new pod that got it would inherit its part)."""
        if ip in self.ingress_isolated or ip in self.egress_isolated:
            return True
        address = ipaddress.IPv4Address(ip)
        return any(ip in r.targets or any(n[0] == ip for n in r.named)
                   or (r.peers is not None and any(address in net for net in r.peers)) for r in self.rules)


def _selector(sel: Obj | None) -> LabelSelector:
    try:
        return label_selector_from_struct(sel)
    except SelectorError:  # validation refuses these; never let one open traffic
        return LabelSelector.nothing()


def selects(policy: Obj, namespace: str, labels: Mapping[str, str]) -> bool:
    """Whether the policy applies to a pod of `namespace` with `labels`."""
    meta = policy.get("metadata") or {}
    spec = policy.get("spec") or {}
    return meta.get("namespace", "") == namespace and _selector(spec.get("podSelector") or {}).matches(labels)


def _ip_block(block: Obj) -> list[Net]:
    """The CIDR less its excepts (IPv4 only: the table is `ip`)."""
    try:
        nets = [ipaddress.ip_network(block.get("cidr", ""), strict=False)]
    except ValueError:
        return []
    if nets[0].version != 4:
        return []
    for text in block.get("except") or []:
        try:
            cut = ipaddress.ip_network(text, strict=False)
        except ValueError:
            continue
        out: list[Any] = []
        for net in nets:
            if cut.version == 4 and cut.subnet_of(net):  # type: ignore[arg-type]
                out += net.address_exclude(cut)  # type: ignore[arg-type]
            elif cut.version == 4 and net.subnet_of(cut):  # type: ignore[arg-type]
                continue
            else:
                out.append(net)
        nets = out
    return nets  # type: ignore[return-value]


class _Cluster:
    """Pods and namespace labels, with the selector lookups rules need."""

    def __init__(self, pods: Iterable[PodInfo], namespaces: Mapping[str, Mapping[str, str]]) -> None:
        self.pods = list(pods)
        self.namespaces = namespaces
        self.by_namespace: dict[str, list[PodInfo]] = {}
        for p in self.pods:
            self.by_namespace.setdefault(p.namespace, []).append(p)

    def select(self, namespace: str, selector: LabelSelector) -> list[PodInfo]:
        return [p for p in self.by_namespace.get(namespace, []) if selector.matches(p.labels)]

    def peer_pods(self, peer: Obj, namespace: str) -> list[PodInfo]:
        """The pods a podSelector/namespaceSelector peer names (both: pods in those namespaces)."""
        pods_sel = _selector(peer.get("podSelector") or {})
        if "namespaceSelector" not in peer or peer["namespaceSelector"] is None:
            return self.select(namespace, pods_sel)
        ns_sel = _selector(peer["namespaceSelector"])
        out: list[PodInfo] = []
        for ns in sorted(set(self.namespaces) | set(self.by_namespace)):
            if ns_sel.matches(self.namespaces.get(ns, {"kubernetes.io/metadata.name": ns})):
                out += self.select(ns, pods_sel)
        return out

    def peers(self, peers: list[Obj] | None, namespace: str) -> tuple[tuple[Net, ...] | None, list[PodInfo] | None]:
        """The networks of a rule's peers (None: anyone) and the pods among them (None: all)."""
        if not peers:
            return None, None
        nets: list[Net] = []
        pods: list[PodInfo] = []
        for peer in peers:
            if peer.get("ipBlock") is not None:
                block = _ip_block(peer["ipBlock"])
                nets += block
                pods += [p for p in self.pods if any(ipaddress.ip_address(p.ip) in n for n in block)]
            else:
                chosen = self.peer_pods(peer, namespace)
                pods += chosen
                nets += [ipaddress.ip_network(p.ip) for p in chosen]  # type: ignore[misc]
        return tuple(ipaddress.collapse_addresses(nets)), pods


def _ports(ports: list[Obj], destinations: list[PodInfo]) -> tuple[tuple[tuple[str, int, int], ...], frozenset[tuple[str, str, int]]]:
    """Numeric ports and ranges as (l4, first, last), named ports resolved per destination pod."""
    numeric: list[tuple[str, int, int]] = []
    named: set[tuple[str, str, int]] = set()
    for port in ports:
        protocol = port.get("protocol") or "TCP"
        l4 = L4.get(protocol)
        if l4 is None:
            continue
        value = port.get("port")
        if value is None:
            numeric.append((l4, 0, 0))
        elif isinstance(value, int):
            numeric.append((l4, value, max(value, int(port.get("endPort") or value))))
        else:
            for p in destinations:
                number = p.named_port(value, protocol)
                if number is not None:
                    named.add((p.ip, l4, number))
    return tuple(sorted(set(numeric))), frozenset(named)


def _policy_types(spec: Obj) -> list[str]:
    types = spec.get("policyTypes")
    if types:
        return list(types)
    return [INGRESS, EGRESS] if spec.get("egress") else [INGRESS]


def compile_rules(policies: Iterable[Obj], pods: Iterable[PodInfo],
                  namespaces: Mapping[str, Mapping[str, str]]) -> Compiled:
    """Every rule this node enforces, for its local pods, in a stable order."""
    cluster = _Cluster(pods, namespaces)
    out = Compiled()
    counters = {INGRESS: 0, EGRESS: 0}
    ordered = sorted(policies, key=lambda p: ((p.get("metadata") or {}).get("namespace", ""),
                                              (p.get("metadata") or {}).get("name", "")))
    for policy in ordered:
        namespace = (policy.get("metadata") or {}).get("namespace", "")
        spec = policy.get("spec") or {}
        targets = [p for p in cluster.select(namespace, _selector(spec.get("podSelector") or {})) if p.local]
        if not targets:
            continue
        addresses = frozenset(p.ip for p in targets)
        for direction in _policy_types(spec):
            if direction == INGRESS:
                out.ingress_isolated |= addresses
                rules, key = spec.get("ingress") or [], "from"
            elif direction == EGRESS:
                out.egress_isolated |= addresses
                rules, key = spec.get("egress") or [], "to"
            else:
                continue
            for rule in rules:
                peers, peer_pods = cluster.peers(rule.get(key), namespace)
                destinations = targets if direction == INGRESS else (
                    cluster.pods if peer_pods is None else peer_pods)
                ports = rule.get("ports") or []
                numeric, named = _ports(ports, destinations)
                if ports and not numeric and not named:
                    continue  # only named ports, none of which any pod has
                n = counters[direction]
                counters[direction] += 1
                out.rules.append(Rule(f"{direction[0].lower()}{n}", direction, addresses, peers,
                                      numeric, named, any_port=not ports))
    return out
