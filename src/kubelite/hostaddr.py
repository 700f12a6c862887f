"""This machine's addresses, as seen from the network namespace the process runs in.

Imports nothing of kubelite: the API server puts the addresses in its certificate, the agent
advertises the default-route one as the node's InternalIP.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import subprocess

ROUTES = "/proc/net/route"  # this network namespace's IPv4 routing table


def machine_addresses() -> set[str]:
    """Every address of this machine's interfaces (IPv4 and non-link-local IPv6, from
    `ip -j addr`). Empty if `ip` fails."""
    try:
        out = subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
        links = json.loads(out or "[]")
    except (OSError, subprocess.SubprocessError, ValueError):
        return set()
    return {a["local"] for link in links for a in link.get("addr_info", [])
            if a.get("local") and a.get("scope") != "link"}


def default_gateway(routes_file: str = ROUTES) -> str:
    """The IPv4 gateway of the default route ("" if there is none)."""
    with contextlib.suppress(OSError):
        with open(routes_file) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if len(fields) >= 3 and fields[1] == "00000000" and fields[2] != "00000000":
                    return socket.inet_ntoa(struct.pack("<I", int(fields[2], 16)))
    return ""


def source_address(host: str, port: int = 9) -> str:
    """The local address the kernel picks to reach `host` (no packet is sent); "" if none."""
    with contextlib.suppress(OSError):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((host, port))
            return str(s.getsockname()[0])
    return ""


def default_route_address() -> str:
    """The address of the default route's interface (what a kubelet advertises as its
    InternalIP by default); "" without a default route."""
    gateway = default_gateway()
    return source_address(gateway) if gateway else ""
