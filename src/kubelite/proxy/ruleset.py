"""The nftables ruleset for a set of Service ports, as text for `nft -f -`.

Layout (one `ip` table per cluster, named by the caller):

    prerouting/output (nat)  -> services: ClusterIP:port matches, only for this cluster's
                              traffic (from its pod interface; to its service CIDR)
                             -> node-ports: NodePort matches on this node's addresses
                                (every local address by default, 127.0.0.1 included)
                             -> load-balancers: LoadBalancer Services' ports on the same
                                addresses (k3s' ServiceLB without its pods)
    svc-ID                    marks for masquerade when needed, then picks an endpoint
                              (ClientIP affinity sets first, then `numgen random`)
    local-ID                  the same among this node's endpoints (traffic policies Local)
    ext-ID                    NodePort and LoadBalancer traffic: masquerade and svc-ID, or (policy Local)
                              local-ID keeping the client's address
    ep-ID-N                   remembers the client (affinity) and DNATs to ip:port
    postrouting (nat)         masquerades marked packets (hairpin, NodePort, off-cluster)
    filter input/output/forward  reject connections to Services with no endpoints

`transaction()` replaces the whole table atomically in one nft run: flush and redeclare, so
the affinity sets keep their elements across syncs, then delete the chains and sets that went.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kubelite.proxy.model import Endpoint, ServicePort

MASQ_MARK = "0x4000"


@dataclass(frozen=True)
class Ruleset:
    """A rendered table and the names of the chains and sets it declares."""

    table: str
    text: str
    chains: frozenset[str]
    sets: frozenset[str]


def _chain(name: str, rules: Iterable[str], base: str = "") -> list[str]:
    lines = [f"\tchain {name} {{"]
    if base:
        lines.append(f"\t\t{base}")
    lines += [f"\t\t{rule}" for rule in rules]
    lines.append("\t}")
    return lines


def _match(p: ServicePort) -> str:
    return f"ip daddr {p.cluster_ip} {p.l4} dport {p.port}"


@dataclass(frozen=True)
class Scope:
    """Which traffic belongs to this cluster, so that two clusters on one machine never
    capture each other's: ClusterIPs are matched only for packets from `pod_interface` (its
    pod bridge) or, from the node itself, to `service_cidr`; NodePorts only on `node_ips`
    (empty: every local address, 127.0.0.1 included). An empty field means no restriction of
    that kind. `node_name` is this node: its endpoints are the local ones of the Local
    traffic policies (none are local without it)."""

    pod_interface: str = ""
    service_cidr: str = ""
    node_ips: tuple[str, ...] = ()
    node_name: str = ""

    @property
    def loopback_node_ports(self) -> bool:
        """Whether NodePorts answer on 127.0.0.1 (then route_localnet is needed on the way out)."""
        return not self.node_ips or any(ip.startswith("127.") for ip in self.node_ips)


def _node_port_match(p: ServicePort, scope: Scope, port: int = 0) -> str:
    """Traffic to `port` (default: the NodePort) on this node's addresses."""
    port = port or p.node_port
    if scope.node_ips:
        addresses = ", ".join(scope.node_ips)
        return f"ip daddr {{ {addresses} }} {p.l4} dport {port}"
    return f"fib daddr type local {p.l4} dport {port}"


class _Tables:
    """The chains, sets and dispatch rules gathered while rendering Service ports."""

    def __init__(self, scope: Scope, cluster_cidr: str | None, masquerade_all: bool) -> None:
        self.scope = scope
        self.cluster_cidr = cluster_cidr
        self.masquerade_all = masquerade_all
        self.body: list[str] = []
        self.chains = {"prerouting", "output", "postrouting", "services", "node-ports", "load-balancers",
                       "mark-for-masquerade", "filter-input", "filter-output", "filter-forward"}
        self.sets: set[str] = set()
        self.dispatch: list[str] = []
        self.node_dispatch: list[str] = []
        self.lb_dispatch: list[str] = []
        self.rejects: list[str] = []  # ClusterIP traffic refused (output and forward)
        self.node_rejects: list[str] = []  # NodePort traffic refused (input)
        self.service_chains: list[str] = []

    def _masquerade_off_cluster(self, prefix: str = "") -> list[str]:
        if self.masquerade_all:
            return [f"{prefix}jump mark-for-masquerade"]
        if self.cluster_cidr:
            return [f"{prefix}ip saddr != {self.cluster_cidr} jump mark-for-masquerade"]
        return []

    def _balance(self, p: ServicePort, picks: list[tuple[Endpoint, str]]) -> list[str]:
        """Affinity lookups, then a random pick among the endpoints' chains."""
        rules = [f"ip saddr @{_affinity_set(p, ep)} goto {chain}" for ep, chain in picks
                 if p.affinity_timeout]
        choices = ", ".join(f"{i} : goto {chain}" for i, (_, chain) in enumerate(picks))
        rules.append(f"numgen random mod {len(picks)} vmap {{ {choices} }}")
        return rules

    def _endpoint_chains(self, p: ServicePort) -> list[tuple[Endpoint, str]]:
        picks: list[tuple[Endpoint, str]] = []
        for i, ep in enumerate(p.endpoints):
            chain = f"ep-{p.id}-{i}"
            self.chains.add(chain)
            rules = [f"ip saddr {ep.ip} jump mark-for-masquerade"]  # hairpin
            if p.affinity_timeout:
                aff = _affinity_set(p, ep)
                self.sets.add(aff)
                self.body += [f"\tset {aff} {{", "\t\ttype ipv4_addr", "\t\tflags dynamic,timeout",
                              f"\t\ttimeout {p.affinity_timeout}s", "\t}"]
                rules.append(f"update @{aff} {{ ip saddr }}")
            rules.append(f"meta l4proto {p.l4} dnat to {ep.ip}:{ep.port}")
            self.service_chains += _chain(chain, rules)
            picks.append((ep, chain))
        return picks

    def add(self, p: ServicePort) -> None:
        if not p.endpoints:
            self.rejects.append(f"{_match(p)} reject")
            if p.node_port:
                self.node_rejects.append(f"{_node_port_match(p, self.scope)} reject")
            if p.load_balancer:
                self.node_rejects.append(f"{_node_port_match(p, self.scope, p.port)} reject")
            return
        picks = self._endpoint_chains(p)
        node = self.scope.node_name
        local = [(ep, chain) for ep, chain in picks if node and ep.node_name == node]
        svc_chain, local_chain, ext_chain = f"svc-{p.id}", f"local-{p.id}", f"ext-{p.id}"
        self.chains.add(svc_chain)
        self.service_chains += _chain(svc_chain, self._masquerade_off_cluster() + self._balance(p, picks))
        if local and (p.internal_local or (p.external_local and (p.node_port or p.load_balancer))):
            self.chains.add(local_chain)
            rules = self._masquerade_off_cluster(f"{_match(p)} ") if p.internal_local else []
            self.service_chains += _chain(local_chain, rules + self._balance(p, local))
        if not p.internal_local:
            self.dispatch.append(f"{_match(p)} goto {svc_chain}")
        elif local:
            self.dispatch.append(f"{_match(p)} goto {local_chain}")
        else:  # kube-proxy drops (not rejects) when only other nodes have endpoints
            self.rejects.append(f"{_match(p)} drop")
        if p.node_port:
            self.node_dispatch.append(f"{_node_port_match(p, self.scope)} goto {ext_chain}")
        if p.load_balancer:
            self.lb_dispatch.append(f"{_node_port_match(p, self.scope, p.port)} goto {ext_chain}")
        if p.node_port or p.load_balancer:
            self.chains.add(ext_chain)
            self.service_chains += _chain(ext_chain, self._external(p, svc_chain, local_chain, bool(local)))

    def _external(self, p: ServicePort, svc_chain: str, local_chain: str, has_local: bool) -> list[str]:
        """NodePort traffic: masqueraded to any endpoint, or (externalTrafficPolicy: Local) kept
        with its client address and sent to this node's endpoints only. Traffic from this node
        and its pods still goes to any endpoint, masqueraded when it comes from the node."""
        if not p.external_local:
            return ["jump mark-for-masquerade", f"goto {svc_chain}"]
        rules = [f"ip saddr {self.cluster_cidr} goto {svc_chain}"] if self.cluster_cidr else []
        rules += ["fib saddr type local jump mark-for-masquerade", f"fib saddr type local goto {svc_chain}"]
        rules.append(f"goto {local_chain}" if has_local else "drop")
        return rules

    def text(self, table: str) -> str:
        scope = self.scope
        body = self.body
        from_pods = f'iifname "{scope.pod_interface}" ' if scope.pod_interface else ""
        to_services = f"ip daddr {scope.service_cidr} " if scope.service_cidr else ""
        nat = "type nat hook {} priority {}; policy accept;"
        body += _chain("prerouting", [f"{from_pods}jump services", "jump node-ports", "jump load-balancers"],
                       nat.format("prerouting", -100))
        body += _chain("output", [f"{to_services}jump services", "jump node-ports", "jump load-balancers"],
                       nat.format("output", -100))
        body += _chain("postrouting", [f"meta mark & {MASQ_MARK} == {MASQ_MARK} masquerade"],
                       nat.format("postrouting", 100))
        body += _chain("mark-for-masquerade", [f"meta mark set meta mark | {MASQ_MARK}"])
        body += _chain("services", self.dispatch)
        body += _chain("node-ports", self.node_dispatch)
        body += _chain("load-balancers", self.lb_dispatch)
        body += self.service_chains
        filt = "type filter hook {} priority filter; policy accept;"
        forward_scope = [f'iifname != "{scope.pod_interface}" return'] if scope.pod_interface else []
        output_scope = [f"ip daddr != {scope.service_cidr} return"] if scope.service_cidr else []
        # With route_localnet, packets to 127.0.0.0/8 from other interfaces are no longer
        # martians: only the replies of NodePort connections made on 127.0.0.1 may pass.
        localnet = [LOCALNET_GUARD] if scope.loopback_node_ports else []
        body += _chain("filter-input", localnet + self.node_rejects, filt.format("input"))
        body += _chain("filter-output", output_scope + self.rejects, filt.format("output"))
        body += _chain("filter-forward", forward_scope + self.rejects, filt.format("forward"))
        return "\n".join([f"table ip {table} {{", *body, "}"]) + "\n"


LOCALNET_GUARD = 'iifname != "lo" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop'


def _affinity_set(p: ServicePort, ep: Endpoint) -> str:
    return f"aff-{p.id}-{ep.ip.replace('.', '-')}-{ep.port}"


def render(table: str, ports: list[ServicePort], *, cluster_cidr: str | None = None,
           masquerade_all: bool = False, scope: Scope | None = None) -> Ruleset:
    """The table for these Service ports.

    Traffic is masqueraded when a pod reaches itself (hairpin), when it came in on a NodePort
    (unless externalTrafficPolicy is Local), when it comes from outside `cluster_cidr` (if
    given), or always with `masquerade_all`. internalTrafficPolicy: Local sends ClusterIP
    traffic to this node's endpoints only (dropped if it has none), as kube-proxy does.
    """
    tables = _Tables(scope or Scope(), cluster_cidr, masquerade_all)
    for p in ports:
        tables.add(p)
    return Ruleset(table, tables.text(table), frozenset(tables.chains), frozenset(tables.sets))


def transaction(new: Ruleset, previous: Ruleset | None) -> str:
    """One nft script that turns the table into `new`, atomically.

    Without a previous ruleset (first sync) the table is deleted and recreated; otherwise it is
    flushed (rules go, set elements stay) and chains and sets no longer used are deleted.
    """
    head = [f"add table ip {new.table}"]
    tail: list[str] = []
    if previous is None:
        head.append(f"delete table ip {new.table}")
    else:
        head.append(f"flush table ip {new.table}")
        tail += [f"delete chain ip {new.table} {c}" for c in sorted(previous.chains - new.chains)]
        tail += [f"delete set ip {new.table} {s}" for s in sorted(previous.sets - new.sets)]
    return "\n".join(head) + "\n" + new.text + "".join(line + "\n" for line in tail)
