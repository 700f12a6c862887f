"""The `kubelite` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kubelite.cli.shutdown import Shutdown

if TYPE_CHECKING:
    from kubelite.apiserver.server import ServerConfig

log = logging.getLogger("kubelite")

DEFAULT_DATA_DIR = "/var/lib/kubelite"
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
GC_THRESHOLDS = (50_000, 20, 20)  # young generation, then how many of each before the next


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: ts, level, logger, msg (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(fmt: str, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)


def _add_server_flags(p: argparse.ArgumentParser) -> None:
    from kubelite.cli import controller_manager, embedded_etcd

    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="where state, certificates and the kubeconfig live (default %(default)s)")
    p.add_argument("--listen", default="127.0.0.1:6443", help="HOST:PORT to serve the API on (default %(default)s)")
    p.add_argument("--datastore-endpoint", default="", help="sqlite:///PATH (default: DATA_DIR/state.db), "
                   "etcd://HOST:PORT[,HOST:PORT...] or http(s)://HOST:PORT[,...] (https: TLS to etcd)")
    p.add_argument("--datastore-cafile", default="", help="CA certificate (PEM) that signed the etcd members' "
                   "serving certificates, for https:// endpoints (default: the system's CAs)")
    p.add_argument("--datastore-certfile", default="", help="client certificate (PEM) to present to etcd")
    p.add_argument("--datastore-keyfile", default="", help="the client certificate's private key (PEM)")
    p.add_argument("--tls-san", action="append", default=[], help="extra name or IP for the serving certificate (repeatable, or comma-separated)")
    p.add_argument("--token", default="", help="the join secret agents present (default: made once, kept in DATA_DIR/token)")
    p.add_argument("--advertise-address", default="", help="address advertised to the cluster: the kubernetes Service's endpoint "
                   "and the kubeconfig's server (default: the listen host, or for 0.0.0.0 the "
                   "address of the default route)")
    p.add_argument("--event-ttl", type=float, default=3600.0, help="seconds events are kept (default %(default)s)")
    p.add_argument("--service-cidr", default="10.43.0.0/16", help="ClusterIP range of Services (default %(default)s)")
    controller_manager.add_settings_flags(p)
    p.add_argument("--component-identities", action=argparse.BooleanOptionalAction, default=True,
                   help="run the scheduler as system:kube-scheduler and each controller as its service "
                        "account in kube-system (kube-controller-manager's --use-service-account-credentials); "
                        "--no-component-identities runs them all with the admin credential (default: on)")
    p.add_argument("--secrets-encryption", action=argparse.BooleanOptionalAction, default=True,
                   help="encrypt Secrets at rest with a key made in DATA_DIR/cred/ (default: on; "
                   "--no-secrets-encryption writes new ones in clear, old ones stay readable)")
    p.add_argument("--encryption-provider-config", default="", help="an EncryptionConfiguration file to use "
                   "instead of DATA_DIR/cred/encryption-config.json (kube-apiserver's flag)")
    p.add_argument("--audit-policy-file", default="", help="an audit.k8s.io/v1 Policy: which requests the audit log records")
    p.add_argument("--audit-log-path", default="", help="the audit log (JSON lines; '-' for standard output)")
    p.add_argument("--audit-log-maxsize", type=int, default=0, help="megabytes before the audit log is rotated (default 100)")
    p.add_argument("--audit-log-maxbackup", type=int, default=0, help="rotated audit logs kept (default: all)")
    p.add_argument("--audit-log-maxage", type=int, default=0, help="days rotated audit logs are kept (default: no limit)")
    p.add_argument("--service-node-port-range", default="30000-32767", help="port range of NodePort Services (default %(default)s)")
    p.add_argument("--admission-control-config-file", "--pod-security-admission-config-file", dest="admission_config",
                   default="", help="an AdmissionConfiguration (or PodSecurityConfiguration) file: PodSecurity's "
                   "default levels and exemptions (default: privileged:latest everywhere, no exemptions)")
    embedded_etcd.add_flags(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubelite", description="The Kubernetes pod system in Python.")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    server = sub.add_parser("server", help="run the API server (and scheduler and controllers)")
    _add_server_flags(server)

    explain = sub.add_parser("explain-schedule", help="show, per node, which filter refused a pod and each score")
    explain.add_argument("pod", metavar="NAMESPACE/POD")
    explain.add_argument("--kubeconfig", default=None)

    from kubelite.cli import (
        agent,
        controller_manager,
        etcd_snapshot,
        images,
        kubeconfig,
        secrets_encrypt,
        sim_nodes,
        token,
        top,
    )

    kubeconfig.add_parser(sub)
    agent.add_parser(sub)
    token.add_parser(sub)
    secrets_encrypt.add_parser(sub)
    etcd_snapshot.add_parser(sub)
    controller_manager.add_parser(sub)
    images.add_parser(sub)
    sim_nodes.add_parser(sub)
    top.add_parser(sub)
    return parser


async def _run_server(args: argparse.Namespace) -> int:
    from kubelite.apiserver.server import ApiServer, ServerConfig
    from kubelite.cli import embedded_etcd
    from kubelite.cli.agent import join_hint, split_list
    from kubelite.client.leaderelection import Timing

    # checked here, not only in the child (which would fail at each restart): ValueError
    Timing(args.leader_elect_lease_duration, args.leader_elect_renew_deadline, args.leader_elect_retry_period)
    data_dir = Path(args.data_dir).resolve()
    config = ServerConfig(
        data_dir=data_dir,
        listen=args.listen,
        datastore_endpoint=args.datastore_endpoint,
        datastore_cafile=args.datastore_cafile,
        datastore_certfile=args.datastore_certfile,
        datastore_keyfile=args.datastore_keyfile,
        tls_sans=split_list(args.tls_san),
        # a joining server takes the cluster's secret from its token (written to DATA_DIR/token)
        token="" if args.server else embedded_etcd.secret(args),
        advertise_address=args.advertise_address,
        event_ttl=args.event_ttl,
        scheduler=not args.disable_scheduler,
        cluster_cidr=args.cluster_cidr,
        service_cidr=args.service_cidr,
        node_port_range=args.service_node_port_range,
        node_monitor_grace_period=args.node_monitor_grace_period,
        node_monitor_period=args.node_monitor_period,
        pod_eviction_timeout=args.pod_eviction_timeout,
        terminated_pod_gc_threshold=args.terminated_pod_gc_threshold,
        hpa_sync_period=args.horizontal_pod_autoscaler_sync_period,
        hpa_downscale_stabilization=args.horizontal_pod_autoscaler_downscale_stabilization,
        leader_elect=args.leader_elect, leader_elect_lease_duration=args.leader_elect_lease_duration,
        leader_elect_renew_deadline=args.leader_elect_renew_deadline,
        leader_elect_retry_period=args.leader_elect_retry_period,
        secrets_encryption=args.secrets_encryption,
        component_identities=args.component_identities,
        encryption_provider_config=args.encryption_provider_config,
        audit_policy_file=args.audit_policy_file,
        audit_log_path=args.audit_log_path,
        audit_log_maxsize=args.audit_log_maxsize,
        audit_log_maxbackup=args.audit_log_maxbackup,
        audit_log_maxage=args.audit_log_maxage,
    )
    if args.admission_config:
        from kubelite.apiserver import podsecurity_config

        try:
            config.pod_security = podsecurity_config.load(Path(args.admission_config))
        except podsecurity_config.ConfigError as e:
            print(f"kubelite server: --admission-control-config-file: {e}", file=sys.stderr)
            return 1
    if embedded_etcd.embedded(args, data_dir):
        from kubelite.apiserver.advertise import advertise_address

        config.etcd = embedded_etcd.settings(args, advertise_address(config.advertise_address, config.host),
                                             config.tls_sans)
        config.snapshots = embedded_etcd.snapshot_settings(args)
        if args.cluster_reset:
            return await _cluster_reset(config)
    server = ApiServer(config)
    shutdown = Shutdown("the API server").install()
    shutdown.on_force(server.kill_children)

    async def start() -> None:
        await server.start()
        print(f"kubelite API server ready at {server.url}", file=sys.stderr, flush=True)
        print(join_hint(server), file=sys.stderr, flush=True)
        print(f"export KUBECONFIG={server.kubeconfig_path}", flush=True)

    await shutdown.serve(start, server.stop)
    return 0


async def _cluster_reset(config: ServerConfig) -> int:
    """`--cluster-reset`: this etcd member alone in a new cluster, then exit (k3s' way)."""
    from kubelite.etcd.embedded import EmbeddedEtcd

    assert config.etcd is not None
    etcd = EmbeddedEtcd(config.data_dir, config.etcd)
    shutdown = Shutdown("the cluster reset").install()
    shutdown.on_force(etcd.kill)
    message = await etcd.reset()
    log.info("%s", message)
    print(message, file=sys.stderr, flush=True)
    return 0


def tune_gc() -> None:
    """Collect cycles less often. kubelite's processes hold large caches of API objects (every
    pod and node in informers and the watch cache) and allocate fast; with the interpreter's
    default threshold (700) the scheduler spent about half its CPU in the cycle collector.
    Almost all of this garbage is freed by reference counting anyway."""
    gc.set_threshold(GC_THRESHOLDS[0], GC_THRESHOLDS[1], GC_THRESHOLDS[2])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_format, args.verbose)
    tune_gc()
    try:
        return _dispatch(args)
    except KeyboardInterrupt:  # Ctrl-C before a command's own handler is in place
        return INTERRUPTED


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "server":
        from kubelite.etcd.etcdctl import EtcdctlError
        from kubelite.etcd.join import ServerJoinError
        from kubelite.store.interface import UnavailableError

        try:
            return asyncio.run(_run_server(args))
        except ValueError as e:
            print(f"kubelite: {e}", file=sys.stderr)
            return 2
        except UnavailableError as e:  # the datastore did not answer at start
            print(f"kubelite server: the datastore cannot be reached: {e}", file=sys.stderr)
            return 1
        except (ServerJoinError, EtcdctlError) as e:
            print(f"kubelite server: {e}", file=sys.stderr)
            return 1
    if args.command == "explain-schedule":
        from kubelite.cli.explain_schedule import run as explain_run

        return asyncio.run(explain_run(args))
    if args.command == "controller-manager":
        from kubelite.cli import controller_manager

        return asyncio.run(controller_manager.run(args))
    if args.command == "sim-nodes":
        from kubelite.cli import sim_nodes

        return asyncio.run(sim_nodes.run(args))
    if args.command in ("agent", "up"):
        from kubelite.cli import agent

        return asyncio.run(agent.run(args) if args.command == "agent" else agent.run_up(args))
    if args.command == "top":
        from kubelite.cli import top

        return asyncio.run(top.run(args))
    if args.command == "token":
        from kubelite.cli import token

        return token.run(args)
    if args.command == "secrets-encrypt":
        from kubelite.cli import secrets_encrypt

        return asyncio.run(secrets_encrypt.run(args))
    if args.command == "etcd-snapshot":
        from kubelite.cli import etcd_snapshot

        return asyncio.run(etcd_snapshot.run(args))
    if args.command == "images":
        from kubelite.cli import images

        return asyncio.run(images.run(args))
    if args.command == "kubeconfig":
        from kubelite.cli import kubeconfig

        return kubeconfig.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
