"""`kubelite controller-manager`: the scheduler and the built-in controllers, as one client process.

`kubelite server` starts it as its child (over the server's local socket), so the API server
and its control loops use two cores; it can also run on its own against any kubelite cluster,
found as kubectl finds one (`--kubeconfig`, then $KUBECONFIG, then ~/.kube/config).
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kubelite.cli.shutdown import Shutdown
from kubelite.client import ApiClient, KubeconfigError
from kubelite.client.kubeconfig import load_kubeconfig

if TYPE_CHECKING:
    from kubelite.controllers.settings import ControllerSettings

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def add_settings_flags(p: argparse.ArgumentParser) -> None:
    """The flags `kubelite server` shares with `kubelite controller-manager`."""
    p.add_argument("--disable-scheduler", action="store_true",
                   help="do not run the built-in scheduler (use another one)")
    p.add_argument("--cluster-cidr", default="10.42.0.0/16",
                   help="pod IP range; each node gets a /24 of it (default %(default)s)")
    p.add_argument("--node-monitor-grace-period", type=float, default=40.0,
                   help="seconds without a node heartbeat before the node is Unknown (default %(default)s)")
    p.add_argument("--node-monitor-period", type=float, default=5.0,
                   help="seconds between checks of node heartbeats (default %(default)s)")
    p.add_argument("--pod-eviction-timeout", type=float, default=None,
                   help="evict pods of a lost node after at most this many seconds, whatever their tolerations")
    p.add_argument("--terminated-pod-gc-threshold", type=int, default=12500,
                   help="terminated pods kept before the oldest are deleted (0: never; default %(default)s)")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "controller-manager", help="run the scheduler and the controllers against a cluster",
        description="The scheduler and the built-in controllers (replicasets, deployments, "
                    "garbage collector, node lifecycle, endpoints, volumes, ...), talking to the "
                    "cluster through its HTTP API. `kubelite server` runs one as its child.")
    p.add_argument("--kubeconfig", default=None,
                   help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    p.add_argument("--server", default=None,
                   help="API server URL overriding the kubeconfig's (https://HOST:PORT or unix:///PATH)")
    p.add_argument("--token-file", default=None, help="file holding the bearer token to use")
    p.add_argument("--root-ca-file", default=None,
                   help="CA bundle published to every namespace as the kube-root-ca.crt ConfigMap "
                        "(default: the CA the kubeconfig trusts)")
    add_settings_flags(p)
    # set by `kubelite server` for its child: exit when that process is gone
    p.add_argument("--exit-with-parent", type=int, default=0, help=argparse.SUPPRESS)


def settings_from_args(args: argparse.Namespace) -> ControllerSettings:
    from kubelite.controllers.settings import ControllerSettings

    return ControllerSettings(
        cluster_cidr=args.cluster_cidr, scheduler=not args.disable_scheduler,
        node_monitor_grace_period=args.node_monitor_grace_period,
        node_monitor_period=args.node_monitor_period, pod_eviction_timeout=args.pod_eviction_timeout,
        terminated_pod_gc_threshold=args.terminated_pod_gc_threshold, root_ca_file=args.root_ca_file)


def _exit_with(parent: int) -> None:
    """Get SIGTERM when the parent dies (even by SIGKILL), and leave now if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        sys.exit(0)


def client_from_args(args: argparse.Namespace) -> ApiClient:
    config = load_kubeconfig(args.kubeconfig)
    if args.server:
        config = dataclasses.replace(config, server=args.server)
    if args.token_file:
        config = dataclasses.replace(config, token=Path(args.token_file).read_text().strip())
    return ApiClient.from_config(config, user_agent="kubelite-controller-manager")


async def run(args: argparse.Namespace) -> int:
    from kubelite.controllers.manager import ControllerManager

    if args.exit_with_parent:
        _exit_with(args.exit_with_parent)
    try:
        client = client_from_args(args)
    except (KubeconfigError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    shutdown = Shutdown("the controller-manager").install()
    manager = ControllerManager(client, settings_from_args(args))

    async def start() -> None:
        manager.start()
        log.info("controller-manager started against %s", args.server or client.server)

    await shutdown.serve(start, manager.stop)
    return 0
