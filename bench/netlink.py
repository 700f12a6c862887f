"""Time to program 100 peers (route + ARP entry + FDB entry each) on a vxlan device, three ways:
one `ip`/`bridge` process per entry, one `ip -batch` run (what network/iproute.py does), and
pyroute2 in-process (when it is installed). Run as root; works in a throwaway netns.

    python bench/netlink.py [--peers 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid

DEV = "bench.1"


def entries(n: int) -> list[tuple[str, str, str, str]]:
    """(pod CIDR, VTEP address, VTEP MAC, public IP) for n peers."""
    out = []
    for i in range(n):
        a, b = divmod(i + 1, 256)
        out.append((f"10.{200 + a}.{b}.0/24", f"10.{200 + a}.{b}.0",
                    f"02:42:00:00:{a:02x}:{b:02x}", f"198.18.{a}.{b}"))
    return out


def fresh_device() -> None:
    subprocess.run(["ip", "link", "del", DEV], capture_output=True)
    subprocess.run(["ip", "link", "add", DEV, "type", "vxlan", "id", "1", "dstport", "8472",
                    "nolearning", "local", "127.0.0.1"], check=True)
    subprocess.run(["ip", "addr", "add", "10.199.0.0/32", "dev", DEV], check=True)
    subprocess.run(["ip", "link", "set", DEV, "up"], check=True)


def commands(n: int) -> list[list[str]]:
    cmds = []
    for cidr, vtep, mac, public in entries(n):
        cmds += [["ip", "route", "replace", cidr, "via", vtep, "dev", DEV, "onlink"],
                 ["ip", "neigh", "replace", vtep, "lladdr", mac, "dev", DEV, "nud", "permanent"],
                 ["bridge", "fdb", "replace", mac, "dev", DEV, "dst", public, "self",
                  "permanent"]]
    return cmds


def per_process(n: int) -> float:
    fresh_device()
    start = time.perf_counter()
    for cmd in commands(n):
        subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def batch(n: int) -> float:
    fresh_device()
    start = time.perf_counter()
    ip_lines = [" ".join(c[1:]) for c in commands(n) if c[0] == "ip"]
    fdb_lines = [" ".join(c[1:]) for c in commands(n) if c[0] == "bridge"]
    subprocess.run(["ip", "-batch", "-"], input="\n".join(ip_lines), text=True, check=True)
    subprocess.run(["bridge", "-batch", "-"], input="\n".join(fdb_lines), text=True, check=True)
    return time.perf_counter() - start


def pyroute2_way(n: int) -> float | None:
    try:
        from pyroute2 import IPRoute  # type: ignore[import-not-found]
    except ImportError:
        return None
    fresh_device()
    start = time.perf_counter()
    with IPRoute() as ipr:
        idx = ipr.link_lookup(ifname=DEV)[0]
        for cidr, vtep, mac, public in entries(n):
            ipr.route("replace", dst=cidr, gateway=vtep, oif=idx, flags=4)  # RTNH_F_ONLINK
            ipr.neigh("replace", dst=vtep, lladdr=mac, ifindex=idx, state=0x80)  # permanent
            ipr.fdb("replace", ifindex=idx, lladdr=mac, dst=public, state=0x80,
                    flags=2)  # NTF_SELF
    return time.perf_counter() - start


def inside(n: int) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for name, fn in (("one process per entry", per_process), ("ip/bridge -batch", batch),
                     ("pyroute2 in-process", pyroute2_way)):
        took = fn(n)
        figure = "not installed" if took is None else f"{took * 1000:8.1f} ms"
        print(f"{name:24s} {n} peers ({3 * n} entries): {figure}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", type=int, default=100)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.peers)
        return 0
    ns = f"klbench{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        return subprocess.run(["nsenter", f"--net=/run/netns/{ns}", sys.executable,
                               os.path.abspath(__file__), "--inside", "--peers",
                               str(args.peers)]).returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    sys.exit(main())
