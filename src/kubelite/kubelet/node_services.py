"""The node side of Services, run by the agent: the service proxy and cluster DNS; and the
node's share of the pod network across machines (network/, `--pod-network`).

The proxy programs this cluster's own nft table (`HostNames.nft_table`) and routes the service
CIDR to the pod bridge, so the node reaches ClusterIPs too; pods reach them through their
route to the bridge's gateway address. NodePorts answer on `--nodeport-addresses` (default:
every local address, 127.0.0.1 included). Cluster DNS listens on the gateway address (port
53) and is published as this node's endpoint of kube-system/kube-dns (dns/node_endpoint.py);
ClusterFirst pods get the kube-dns ClusterIP (the tenth address of the service range) as
their nameserver unless `--cluster-dns` names another, or the gateway itself when the proxy
is not running. The built-in Ingress controller's proxy (ingress/node.py) listens on
`--ingress-http-port`/`--ingress-https-port` (80/443; 0 turns it off). Any part failing to
start is logged and the agent goes on without it (pods then get the node's resolv.conf).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from kubelite.client import ApiClient, Informer
from kubelite.dns import ClusterDns, node_endpoint
from kubelite.ingress.node import NodeIngress, publish_ports
from kubelite.kubelet.config import AgentConfig
from kubelite.network import NONE, LocalNode, PodNetwork, make_backend
from kubelite.network import cleanup as network_cleanup
from kubelite.proxy import ServiceProxy
from kubelite.proxy.nft import NftError, delete_table
from kubelite.proxy.ruleset import Scope
from kubelite.service_ips import dns_service_ip

log = logging.getLogger(__name__)

DNS_PORT = 53


class NodeServices:
    """Starts and stops the proxy and the DNS server of one node."""

    def __init__(self, client: ApiClient, config: AgentConfig, gateway: str, pod_cidr: str,
                 dns_port: int = DNS_PORT, services: Informer | None = None) -> None:
        self.client = client
        self.config = config
        self.gateway = gateway
        self.proxy = ServiceProxy(client, config.names.nft_table,
                                  service_cidr=config.service_cidr,
                                  route_device=config.names.bridge, cluster_cidr=pod_cidr,
                                  node_ips=tuple(config.nodeport_addresses),
                                  node_name=config.node_name, services=services)
        self.dns = ClusterDns(client, gateway, dns_port, zone=config.cluster_domain,
                              services=services)
        self.ingress: NodeIngress | None = None
        if config.ingress_http_port or config.ingress_https_port:
            self.ingress = NodeIngress(client, Path(config.names.ingress_dir), Path(config.names.run_dir),
                                       http_port=config.ingress_http_port,
                                       https_port=config.ingress_https_port, services=services)
        self.proxy_running = False
        self.dns_running = False

    async def start(self) -> None:
        try:
            await self.proxy.start()
            self.proxy_running = True
        except Exception as e:  # noqa: BLE001 - pods still run without Services
            log.warning("the service proxy could not start: %s", e)
            with contextlib.suppress(Exception):
                await self.proxy.stop()
        try:
            await self.dns.start()
            self.dns_running = True
            await node_endpoint.publish(self.client, self.config.node_name, self.gateway,
                                        self.dns.port)
        except Exception as e:  # noqa: BLE001 - pods fall back to the node's resolv.conf
            log.warning("cluster DNS could not start on %s:%d: %s", self.gateway,
                        self.dns.server.port, e)
            with contextlib.suppress(Exception):
                await self.dns.stop()
        await self._start_ingress()

    async def _start_ingress(self) -> None:
        if self.ingress is not None:
            try:
                await self.ingress.start()
            except Exception as e:  # noqa: BLE001 - the node runs pods without serving Ingresses
                log.warning("the Ingress proxy could not start on ports %d/%d: %s",
                            self.config.ingress_http_port, self.config.ingress_https_port, e)
                with contextlib.suppress(Exception):
                    await self.ingress.stop()
                self.ingress = None
        ports = (self.config.ingress_http_port, self.config.ingress_https_port) if self.ingress else None
        try:
            await publish_ports(self.client, self.config.node_name, ports)
        except Exception as e:  # noqa: BLE001 - the Ingresses' status may then miss this node
            log.warning("could not publish the Ingress ports on the node: %s", e)

    @property
    def dns_servers(self) -> list[str]:
        """The nameservers ClusterFirst pods get."""
        if self.config.cluster_dns:
            return list(self.config.cluster_dns)
        if not self.dns_running:
            return []
        return [dns_service_ip(self.config.service_cidr) if self.proxy_running else self.gateway]

    async def stop(self) -> None:
        """Stop them; the proxy's table and route stay until `--cleanup` (remove_proxy_rules),
        the Ingress proxy (a child process) stops with the agent."""
        if self.ingress is not None:
            with contextlib.suppress(Exception):
                await self.ingress.stop()
        if self.dns_running:
            with contextlib.suppress(Exception):
                await self.dns.stop()
            self.dns_running = False
        if self.proxy_running:
            with contextlib.suppress(Exception):
                await self.proxy.stop()
            self.proxy_running = False


async def remove_proxy_rules(config: AgentConfig) -> None:
    """`--cleanup`: the cluster's nft table, left behind by an agent that was killed."""
    with contextlib.suppress(NftError, OSError):
        await delete_table(config.names.nft_table)


def local_node(config: AgentConfig, node_ip: str, pod_cidr: str) -> LocalNode:
    names = config.names
    return LocalNode(config.node_name, node_ip, pod_cidr, config.cluster_cidr,
                     names.vxlan_device, names.net_table)


def pod_network(client: ApiClient, config: AgentConfig, node_ip: str,
                pod_cidr: str) -> PodNetwork | None:
    """The node's pod network backend (None with `--pod-network none`)."""
    if config.pod_network == NONE:
        return None
    local = local_node(config, node_ip, pod_cidr)
    loopback = Scope(node_ips=tuple(config.nodeport_addresses)).loopback_node_ports
    return PodNetwork(client, make_backend(config.pod_network, local), local, localnet=loopback)


async def remove_pod_network(config: AgentConfig) -> None:
    """`--cleanup`: the vxlan device, host-gw routes, NAT table and iptables exception."""
    await network_cleanup(local_node(config, "", config.saved_pod_cidr()))
