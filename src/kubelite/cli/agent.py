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
from kubelite.kubelet.config import DEFAULT_DATA_DIR, DEFAULT_KUBELET_PORT, AgentConfig

if TYPE_CHECKING:
    from kubelite.kubelet.kubelet import Kubelet

log = logging.getLogger("kubelite.agent")


def _agent_flags(p: argparse.ArgumentParser, *, standalone: bool) -> None:
    eviction.add_flags(p)
    if standalone:
        p.add_argument("--server", required=True, help="the API server's URL (https://HOST:PORT)")
        p.add_argument("--token-file", required=True,
                       help="file holding the node token (the server's DATA_DIR/auth/node-token)")
        p.add_argument("--ca-file", default=None,
                       help="the cluster CA certificate (the server's DATA_DIR/tls/ca.crt)")
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
    p.add_argument("--node-ip", default="", help="address to advertise (default: the one that "
                   "reaches the server)")
    p.add_argument("--pod-cidr", default="",
                   help="use this pod CIDR if the control plane gave the node none")
    p.add_argument("--service-cidr", default="10.43.0.0/16",
                   help="service CIDR pods get a route to (default %(default)s)")
    p.add_argument("--cluster-dns", action="append", default=[],
                   help="nameserver for ClusterFirst pods (repeatable)")
    p.add_argument("--cleanup", action="store_true",
                   help="remove this cluster's containers, sandboxes, bridge and cgroups, then exit")


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    agent = subparsers.add_parser("agent", help="join a cluster as a node and run its pods")
    _agent_flags(agent, standalone=True)
    up = subparsers.add_parser("up", help="run an API server and a node agent on this machine")
    up.add_argument("--listen", default="127.0.0.1:6443",
                    help="HOST:PORT for the API server (default %(default)s)")
    up.add_argument("--datastore-endpoint", default="",
                    help="sqlite:///PATH (default) or etcd://HOST:PORT")
    up.add_argument("--cluster-cidr", default="10.42.0.0/16",
                    help="pod IP range; each node gets a /24 of it (default %(default)s)")
    _agent_flags(up, standalone=False)


def config_from_args(args: argparse.Namespace, *, server: str = "", token_file: str = "",
                     ca_file: str | None = None) -> AgentConfig:
    import socket

    return AgentConfig(
        server=server or args.server,
        token_file=token_file or args.token_file,
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
        cluster_dns=list(args.cluster_dns),
        pod_cidr=args.pod_cidr,
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


class AgentStartError(Exception):
    """The node agent could not start (already logged)."""


async def start_kubelet(kubelet: Kubelet) -> None:
    try:
        await kubelet.start()
    except Exception as e:
        log.error("the node agent could not start: %s", e)
        raise AgentStartError from e


async def run_agent(config: AgentConfig, shutdown: Shutdown) -> int:
    from kubelite.kubelet.kubelet import Kubelet

    kubelet = Kubelet(config)

    async def start() -> None:
        await start_kubelet(kubelet)
        print(f"kubelite agent: node {config.node_name} is ready", file=sys.stderr, flush=True)

    try:
        await shutdown.serve(start, kubelet.stop)
    except AgentStartError:
        return 1
    return 0


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
    problems = preflight_problems(config.runtime)
    if problems:
        print("kubelite agent cannot run containers on this machine:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    return await run_agent(config, Shutdown("the node agent").install())


async def run_up(args: argparse.Namespace) -> int:
    from kubelite.apiserver.server import ApiServer, ServerConfig
    from kubelite.kubelet.kubelet import Kubelet

    data_dir = Path(args.data_dir).resolve()
    server_dir = data_dir / "server"
    try:
        config = config_from_args(
            args, server="https://placeholder", token_file=str(server_dir / "auth" / "node-token"),
            ca_file=str(server_dir / "tls" / "ca.crt"))
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
    shutdown = Shutdown("kubelite up").install()
    server = ApiServer(ServerConfig(data_dir=server_dir, listen=args.listen,
                                    datastore_endpoint=args.datastore_endpoint,
                                    cluster_cidr=args.cluster_cidr,
                                    service_cidr=config.service_cidr))
    shutdown.on_force(server.kill_children)
    stops: list[Callable[[], Awaitable[None]]] = [server.stop]  # run in reverse order

    async def start() -> None:
        await server.start()
        config.server = server.url
        print(f"kubelite API server ready at {server.url}", file=sys.stderr, flush=True)
        kubelet = Kubelet(config)
        stops.append(kubelet.stop)
        await start_kubelet(kubelet)
        print(f"export KUBECONFIG={server.kubeconfig_path}", flush=True)

    async def stop() -> None:  # the agent, then the server, even if the agent's stop fails
        for step in reversed(stops):
            try:
                await step()
            except Exception:
                log.exception("stopping kubelite up")

    try:
        await shutdown.serve(start, stop)
    except AgentStartError:
        return 1
    return 0


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
