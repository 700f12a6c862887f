"""`kubelite server`'s embedded etcd flags (k3s' names) and the settings made from them."""

from __future__ import annotations

import argparse
from pathlib import Path

from kubelite import jointoken
from kubelite.etcd import layout, snapshots
from kubelite.etcd.embedded import EtcdSettings
from kubelite.etcd.snapshots import SnapshotSettings


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster-init", action="store_true",
                   help="start a new cluster on an embedded etcd member (DATA_DIR/db/etcd)")
    p.add_argument("--server", default="", help="join the cluster of this server (https://HOST:6443) as a "
                   "server with its own etcd member (needs the full --token or --token-file)")
    p.add_argument("--token-file", default="", help="file holding the token (instead of --token)")
    p.add_argument("--cluster-reset", action="store_true",
                   help="make this etcd member the only one of a new cluster (keeping its data), then exit")
    p.add_argument("--cluster-reset-restore-path", default="",
                   help="with --cluster-reset: restore this etcd snapshot first")
    p.add_argument("--etcd-client-port", type=int, default=layout.CLIENT_PORT,
                   help="the embedded etcd's client port, on 127.0.0.1 only (default %(default)s)")
    p.add_argument("--etcd-peer-port", type=int, default=layout.PEER_PORT,
                   help="the embedded etcd's peer port, on the advertised address (default %(default)s)")
    p.add_argument("--etcd-snapshot-schedule-cron", default=snapshots.DEFAULT_CRON,
                   help="when to snapshot the embedded etcd, in cron format (default %(default)r)")
    p.add_argument("--etcd-snapshot-retention", type=int, default=snapshots.DEFAULT_RETENTION,
                   help="scheduled snapshots kept (default %(default)s)")
    p.add_argument("--etcd-snapshot-dir", default="", help="where snapshots go (default DATA_DIR/db/snapshots)")
    p.add_argument("--etcd-disable-snapshots", action="store_true", help="no scheduled snapshots")


def embedded(args: argparse.Namespace, data_dir: Path) -> bool:
    """Whether the server runs an embedded etcd: asked for, or found in the data dir."""
    if args.datastore_endpoint:
        if args.cluster_init or args.server or args.cluster_reset:
            raise ValueError("--datastore-endpoint cannot be combined with --cluster-init, --server "
                             "or --cluster-reset (they use the embedded etcd)")
        return False
    return bool(args.cluster_init or args.server or args.cluster_reset) or layout.has_member(data_dir)


def token(args: argparse.Namespace) -> str:
    if args.token_file:
        return Path(args.token_file).read_text().strip()
    return str(args.token)


def secret(args: argparse.Namespace) -> str:
    """This server's join secret from --token/--token-file: a bare secret, or a full K10 token's."""
    value = token(args)
    return jointoken.parse(value).secret if value else ""


def settings(args: argparse.Namespace, advertise_ip: str, tls_sans: list[str]) -> EtcdSettings:
    if args.cluster_reset_restore_path and not args.cluster_reset:
        raise ValueError("--cluster-reset-restore-path needs --cluster-reset")
    if args.server and args.cluster_init:
        raise ValueError("--cluster-init starts a new cluster: it cannot be combined with --server")
    if args.server and not token(args):
        raise ValueError("--server needs --token or --token-file (the first server's DATA_DIR/token)")
    for flag in ("etcd_client_port", "etcd_peer_port"):
        if not 0 < getattr(args, flag) < 65536:
            raise ValueError(f"--{flag.replace('_', '-')} must be a port number")
    return EtcdSettings(advertise_ip=advertise_ip, cluster_init=args.cluster_init, join_server=args.server,
                        join_token=token(args) if args.server else "",
                        client_port=args.etcd_client_port, peer_port=args.etcd_peer_port,
                        cluster_reset=args.cluster_reset, restore_path=args.cluster_reset_restore_path,
                        extra_hosts=tls_sans)


def snapshot_settings(args: argparse.Namespace) -> SnapshotSettings:
    if args.etcd_snapshot_retention < 1:
        raise ValueError("--etcd-snapshot-retention must be at least 1")
    snapshots.check_cron(args.etcd_snapshot_schedule_cron)
    return SnapshotSettings(disabled=args.etcd_disable_snapshots, cron=args.etcd_snapshot_schedule_cron,
                            retention=args.etcd_snapshot_retention,
                            directory=Path(args.etcd_snapshot_dir).resolve() if args.etcd_snapshot_dir else None)
