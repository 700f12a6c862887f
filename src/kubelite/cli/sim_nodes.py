"""`kubelite sim-nodes`: register simulated nodes and keep them alive until SIGTERM.

The main CLI wires it with `add_parser(subparsers)` and awaits `run(args)`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time

from kubelite.client import ApiClient, KubeconfigError
from kubelite.sim import SimCluster

log = logging.getLogger(__name__)


def _label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f'invalid label "{text}": expected KEY=VALUE')
    return key, value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid count "{text}": must be an integer') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'invalid count "{text}": must be at least 1')
    return value


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "sim-nodes", help="register simulated nodes whose pods run without containers",
        description="Register N simulated Nodes, renew their Leases, report their status and "
                    "report pods bound to them as running, until SIGTERM.")
    p.add_argument("--count", type=_positive, required=True, help="number of nodes")
    p.add_argument("--cpu", default="32", help="cpu capacity of each node (default %(default)s)")
    p.add_argument("--memory", default="256Gi", help="memory capacity (default %(default)s)")
    p.add_argument("--pods", type=_positive, default=110, help="pod capacity (default %(default)s)")
    p.add_argument("--label", type=_label, action="append", default=[], metavar="KEY=VALUE",
                   help="extra node label (repeatable)")
    p.add_argument("--zones", type=int, default=0,
                   help="spread nodes over Z zones (topology.kubernetes.io/zone=zone-<i %% Z>)")
    p.add_argument("--name-prefix", default="sim-", help="node name prefix (default %(default)s)")
    p.add_argument("--kubeconfig", default=None,
                   help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    p.add_argument("--concurrency", type=_positive, default=64,
                   help="API requests in flight at most (default %(default)s)")
    p.add_argument("--cleanup", action="store_true", help="delete the nodes on exit")


async def run(args: argparse.Namespace) -> int:
    try:
        client = ApiClient.from_kubeconfig(args.kubeconfig)
    except KubeconfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    cluster = SimCluster(
        client, args.count, cpu=args.cpu, memory=args.memory, pods=args.pods,
        labels=dict(args.label), zones=args.zones, prefix=args.name_prefix,
        concurrency=args.concurrency)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        began = time.monotonic()
        starting = asyncio.create_task(cluster.start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # SIGTERM while registering
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            await cluster.stop(delete_nodes=args.cleanup)
            return 0
        stopping.cancel()
        if starting.exception() is not None:
            print(f"error: {starting.exception()}", file=sys.stderr)
            await cluster.stop(delete_nodes=args.cleanup)
            return 1
        names = cluster.node_names
        print(f"registered {len(names)} simulated nodes ({names[0]} ... {names[-1]}) "
              f"in {time.monotonic() - began:.1f}s", file=sys.stderr, flush=True)
        await stop.wait()
        await cluster.stop(delete_nodes=args.cleanup)
        if args.cleanup:
            print(f"deleted {len(names)} simulated nodes", file=sys.stderr, flush=True)
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await client.close()
