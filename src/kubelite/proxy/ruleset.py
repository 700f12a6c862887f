"""The nftables ruleset for a set of Service ports, as text for `nft -f -`.

Layout (one `ip` table per cluster, named by the caller):

    prerouting/output (nat)  -> services: ClusterIP:port matches, only for this cluster's
                              traffic (from its pod interface; to its service CIDR)
                             -> node-ports: NodePort matches on this node's addresses
    svc-ID                    marks for masquerade when needed, then picks an endpoint
                              (ClientIP affinity sets first, then `numgen random`)
    ep-ID-N                   remembers the client (affinity) and DNATs to ip:port
    postrouting (nat)         masquerades marked packets (hairpin, NodePort, off-cluster)
    filter input/output/forward  reject connections to Services with no endpoints

`transaction()` replaces the whole table atomically in one nft run: flush and redeclare, so
the affinity sets keep their elements across syncs, then delete the chains and sets that went.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kubelite.proxy.model import ServicePort

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
    pod bridge) or, from the node itself, to `service_cidr`; NodePorts only on `node_ips`.
    An empty field means no restriction of that kind."""

    pod_interface: str = ""
    service_cidr: str = ""
    node_ips: tuple[str, ...] = ()


def _node_port_match(p: ServicePort, scope: Scope) -> str:
    if scope.node_ips:
        addresses = ", ".join(scope.node_ips)
        return f"ip daddr {{ {addresses} }} {p.l4} dport {p.node_port}"
    return f"fib daddr type local ip daddr != 127.0.0.0/8 {p.l4} dport {p.node_port}"


def render(table: str, ports: list[ServicePort], *, cluster_cidr: str | None = None,
           masquerade_all: bool = False, scope: Scope | None = None) -> Ruleset:
    """The table for these Service ports.

    Traffic is masqueraded when a pod reaches itself (hairpin), when it came in on a NodePort,
    when it comes from outside `cluster_cidr` (if given), or always with `masquerade_all`.
    """
    scope = scope or Scope()
    body: list[str] = []
    chains = {"prerouting", "output", "postrouting", "services", "node-ports",
              "mark-for-masquerade", "filter-input", "filter-output", "filter-forward"}
    sets: set[str] = set()
    dispatch: list[str] = []
    node_dispatch: list[str] = []
    rejects: list[str] = []
    node_rejects: list[str] = []
    service_chains: list[str] = []
    for p in ports:
        if not p.endpoints:
            rejects.append(f"{_match(p)} reject")
            if p.node_port:
                node_rejects.append(f"{_node_port_match(p, scope)} reject")
            continue
        svc_chain, ext_chain = f"svc-{p.id}", f"ext-{p.id}"
        dispatch.append(f"{_match(p)} goto {svc_chain}")
        chains.add(svc_chain)
        rules: list[str] = []
        if masquerade_all:
            rules.append("jump mark-for-masquerade")
        elif cluster_cidr:
            rules.append(f"ip saddr != {cluster_cidr} jump mark-for-masquerade")
        if p.node_port:
            chains.add(ext_chain)
            node_dispatch.append(f"{_node_port_match(p, scope)} goto {ext_chain}")
            service_chains += _chain(ext_chain, ["jump mark-for-masquerade", f"goto {svc_chain}"])
        ep_chains = [f"ep-{p.id}-{i}" for i in range(len(p.endpoints))]
        endpoint_lines: list[str] = []
        for ep, ep_chain in zip(p.endpoints, ep_chains, strict=True):
            chains.add(ep_chain)
            ep_rules = [f"ip saddr {ep.ip} jump mark-for-masquerade"]
            if p.affinity_timeout:
                aff = f"aff-{p.id}-{ep.ip.replace('.', '-')}-{ep.port}"
                sets.add(aff)
                body += [f"\tset {aff} {{", "\t\ttype ipv4_addr", "\t\tflags dynamic,timeout",
                         f"\t\ttimeout {p.affinity_timeout}s", "\t}"]
                rules.append(f"ip saddr @{aff} goto {ep_chain}")
                ep_rules.append(f"update @{aff} {{ ip saddr }}")
            ep_rules.append(f"meta l4proto {p.l4} dnat to {ep.ip}:{ep.port}")
            endpoint_lines += _chain(ep_chain, ep_rules)
        choices = ", ".join(f"{i} : goto {c}" for i, c in enumerate(ep_chains))
        rules.append(f"numgen random mod {len(ep_chains)} vmap {{ {choices} }}")
        service_chains += _chain(svc_chain, rules) + endpoint_lines
    from_pods = f'iifname "{scope.pod_interface}" ' if scope.pod_interface else ""
    to_services = f"ip daddr {scope.service_cidr} " if scope.service_cidr else ""
    nat = "type nat hook {} priority {}; policy accept;"
    body += _chain("prerouting", [f"{from_pods}jump services", "jump node-ports"],
                   nat.format("prerouting", -100))
    body += _chain("output", [f"{to_services}jump services", "jump node-ports"],
                   nat.format("output", -100))
    body += _chain("postrouting", [f"meta mark & {MASQ_MARK} == {MASQ_MARK} masquerade"],
                   nat.format("postrouting", 100))
    body += _chain("mark-for-masquerade", [f"meta mark set meta mark | {MASQ_MARK}"])
    body += _chain("services", dispatch)
    body += _chain("node-ports", node_dispatch)
    body += service_chains
    filt = "type filter hook {} priority filter; policy accept;"
    forward_scope = [f'iifname != "{scope.pod_interface}" return'] if scope.pod_interface else []
    output_scope = [f"ip daddr != {scope.service_cidr} return"] if scope.service_cidr else []
    body += _chain("filter-input", node_rejects, filt.format("input"))
    body += _chain("filter-output", output_scope + rejects, filt.format("output"))
    body += _chain("filter-forward", forward_scope + rejects, filt.format("forward"))
    text = "\n".join([f"table ip {table} {{", *body, "}"]) + "\n"
    return Ruleset(table, text, frozenset(chains), frozenset(sets))


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
