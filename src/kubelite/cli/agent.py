"""`kubelite agent` (join a cluster as a node) and `kubelite up` (a server and an agent here).

Wire-up in cli/main.py: `agent.add_parser(sub)` then, for args.command in ("agent", "up"),
`asyncio.run(agent.run(args))`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kubelite.cli.shutdown import Shutdown
from kubelite.kubelet import eviction
from kubelite.kubelet.config import DEFAULT_DATA_DIR, DEFAULT_KUBELET_PORT, MAX_PODS, AgentConfig

if TYPE_CHECKING:
    from kubelite.apiserver.server import ApiServer, ServerConfig
    from kubelite.etcd.embedded import EtcdSettings

log = logging.getLogger("kubelite.agent")


def _agent_flags(p: argparse.ArgumentParser, *, standalone: bool) -> None:
    eviction.add_flags(p)
    if standalone:
        p.add_argument("--server", required=True, help="the API server's URL (https://HOST:PORT)")
        p.add_argument("--token", default="",
                       help="the join token (K10<CA hash>::server:<secret>, the server's DATA_DIR/token)")
        p.add_argument("--token-file", default="",
                       help="file holding the join token (a copy of the server's DATA_DIR/token)")
        p.add_argument("--ca-file", default=None,
                       help="the cluster CA certificate (not needed with a full K10 token)")
        p.add_argument("--insecure-skip-tls-verify", action="store_true",
                       help="do not verify the API server's certificate")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                   help="where the agent keeps its state, logs and images (default %(default)s)")
    p.add_argument("--node-name", default=None, help="the Node's name (default: the hostname)")
    p.add_argument("--runtime", choices=("runc", "crun"), default="runc",
                   help="OCI runtime (default %(default)s)")
    p.add_argument("--cluster-id", default="",
                   help="short id naming this cluster's bridge, cgroups, netns... "
                        "(default: derived from the data dir)")
    p.add_argument("--registries", default=None,
                   help="registries.yaml (k3s format; default DATA_DIR/registries.yaml)")
    p.add_argument("--kubelet-port", type=int, default=DEFAULT_KUBELET_PORT,
                   help="port of the kubelet's HTTPS server (0: any free port; default %(default)s)")
    p.add_argument("--node-ip", default="", help="the node's InternalIP (default: the address of "
                   "the default route's interface)")
    p.add_argument("--pod-cidr", default="",
                   help="use this pod CIDR if the control plane gave the node none")
    p.add_argument("--service-cidr", default="10.43.0.0/16",
                   help="service CIDR pods get a route to (default %(default)s)")
    p.add_argument("--cluster-cidr", default="10.42.0.0/16",
                   help="pod IP range of the whole cluster; each node gets a /24 of it "
                        "(default %(default)s)")
    p.add_argument("--pod-network", choices=("vxlan", "host-gw", "none"), default="vxlan",
                   help="how pods reach pods on other nodes: vxlan (overlay, any network), "
                        "host-gw (routes, nodes on one LAN) or none (default %(default)s)")
    p.add_argument("--disable-network-policy", action="store_true",
                   help="do not enforce NetworkPolicy on this node (k3s' flag of the same name)")
    p.add_argument("--cluster-dns", action="append", default=[],
                   help="nameserver for ClusterFirst pods (repeatable; default: the kube-dns "
                        "Service, the 10th address of --service-cidr)")
    p.add_argument("--nodeport-addresses", default="",
                   help="comma-separated addresses or CIDRs NodePorts answer on (default: every local "
                        "address of the node, 127.0.0.1 included)")
    p.add_argument("--ingress-http-port", type=int, default=80,
                   help="port of the built-in Ingress controller's HTTP listener on every address "
                        "of the node (0: off; default %(default)s)")
    p.add_argument("--ingress-https-port", type=int, default=443,
                   help="port of its HTTPS listener (0: off; default %(default)s)")
    p.add_argument("--node-lease-duration-seconds", type=int, default=40,
                   help="the node Lease's duration; the agent renews it every quarter of that "
                        "(the kubelet's nodeLeaseDurationSeconds; default %(default)s)")
    p.add_argument("--max-pods", type=int, default=MAX_PODS,
                   help="the number of pods this node can run: its `pods` capacity, enforced when "
                        "the agent admits a pod (the kubelet's --max-pods; default %(default)s)")
    p.add_argument("--cleanup", action="store_true",
                   help="remove this cluster's containers, sandboxes, bridge and cgroups, then exit")


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    agent = subparsers.add_parser("agent", help="join a cluster as a node and run its pods")
    _agent_flags(agent, standalone=True)
    up = subparsers.add_parser("up", help="run an API server and a node agent on this machine")
    up.add_argument("--listen", default="127.0.0.1:6443",
                    help="HOST:PORT for the API server (default %(default)s)")
    up.add_argument("--advertise-address", default="",
                    help="the API server's address for the cluster (kubernetes Service endpoint; "
                         "default: the listen host, or the default route's address for 0.0.0.0)")
    up.add_argument("--datastore-endpoint", default="",
                    help="sqlite:///PATH (default) or etcd://HOST:PORT")
    up.add_argument("--tls-san", action="append", default=[],
                    help="extra name or IP for the serving certificate (repeatable, or comma-separated)")
    up.add_argument("--token", default="",
                    help="the join secret agents present (default: made once, kept in DATA_DIR/server/token)")
    up.add_argument("--cluster-init", action="store_true",
                    help="store on an embedded etcd member (DATA_DIR/server/db/etcd) that other "
                         "`kubelite server --server` join, instead of SQLite")
    _agent_flags(up, standalone=False)


def config_from_args(args: argparse.Namespace, *, server: str = "", token_file: str = "",
                     ca_file: str | None = None) -> AgentConfig:
    import socket

    for flag in ("ingress_http_port", "ingress_https_port"):
        if not 0 <= getattr(args, flag) <= 65535:
            raise ValueError(f"invalid --{flag.replace('_', '-')} {getattr(args, flag)}: a port, 0 to 65535")

    return AgentConfig(
        server=server or args.server,
        token_file=token_file or args.token_file,
        token_value="" if token_file else args.token,
        ca_file=ca_file if ca_file is not None else getattr(args, "ca_file", None),
        insecure=bool(getattr(args, "insecure_skip_tls_verify", False)),
        node_name=(args.node_name or socket.gethostname()).lower(),
        data_dir=args.data_dir,
        runtime=args.runtime,
        cluster_id=args.cluster_id,
        registries=args.registries,
        kubelet_port=args.kubelet_port,
        node_ip=args.node_ip,
        service_cidr=args.service_cidr,
        cluster_cidr=args.cluster_cidr,
        pod_network=args.pod_network,
        network_policy=not args.disable_network_policy,
        cluster_dns=list(args.cluster_dns),
        nodeport_addresses=[a.strip() for a in args.nodeport_addresses.split(",") if a.strip()],
        ingress_http_port=args.ingress_http_port,
        ingress_https_port=args.ingress_https_port,
        pod_cidr=args.pod_cidr,
        node_lease_duration=args.node_lease_duration_seconds,
        max_pods=args.max_pods,
        **eviction.config_kwargs(args),
    )


def preflight_problems(runtime: str) -> list[str]:
    from kubelite.runtime.checks import preflight

    return preflight(runtime)


async def cleanup(config: AgentConfig) -> int:
    """`--cleanup`: remove every host resource this cluster id owns."""
    from kubelite.kubelet.host_runtime import HostRuntime

    rt = HostRuntime(config, config.saved_pod_cidr() or "10.255.255.0/24", "127.0.0.1")
    await rt.teardown()
    import shutil

    shutil.rmtree(config.names.run_dir, ignore_errors=True)
    shutil.rmtree(config.names.kubelet_dir, ignore_errors=True)
    print(f"removed the host resources of cluster {config.cluster_id}", file=sys.stderr)
    return 0


Stops = list[Callable[[], Awaitable[None]]]


class AgentStartError(Exception):
    """The node agent could not start (already logged)."""


async def start_kubelet(config: AgentConfig, stops: Stops) -> None:
    """Join the cluster (kubelet/bootstrap.py), then start the node agent with the node's own
    credential. The agent's stop joins `stops` as soon as it exists, so a stop requested
    mid-start still runs it. Raises AgentStartError (the token, the server or the start
    failed; already said)."""
    from kubelite.kubelet.bootstrap import JoinError, join
    from kubelite.kubelet.kubelet import Kubelet

    try:
        creds = await join(config)
    except JoinError as e:
        print(f"kubelite agent: {e}", file=sys.stderr, flush=True)
        raise AgentStartError from e
    config.ca_file = creds.ca_file
    config.client_cert_file, config.client_key_file = creds.client_cert_file, creds.client_key_file
    config.bearer_token = creds.bearer_token
    kubelet = Kubelet(config)
    if creds.server:  # `--server` may not have answered the join: start on the one that did
        kubelet.client.servers.use(creds.server)
    stops.append(kubelet.stop)
    try:
        await kubelet.start()
    except Exception as e:
        log.error("the node agent could not start: %s", e)
        raise AgentStartError from e
    print(f"kubelite agent: node {config.node_name} is ready", file=sys.stderr, flush=True)


async def serve_until_stopped(shutdown: Shutdown, start: Callable[[Stops], Awaitable[None]],
                              stops: Stops, what: str) -> int:
    """Run `start`, then wait for SIGINT/SIGTERM; then run `stops` in reverse order, each
    even if an earlier one failed. 1 if the start failed, else 0."""

    async def stop() -> None:
        for step in reversed(stops):
            try:
                await step()
            except Exception:
                log.exception("stopping %s", what)

    try:
        await shutdown.serve(lambda: start(stops), stop)
    except AgentStartError:
        return 1
    return 0


async def run_agent(config: AgentConfig, shutdown: Shutdown) -> int:
    return await serve_until_stopped(shutdown, lambda stops: start_kubelet(config, stops), [],
                                     "the node agent")


async def run(args: argparse.Namespace) -> int:
    if args.command == "up":
        return await run_up(args)
    try:
        config = config_from_args(args)
    except ValueError as e:
        print(f"kubelite agent: {e}", file=sys.stderr)
        return 2
    if args.cleanup:
        return await cleanup(config)
    if not config.token_value and not config.token_file:
        print("kubelite agent: --token or --token-file is required", file=sys.stderr)
        return 2
    problems = preflight_problems(config.runtime)
    if problems:
        print("kubelite agent cannot run containers on this machine:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    return await run_agent(config, Shutdown("the node agent").install())


async def run_up(args: argparse.Namespace) -> int:
    from kubelite.apiserver.join import TOKEN_FILE
    from kubelite.apiserver.server import ApiServer, ServerConfig

    data_dir = Path(args.data_dir).resolve()
    server_dir = data_dir / "server"
    try:
        config = config_from_args(args, server="https://placeholder",
                                  token_file=str(server_dir / TOKEN_FILE))
    except ValueError as e:
        print(f"kubelite up: {e}", file=sys.stderr)
        return 2
    config.data_dir = str(data_dir / "agent")
    if args.cleanup:
        return await cleanup(config)
    problems = preflight_problems(config.runtime)
    if problems:
        print("kubelite up cannot run containers on this machine:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    server_config = ServerConfig(data_dir=server_dir, listen=args.listen,
                                 datastore_endpoint=args.datastore_endpoint,
                                 advertise_address=args.advertise_address,
                                 cluster_cidr=args.cluster_cidr,
                                 service_cidr=config.service_cidr,
                                 tls_sans=split_list(args.tls_san), token=args.token)
    try:
        server_config.etcd = embedded_etcd(args, server_config)
    except ValueError as e:
        print(f"kubelite up: {e}", file=sys.stderr)
        return 2
    shutdown = Shutdown("kubelite up").install()
    server = ApiServer(server_config)
    shutdown.on_force(server.kill_children)

    async def start(stops: Stops) -> None:  # the server, then the agent (stopped in reverse)
        stops.append(server.stop)
        await server.start()
        config.server = server.url
        print(f"kubelite API server ready at {server.url}", file=sys.stderr, flush=True)
        print(join_hint(server), file=sys.stderr, flush=True)
        await start_kubelet(config, stops)
        print(f"export KUBECONFIG={server.kubeconfig_path}", flush=True)

    return await serve_until_stopped(shutdown, start, [], "kubelite up")


def embedded_etcd(args: argparse.Namespace, server: ServerConfig) -> EtcdSettings | None:
    """`up --cluster-init` (or a member already in the data dir): the server's store is an
    embedded etcd member starting a new cluster, as `kubelite server --cluster-init`."""
    from kubelite.apiserver.advertise import advertise_address
    from kubelite.etcd import layout
    from kubelite.etcd.embedded import EtcdSettings

    if not (args.cluster_init or layout.has_member(server.data_dir)):
        return None
    if args.datastore_endpoint:
        raise ValueError("--datastore-endpoint cannot be combined with --cluster-init")
    return EtcdSettings(advertise_ip=advertise_address(server.advertise_address, server.host),
                        cluster_init=True, extra_hosts=server.tls_sans)


def split_list(values: list[str]) -> list[str]:
    """Repeatable flags that also take comma-separated lists (k3s' `--tls-san a,b`)."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def join_hint(server: ApiServer) -> str:
    """How another machine joins this server (printed at start)."""
    from kubelite import hostaddr
    from kubelite.apiserver.join import TOKEN_FILE

    cfg = server.config
    host = cfg.advertise_address or cfg.host
    if host in ("0.0.0.0", "::", ""):
        host = hostaddr.default_route_address() or "127.0.0.1"
    token_file = cfg.data_dir / TOKEN_FILE
    hint = (f"to join a node, copy {token_file} to it and run:\n"
            f"  kubelite agent --server https://{host}:{server.port} --token-file FILE")
    if host.startswith("127."):
        hint += f"\n(the API server listens on {cfg.host} only: --listen 0.0.0.0:{server.port} serves other machines)"
    return hint


def main(argv: list[str] | None = None) -> int:
    """Run `agent`/`up` on their own (until cli/main.py wires them)."""
    parser = argparse.ArgumentParser(prog="kubelite")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("KUBELITE_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
