"""The address the API server advertises to the cluster (kube-apiserver's --advertise-address).

It is the `kubernetes` Service's endpoint, so pods on any node must reach it: the flag if
given, else the listen address when it is a specific one, else the machine's address on its
default route (what kube-apiserver picks for an unspecified bind address).
"""

from __future__ import annotations

import contextlib
import socket

UNSPECIFIED = ("", "0.0.0.0", "::")


def default_gateway(route_table: str) -> str:
    """The gateway of the default route in /proc/net/route's text ("" when there is none)."""
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            return socket.inet_ntoa(int(fields[2], 16).to_bytes(4, "little"))
    return ""


def default_route_address() -> str:
    """This machine's source address towards its default gateway; 127.0.0.1 without one.
    (Connecting a UDP socket only chooses the route: nothing is sent.)"""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/net/route") as f:
            gateway = default_gateway(f.read())
        if gateway:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((gateway, 9))
                return str(s.getsockname()[0])
    return "127.0.0.1"


def advertise_address(flag: str, listen_host: str) -> str:
    if flag:
        return flag
    if listen_host not in UNSPECIFIED:
        return listen_host
    return default_route_address()
