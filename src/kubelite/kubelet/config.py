"""The agent's configuration, and every host-side name it derives from the cluster id.

Two clusters on one machine must never touch each other's bridge, nft table, cgroups, runc
state or network namespaces. Every such name is derived here from one short cluster id
(`--cluster-id`, or a hash of the data dir), and `--cleanup` removes exactly these.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from dataclasses import dataclass, field

DEFAULT_DATA_DIR = "/var/lib/kubelite"
DEFAULT_KUBELET_PORT = 10250
MAX_PODS = 110
_ID_RE = re.compile(r"^[a-z0-9]{1,8}$")


def cluster_id_for(data_dir: str) -> str:
    """A stable 6-character id for a data dir (the same dir always gives the same names)."""
    return hashlib.sha256(os.path.abspath(data_dir).encode()).hexdigest()[:6]


@dataclass(frozen=True)
class HostNames:
    """Names of the host resources one cluster's agent owns."""

    cluster_id: str
    data_dir: str

    @property
    def bridge(self) -> str:
        return f"kl{self.cluster_id}0"  # at most 11 characters: under IFNAMSIZ (15)

    @property
    def cni_network(self) -> str:
        return f"kubelite-{self.cluster_id}"

    @property
    def nft_table(self) -> str:
        return f"kubelite_{self.cluster_id}"

    @property
    def net_table(self) -> str:
        """The pod network's nft table (masquerade, forward): network/forwarding.py."""
        return f"kubelite_{self.cluster_id}_net"

    @property
    def policy_table(self) -> str:
        """NetworkPolicy's nft table (network/policy/)."""
        return f"kubelite_{self.cluster_id}_pol"

    @property
    def vxlan_device(self) -> str:
        """The pod network's vxlan device, flannel's `flannel.1` per cluster (VNI 1)."""
        return f"kl{self.cluster_id}.1"  # at most 12 characters

    @property
    def cgroup_root(self) -> str:
        return f"kubelite-{self.cluster_id}"

    @property
    def run_dir(self) -> str:
        """Runtime state (runc root, conmon dirs, sandbox ns files): gone at reboot is fine."""
        return f"/run/kubelite-{self.cluster_id}"

    @property
    def netns_prefix(self) -> str:
        return f"kl-{self.cluster_id}-"

    @property
    def kubelet_dir(self) -> str:
        return os.path.join(self.data_dir, "agent")

    @property
    def pod_logs_dir(self) -> str:
        return os.path.join(self.data_dir, "agent", "pod-logs")

    @property
    def pods_dir(self) -> str:
        return os.path.join(self.data_dir, "agent", "pods")

    @property
    def images_dir(self) -> str:
        return os.path.join(self.data_dir, "images")

    @property
    def ipam_dir(self) -> str:
        return os.path.join(self.run_dir, "ipam")


@dataclass
class AgentConfig:
    """What `kubelite agent` is told on its command line."""

    server: str
    token_file: str = ""
    ca_file: str | None = None  # default: the CA the join token pins (agent/server-ca.crt)
    token_value: str = ""  # `--token`, else read from token_file
    # The node's own credential, set by kubelet/bootstrap.py when it joins.
    client_cert_file: str | None = None
    client_key_file: str | None = None
    bearer_token: str | None = None  # the legacy shared node token only
    node_name: str = field(default_factory=lambda: socket.gethostname().lower())
    data_dir: str = DEFAULT_DATA_DIR
    runtime: str = "runc"
    cluster_id: str = ""
    registries: str | None = None  # default DATA_DIR/registries.yaml
    kubelet_host: str = "0.0.0.0"
    kubelet_port: int = DEFAULT_KUBELET_PORT
    node_ip: str = ""  # default: the address used to reach the server
    service_cidr: str = "10.43.0.0/16"
    cluster_cidr: str = "10.42.0.0/16"  # every node's pod CIDR lies inside it
    pod_network: str = "vxlan"  # vxlan | host-gw | none (network/)
    network_policy: bool = True  # enforce NetworkPolicy (network/policy/); k3s' --disable-network-policy
    pod_cidr: str = ""  # used when the control plane gives the Node no spec.podCIDR
    cluster_dns: list[str] = field(default_factory=list)  # default: kube-dns, the 10th service IP
    nodeport_addresses: list[str] = field(default_factory=list)  # default: every local address
    cluster_domain: str = "cluster.local"
    max_pods: int = MAX_PODS
    node_lease_duration: int = 40  # nodeLeaseDurationSeconds; renewed every quarter of it
    insecure: bool = False
    log_max_bytes: int = 10 * 1024 * 1024
    log_max_files: int = 5
    # Node allocatable and eviction (kubelet/eviction.py).
    system_reserved: dict[str, str] = field(default_factory=dict)  # e.g. {"cpu": "100m"}
    kube_reserved: dict[str, str] = field(default_factory=dict)
    eviction_hard: str = "memory.available<100Mi"
    eviction_pressure_transition_period: float = 300.0
    pod_pids_limit: int = 4096  # pids.max of each pod cgroup; -1: unlimited

    def __post_init__(self) -> None:
        self.data_dir = os.path.abspath(self.data_dir)
        if not self.cluster_id:
            self.cluster_id = cluster_id_for(self.data_dir)
        if not _ID_RE.match(self.cluster_id):
            raise ValueError(
                f"invalid --cluster-id {self.cluster_id!r}: use 1 to 8 lowercase letters or digits"
            )

    @property
    def names(self) -> HostNames:
        return HostNames(self.cluster_id, self.data_dir)

    @property
    def registries_file(self) -> str:
        return self.registries or os.path.join(self.data_dir, "registries.yaml")

    @property
    def pod_cidr_file(self) -> str:
        return os.path.join(self.names.kubelet_dir, "pod-cidr")

    def saved_pod_cidr(self) -> str:
        """The pod CIDR the agent last ran with (for `--cleanup` without a server)."""
        try:
            with open(self.pod_cidr_file) as f:
                return f.read().strip()
        except OSError:
            return ""

    def save_pod_cidr(self, cidr: str) -> None:
        os.makedirs(os.path.dirname(self.pod_cidr_file), exist_ok=True)
        with open(self.pod_cidr_file, "w") as f:
            f.write(cidr + "\n")

    def token(self) -> str:
        """The join token: `--token`, else the first line of `--token-file`."""
        if self.token_value:
            return self.token_value.strip()
        with open(self.token_file) as f:
            return f.read().strip()
