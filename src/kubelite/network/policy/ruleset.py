"""The nftables table for a `Compiled` model, as text for one `nft -f -` transaction.

Layout (one `ip` table per cluster, `kubelite_<id>_pol`):

    forward (filter hook)   established/related: accept; from a pod of this node isolated for
                            egress: jump egress; to one isolated for ingress: jump ingress
    input (filter hook)     from this node's pods to the node itself (node-local DNS, NodePorts,
                            the node's addresses): the same egress check
    ingress / egress        one rule per allowed (targets, peers, ports): `return`; else drop
    sets                    ingress-isolated / egress-isolated, and per rule <id>-pods
                            (targets), <id>-peers (interval set), <id>-named (address .
                            protocol . port) — all keyed by pod address

Pod-to-pod traffic on one node crosses the bridge; br_netfilter (built into the kernel and on
by default in every network namespace) hands it to the `ip` forward hook with the bridge as
both interfaces, so one forward chain sees same-node and cross-node traffic alike. Traffic
the node itself sends (kubelet probes) never reaches these hooks' checks: a pod's own node may
always reach it, as NetworkPolicy's definition says.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubelite.network.policy.model import INGRESS, Compiled, Rule

ADDRESS = "ipv4_addr"
NAMED = "ipv4_addr . inet_proto . inet_service"


def _set(name: str, type_: str, elements: Iterable[str], interval: bool = False) -> list[str]:
    lines = [f"\tset {name} {{", f"\t\ttype {type_}"]
    if interval:
        lines.append("\t\tflags interval")
    items = sorted(elements)
    if items:
        lines.append("\t\telements = { " + ", ".join(items) + " }")
    return [*lines, "\t}"]


def _chain(name: str, rules: Iterable[str], base: str = "") -> list[str]:
    head = [f"\tchain {name} {{"] + ([f"\t\t{base}"] if base else [])
    return head + [f"\t\t{r}" for r in rules] + ["\t}"]


def _port_list(ports: Iterable[tuple[str, int, int]]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for _, a, b in ports)


def _rule_lines(rule: Rule) -> list[str]:
    """The `return` rules of one policy rule (its sets are declared by the caller)."""
    own, other = ("daddr", "saddr") if rule.direction == INGRESS else ("saddr", "daddr")
    base = f"ip {own} @{rule.id}-pods"
    peers = f" ip {other} @{rule.id}-peers" if rule.peers is not None else ""
    if rule.any_port:
        return [f"{base}{peers} return"]
    lines: list[str] = []
    for l4 in sorted({p[0] for p in rule.ports}):
        numbers = [p for p in rule.ports if p[0] == l4]
        if any(first == 0 for _, first, _ in numbers):  # a protocol without a port: all its ports
            lines.append(f"{base}{peers} meta l4proto {l4} return")
        else:
            lines.append(f"{base}{peers} meta l4proto {l4} th dport {{ {_port_list(numbers)} }} return")
    if rule.named:
        # The named set holds destination pod addresses: for egress it names the peers itself.
        named_peers = peers if rule.direction == INGRESS else ""
        lines.append(f"{base} ip daddr . meta l4proto . th dport @{rule.id}-named{named_peers} return")
    return lines


def render(table: str, compiled: Compiled, bridge: str) -> str:
    """The table's text. `bridge` is this cluster's pod bridge: only traffic to or from it is
    looked at, so other clusters' pods on the same machine are never touched."""
    body: list[str] = []
    body += _set("ingress-isolated", ADDRESS, compiled.ingress_isolated)
    body += _set("egress-isolated", ADDRESS, compiled.egress_isolated)
    allow: dict[str, list[str]] = {"ingress": [], "egress": []}
    for rule in compiled.rules:
        body += _set(f"{rule.id}-pods", ADDRESS, rule.targets)
        if rule.peers is not None:
            body += _set(f"{rule.id}-peers", ADDRESS, (str(n) for n in rule.peers), interval=True)
        if rule.named:
            body += _set(f"{rule.id}-named", NAMED, (f"{ip} . {l4} . {port}" for ip, l4, port in rule.named))
        allow[rule.direction.lower()] += _rule_lines(rule)
    hook = "type filter hook {} priority filter; policy accept;"
    established = "ct state established,related accept"
    egress_check = f'iifname "{bridge}" ip saddr @egress-isolated jump egress'
    body += _chain("forward", [established, egress_check,
                               f'oifname "{bridge}" ip daddr @ingress-isolated jump ingress'],
                   hook.format("forward"))
    body += _chain("input", [established, egress_check], hook.format("input"))
    body += _chain("ingress", [*allow["ingress"], "drop"])
    body += _chain("egress", [*allow["egress"], "drop"])
    return "\n".join([f"table ip {table} {{", *body, "}"]) + "\n"


def transaction(table: str, text: str) -> str:
    """Replace the whole table atomically: declare, delete, declare again, in one nft run."""
    return f"add table ip {table}\ndelete table ip {table}\n{text}"
