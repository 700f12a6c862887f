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
LEADERSHIP_LOST = 1  # the exit code when a lease is lost (klog.FlushAndExit's 1)


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
    p.add_argument("--horizontal-pod-autoscaler-sync-period", type=seconds, default="15s",
                   help="how often each HorizontalPodAutoscaler is reconciled (default %(default)s)")
    p.add_argument("--horizontal-pod-autoscaler-downscale-stabilization", type=seconds, default="5m",
                   help="window whose highest recommendation a scale-down keeps (default %(default)s)")
    p.add_argument("--leader-elect", action=argparse.BooleanOptionalAction, default=True,
                   help="run the controllers and the scheduler only while holding the "
                        "kube-controller-manager and kube-scheduler Leases in kube-system, for "
                        "several servers on one store (default: on)")
    p.add_argument("--leader-elect-lease-duration", type=seconds, default="15s",
                   help="how long a standby waits, after it last saw the lease change, before "
                        "taking it (default %(default)s)")
    p.add_argument("--leader-elect-renew-deadline", type=seconds, default="10s",
                   help="how long the leader keeps trying to renew before it stops leading "
                        "(default %(default)s)")
    p.add_argument("--leader-elect-retry-period", type=seconds, default="2s",
                   help="time between attempts to acquire or renew (default %(default)s)")


def seconds(value: str) -> float:
    """A Go duration of whole units (`15s`, `5m`, `1h`, `1m30s`) or plain seconds, in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    total, number, i = 0.0, "", 0
    try:
        while i < len(value):
            if value[i].isdigit() or value[i] == ".":
                number += value[i]
                i += 1
                continue
            unit = "ms" if value.startswith("ms", i) else value[i]
            total += float(number) * units[unit]
            number, i = "", i + len(unit)
        return total + (float(number) if number else 0.0)
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(f"invalid duration {value!r}") from None


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
    p.add_argument("--scheduler-token-file", default=None,
                   help="file holding the scheduler's own bearer token (default: --token-file's)")
    p.add_argument("--use-service-account-credentials", action="store_true",
                   help="run each controller as its service account in kube-system, with a token "
                        "requested by the controller-manager (kube-controller-manager's flag)")
    p.add_argument("--root-ca-file", default=None,
                   help="CA bundle published to every namespace as the kube-root-ca.crt ConfigMap "
                        "(default: the CA the kubeconfig trusts)")
    add_settings_flags(p)
    # set by `kubelite server` for its child: one identity for the server's lifetime, so that a
    # restarted child takes its predecessor's leases back at once instead of waiting them out
    p.add_argument("--leader-elect-identity", default=None, help=argparse.SUPPRESS)
    # set by `kubelite server` for its child: exit when that process is gone
    p.add_argument("--exit-with-parent", type=int, default=0, help=argparse.SUPPRESS)


def settings_from_args(args: argparse.Namespace) -> ControllerSettings:
    from kubelite.controllers.settings import ControllerSettings

    return ControllerSettings(
        cluster_cidr=args.cluster_cidr, scheduler=not args.disable_scheduler,
        node_monitor_grace_period=args.node_monitor_grace_period,
        node_monitor_period=args.node_monitor_period, pod_eviction_timeout=args.pod_eviction_timeout,
        terminated_pod_gc_threshold=args.terminated_pod_gc_threshold, root_ca_file=args.root_ca_file,
        hpa_sync_period=args.horizontal_pod_autoscaler_sync_period,
        hpa_downscale_stabilization=args.horizontal_pod_autoscaler_downscale_stabilization,
        leader_elect=args.leader_elect, leader_elect_lease_duration=args.leader_elect_lease_duration,
        leader_elect_renew_deadline=args.leader_elect_renew_deadline,
        leader_elect_retry_period=args.leader_elect_retry_period)


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


def scheduler_client(args: argparse.Namespace, client: ApiClient) -> ApiClient | None:
    """The scheduler's client as its own user (system:kube-scheduler), if given a token."""
    if not args.scheduler_token_file:
        return None
    return client.with_token(Path(args.scheduler_token_file).read_text().strip(),
                             user_agent="kubelite-scheduler")


async def run(args: argparse.Namespace) -> int:
    from kubelite.client.leaderelection import Timing
    from kubelite.controllers.credentials import ServiceAccountCredentials
    from kubelite.controllers.leadership import Leadership
    from kubelite.controllers.manager import ControllerManager

    if args.exit_with_parent:
        _exit_with(args.exit_with_parent)
    try:
        client = client_from_args(args)
        scheduler = scheduler_client(args, client)
    except (KubeconfigError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    settings = settings_from_args(args)
    try:
        timing = Timing(settings.leader_elect_lease_duration, settings.leader_elect_renew_deadline,
                        settings.leader_elect_retry_period)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    shutdown = Shutdown("the controller-manager").install()
    credentials = ServiceAccountCredentials(client) if args.use_service_account_credentials else None
    manager = ControllerManager(client, settings, scheduler_client=scheduler,
                                credentials=credentials)
    if not settings.leader_elect:
        async def start() -> None:
            manager.start()
            log.info("controller-manager started against %s", args.server or client.server)

        await shutdown.serve(start, manager.stop)
        return 0

    leadership = Leadership(manager, timing, on_lost=_exit_lost, identity_=args.leader_elect_identity)

    async def start_electing() -> None:
        leadership.start()
        log.info("controller-manager started against %s; waiting for its leases", args.server or client.server)

    await shutdown.serve(start_electing, leadership.stop)
    return 0


def _exit_lost(lease: str) -> None:
    """Stop acting at once, as kube-controller-manager and kube-scheduler exit when they lose
    their lease; `kubelite server` restarts this process, which then stands by."""
    os._exit(LEADERSHIP_LOST)
