"""What every simulated node looks like, and the annotations pods use to steer the simulation."""

from __future__ import annotations

from dataclasses import dataclass, field

SIMULATED_LABEL = "kubelite.io/simulated"
KUBELET_VERSION = "v1.32.0-kubelite-sim"
CONTAINER_RUNTIME_VERSION = "sim://1.0"
OS_IMAGE = "kubelite simulated node"
KERNEL_VERSION = "6.1.0-kubelite-sim"
KUBELET_PORT = 10250
NODE_LEASE_NAMESPACE = "kube-node-lease"
FIELD_MANAGER = "kubelite-sim"

# A pod with restartPolicy Never and this annotation ends Succeeded (0) or Failed (other codes).
EXIT_CODE_ANNOTATION = "kubelite.io/sim-exit-code"
# How long such a pod runs before it ends (seconds, default 0).
RUN_SECONDS_ANNOTATION = "kubelite.io/sim-run-seconds"
# How long a deleted pod's containers take to stop (seconds, capped at its grace period); the
# final DELETE comes at once without it.
TERMINATION_SECONDS_ANNOTATION = "kubelite.io/sim-termination-seconds"


@dataclass(frozen=True)
class Timings:
    """Heartbeat periods, as the kubelet's defaults (lease renewed every 10 s, lasting 40 s)."""

    lease_duration_seconds: int = 40
    lease_renew_interval: float = 10.0
    node_status_interval: float = 60.0


@dataclass(frozen=True)
class NodeShape:
    """The capacity and labels shared by every simulated node."""

    cpu: str = "32"
    memory: str = "256Gi"
    pods: int = 110
    ephemeral_storage: str = "100Gi"
    labels: dict[str, str] = field(default_factory=dict)
    zones: int = 0
    prefix: str = "sim-"

    def capacity(self) -> dict[str, str]:
        return {
            "cpu": self.cpu,
            "ephemeral-storage": self.ephemeral_storage,
            "hugepages-1Gi": "0",
            "hugepages-2Mi": "0",
            "memory": self.memory,
            "pods": str(self.pods),
        }


def node_name(prefix: str, number: int, count: int) -> str:
    """sim-0001 ... (at least four digits, more when count needs them)."""
    width = max(4, len(str(count)))
    return f"{prefix}{number:0{width}d}"
