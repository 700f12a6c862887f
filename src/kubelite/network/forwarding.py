"""Forwarding and NAT for pod traffic between nodes (flannel's iptables rules, in nftables).

- `net.ipv4.ip_forward` on: pod packets for other nodes are routed through the host.
- This node's pods talking to any pod of the cluster keep their addresses (no NAT); what they
  send outside the cluster CIDR (a Service DNATed to a host address, say) is masqueraded, so
  the far end can answer without a route to pod addresses.
- Forwarded traffic from or to the cluster CIDR is accepted. In nftables an accept in our
  table cannot overrule a drop in another, so when the host's iptables FORWARD policy is DROP
  (Docker sets it), ACCEPT rules for the cluster CIDR are inserted there too, as flannel does.
  A pure-nftables firewall of the host's own with a drop policy must allow the cluster CIDR
  itself (README).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil

from kubelite.proxy.nft import NftError, delete_table, run_nft
from kubelite.runtime.cni import enable_ip_forward

MULTICAST = "224.0.0.0/4"


def ruleset(table: str, pod_cidr: str, cluster_cidr: str) -> str:
    """The nft script that (re)creates the table atomically."""
    return f"""add table ip {table}
delete table ip {table}
table ip {table} {{
\tchain postrouting {{
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr {pod_cidr} ip daddr {cluster_cidr} return
\t\tip saddr {pod_cidr} ip daddr != {MULTICAST} masquerade
\t}}
\tchain forward {{
\t\ttype filter hook forward priority filter; policy accept;
\t\tip saddr {cluster_cidr} accept
\t\tip daddr {cluster_cidr} accept
\t}}
}}
"""


def _comment(table: str) -> str:
    return f"{table} pod network"


def _iptables_rules(cluster_cidr: str, table: str) -> list[list[str]]:
    tail = ["-m", "comment", "--comment", _comment(table), "-j", "ACCEPT"]
    return [["-s", cluster_cidr, *tail], ["-d", cluster_cidr, *tail]]


async def _iptables(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "iptables", "-w", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def ensure_iptables_accept(cluster_cidr: str, table: str) -> bool:
    """When iptables' FORWARD policy is DROP, put our ACCEPT rules first; whether it did."""
    if shutil.which("iptables") is None:
        return False
    rc, out = await _iptables("-S", "FORWARD")
    if rc != 0 or "-P FORWARD DROP" not in out:
        return False
    for rule in _iptables_rules(cluster_cidr, table):
        rc, _ = await _iptables("-C", "FORWARD", *rule)
        if rc != 0:
            await _iptables("-I", "FORWARD", "1", *rule)
    return True


async def remove_iptables_accept(cluster_cidr: str, table: str) -> None:
    if shutil.which("iptables") is None:
        return
    for rule in _iptables_rules(cluster_cidr, table):
        for _ in range(16):  # every copy, should several have been inserted
            rc, _out = await _iptables("-D", "FORWARD", *rule)
            if rc != 0:
                break


async def ensure(table: str, pod_cidr: str, cluster_cidr: str) -> None:
    """Forwarding on, the nft table in place, the iptables exception if needed."""
    enable_ip_forward()
    await run_nft(ruleset(table, pod_cidr, cluster_cidr))
    await ensure_iptables_accept(cluster_cidr, table)


async def remove(table: str, cluster_cidr: str) -> None:
    """`--cleanup`: the table and the iptables exception (forwarding stays on)."""
    with contextlib.suppress(NftError, OSError):
        await delete_table(table)
    await remove_iptables_accept(cluster_cidr, table)
