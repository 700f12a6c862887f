"""Pod networking with the standard CNI plugins, invoked directly (no CNI library).

One Linux bridge per cluster on this machine; each pod gets a veth on it and an address from
host-local IPAM in the node's pod CIDR. The bridge holds the first address of the CIDR (the
pods' gateway). Pods get the pod CIDR (on-link) and, when given, routes to the cluster CIDR
(every node's pods, reached through the host and network/'s backends) and to the service CIDR
via the gateway. With a service CIDR (a node of a cluster, as the agent always runs) they also
get a default route via the gateway, as Kubernetes' pods do: a pod must answer clients
anywhere (a NodePort with externalTrafficPolicy: Local keeps the client's address; one
masqueraded to a node's LAN address comes from outside the cluster CIDR), and what it sends
out of the cluster is masqueraded by the node (network/forwarding.py).

We create the bridge and its address ourselves and call the bridge plugin with
`isGateway: false`, because the plugin turns on `net.ipv4.ip_forward` whenever it acts as a
gateway. Forwarding is only needed when pods reach services (DNAT on the host sends the packet
back out of the bridge), so `CniNetwork.setup()` enables it only when a service CIDR is given,
and never turns it off again (other networks on the host may rely on it).

hostPort mappings go through the portmap plugin, chained after the bridge result.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import socket
from dataclasses import dataclass
from typing import Any

CNI_BIN_DIR = "/usr/lib/cni"
CNI_VERSION = "1.0.0"
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"


class CniError(Exception):
    """A CNI plugin failed; the message carries the plugin's own error."""


@dataclass(frozen=True)
class PortMapping:
    """A hostPort: traffic to host_port on the node goes to container_port in the pod."""

    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""


def enable_ip_forward() -> bool:
    """Turn on IPv4 forwarding; returns whether it was already on."""
    with open(IP_FORWARD) as f:
        was_on = f.read().strip() == "1"
    if not was_on:
        with open(IP_FORWARD, "w") as f:
            f.write("1\n")
    return was_on


async def _run(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace").strip()


def link_exists(name: str) -> bool:
    """Whether this network namespace has a device `name`. Asked of the kernel (an ioctl in
    our own namespace), not of /sys/class/net, which shows the namespace /sys was mounted in:
    an agent entered into a machine's namespace with `nsenter --net` sees the host's there."""
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True


async def teardown_network(bridge_name: str) -> None:
    """Remove the cluster's bridge (after every pod's network is deleted). Idempotent."""
    if link_exists(bridge_name):
        rc, out = await _run("ip", "link", "del", bridge_name)
        if rc != 0 and link_exists(bridge_name):
            raise CniError(f"deleting bridge {bridge_name}: {out}")


class CniNetwork:
    """One cluster's pod network on this machine: a bridge, a pod CIDR and an IPAM directory."""

    def __init__(
        self,
        bridge_name: str,
        pod_cidr: str,
        ipam_dir: str,
        *,
        service_cidr: str = "",
        cluster_cidr: str = "",
        network_name: str = "",
        cni_bin_dir: str = CNI_BIN_DIR,
        cache_dir: str = "",
        mtu: int = 1500,
    ) -> None:
        if len(bridge_name) > 15:
            raise ValueError(f"bridge name {bridge_name!r} is longer than 15 characters")
        self.bridge_name = bridge_name
        self.subnet = ipaddress.ip_network(pod_cidr)
        self.gateway = str(next(self.subnet.hosts()))
        self.ipam_dir = os.path.abspath(ipam_dir)
        self.cache_dir = os.path.abspath(cache_dir or self.ipam_dir + ".results")
        self.service_cidr = service_cidr
        self.cluster_cidr = cluster_cidr
        self.network_name = network_name or bridge_name
        self.cni_bin_dir = cni_bin_dir
        self.mtu = mtu

    def config(self) -> dict[str, Any]:
        """The bridge plugin's network configuration."""
        routes = [{"dst": str(self.subnet)}]
        cluster = ipaddress.ip_network(self.cluster_cidr, strict=False) if self.cluster_cidr else None
        if cluster is not None and not (cluster.version == self.subnet.version
                                        and cluster.subnet_of(self.subnet)):  # type: ignore[arg-type]
            routes.append({"dst": str(cluster), "gw": self.gateway})
        if self.service_cidr:
            routes.append({"dst": self.service_cidr, "gw": self.gateway})
            routes.append({"dst": "0.0.0.0/0", "gw": self.gateway})
        return {
            "cniVersion": CNI_VERSION,
            "name": self.network_name,
            "type": "bridge",
            "bridge": self.bridge_name,
            "isGateway": False,
            "isDefaultGateway": False,
            "ipMasq": False,
            "hairpinMode": True,
            "mtu": self.mtu,
            "ipam": {
                "type": "host-local",
                "dataDir": self.ipam_dir,
                "ranges": [[{"subnet": str(self.subnet), "gateway": self.gateway}]],
                "routes": routes[1:],
            },
        }

    async def setup(self) -> None:
        """Create the bridge with the gateway address (idempotent)."""
        os.makedirs(self.ipam_dir, exist_ok=True)
        os.makedirs(self.cache_dir, exist_ok=True)
        dev = self.bridge_name
        if not link_exists(dev):
            rc, out = await _run("ip", "link", "add", dev, "type", "bridge")
            if rc != 0 and not link_exists(dev):
                raise CniError(f"creating bridge {dev}: {out}")
        gw = f"{self.gateway}/{self.subnet.prefixlen}"
        rc, out = await _run("ip", "addr", "replace", gw, "dev", dev)
        if rc != 0:
            raise CniError(f"adding {gw} to {dev}: {out}")
        rc, out = await _run("ip", "link", "set", dev, "up")
        if rc != 0:
            raise CniError(f"setting {dev} up: {out}")
        if self.service_cidr:
            enable_ip_forward()
            await _run("ip", "route", "replace", self.service_cidr, "dev", dev)

    async def _plugin(
        self, plugin: str, command: str, container_id: str, netns: str, conf: dict[str, Any]
    ) -> dict[str, Any]:
        env = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": container_id,
            "CNI_NETNS": netns,
            "CNI_IFNAME": "eth0",
            "CNI_PATH": self.cni_bin_dir,
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        }
        proc = await asyncio.create_subprocess_exec(
            os.path.join(self.cni_bin_dir, plugin),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        out, err = await proc.communicate(json.dumps(conf).encode())
        if proc.returncode != 0:
            try:
                detail = json.loads(out)
                message = f"{detail.get('msg', '')} {detail.get('details', '')}".strip()
            except ValueError:
                message = (err or out).decode(errors="replace").strip()
            raise CniError(f"{plugin} {command} {container_id}: {message}")
        if not out.strip():
            return {}
        result: dict[str, Any] = json.loads(out)
        return result

    def _portmap_conf(self, prev: dict[str, Any], ports: list[PortMapping]) -> dict[str, Any]:
        return {
            "cniVersion": CNI_VERSION,
            "name": self.network_name,
            "type": "portmap",
            "capabilities": {"portMappings": True},
            "snat": True,
            "runtimeConfig": {
                "portMappings": [
                    {"hostPort": p.host_port, "containerPort": p.container_port,
                     "protocol": p.protocol.lower(), **({"hostIP": p.host_ip} if p.host_ip else {})}
                    for p in ports
                ]
            },
            "prevResult": prev,
        }  # fmt: skip

    def _cache_path(self, container_id: str) -> str:
        if not container_id or "/" in container_id:
            raise ValueError(f"invalid container id {container_id!r}")
        return os.path.join(self.cache_dir, container_id + ".json")

    async def add(
        self, container_id: str, netns_path: str, port_mappings: list[PortMapping] | None = None
    ) -> str:
        """Attach the pod's network namespace to the bridge; returns the pod IP."""
        await self.setup()
        ports = list(port_mappings or [])
        result = await self._plugin("bridge", "ADD", container_id, netns_path, self.config())
        cached = {"netns": netns_path, "result": result, "ports": [p.__dict__ for p in ports]}
        with open(self._cache_path(container_id), "w") as f:
            json.dump(cached, f)
        if ports:
            conf = self._portmap_conf(result, ports)
            await self._plugin("portmap", "ADD", container_id, netns_path, conf)
        return str(result["ips"][0]["address"]).split("/")[0]

    async def delete(self, container_id: str, netns_path: str = "") -> None:
        """Detach the pod and release its IP. Safe to repeat, and to call without a netns."""
        cached: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            with open(self._cache_path(container_id)) as f:
                cached = json.load(f)
        netns = netns_path or cached.get("netns", "")
        if netns and not os.path.exists(netns):
            netns = ""  # the namespace is gone: the plugins then only release what they hold
        ports = [PortMapping(**p) for p in cached.get("ports", [])]
        if ports:
            conf = self._portmap_conf(cached.get("result", {}), ports)
            await self._plugin("portmap", "DEL", container_id, netns, conf)
        await self._plugin("bridge", "DEL", container_id, netns, self.config())
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._cache_path(container_id))

    async def check(self, container_id: str, netns_path: str) -> None:
        """Ask the bridge plugin whether the pod's network is still as it was set up; raises
        CniError if not."""
        try:
            with open(self._cache_path(container_id)) as f:
                cached = json.load(f)
        except (OSError, ValueError) as e:
            raise CniError(f"no network recorded for {container_id}") from e
        conf = {**self.config(), "prevResult": cached["result"]}
        await self._plugin("bridge", "CHECK", container_id, netns_path, conf)
