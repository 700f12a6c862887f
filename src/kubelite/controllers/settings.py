"""What `kubelite server` tells its controllers, and the flags that carry it to a
`kubelite controller-manager` process. Light to import: the API server uses it without
loading the controllers."""

from __future__ import annotations

from dataclasses import dataclass

from kubelite.controllers.node_ipam import DEFAULT_CLUSTER_CIDR
from kubelite.controllers.nodelifecycle import DEFAULT_GRACE_PERIOD, DEFAULT_MONITOR_PERIOD
from kubelite.controllers.podgc import DEFAULT_TERMINATED_THRESHOLD

HPA_SYNC_PERIOD = 15.0  # --horizontal-pod-autoscaler-sync-period
HPA_DOWNSCALE_STABILIZATION = 300.0  # --horizontal-pod-autoscaler-downscale-stabilization


@dataclass(frozen=True)
class ControllerSettings:
    """`pod_eviction_timeout` caps how long pods stay on a lost node whatever their tolerations
    say (None: their tolerationSeconds alone decide). `terminated_pod_gc_threshold` is how many
    Succeeded/Failed pods pod GC keeps (0: all). `root_ca_file` is the CA bundle published
    as kube-root-ca.crt (None: the one the client trusts)."""

    cluster_cidr: str = DEFAULT_CLUSTER_CIDR
    scheduler: bool = True
    node_monitor_grace_period: float = DEFAULT_GRACE_PERIOD
    node_monitor_period: float = DEFAULT_MONITOR_PERIOD
    pod_eviction_timeout: float | None = None
    terminated_pod_gc_threshold: int = DEFAULT_TERMINATED_THRESHOLD
    root_ca_file: str | None = None
    hpa_sync_period: float = HPA_SYNC_PERIOD
    hpa_downscale_stabilization: float = HPA_DOWNSCALE_STABILIZATION
    # kube-controller-manager's --leader-elect* flags (client-go's defaults), seconds
    leader_elect: bool = True
    leader_elect_lease_duration: float = 15.0
    leader_elect_renew_deadline: float = 10.0
    leader_elect_retry_period: float = 2.0

    def as_flags(self) -> list[str]:
        """The `kubelite controller-manager` flags that give these settings back."""
        flags = ["--cluster-cidr", self.cluster_cidr,
                 "--node-monitor-grace-period", str(self.node_monitor_grace_period),
                 "--node-monitor-period", str(self.node_monitor_period),
                 "--terminated-pod-gc-threshold", str(self.terminated_pod_gc_threshold),
                 "--horizontal-pod-autoscaler-sync-period", f"{self.hpa_sync_period}s",
                 "--horizontal-pod-autoscaler-downscale-stabilization",
                 f"{self.hpa_downscale_stabilization}s"]
        if not self.scheduler:
            flags.append("--disable-scheduler")
        if self.leader_elect:
            flags += ["--leader-elect-lease-duration", f"{self.leader_elect_lease_duration}s",
                      "--leader-elect-renew-deadline", f"{self.leader_elect_renew_deadline}s",
                      "--leader-elect-retry-period", f"{self.leader_elect_retry_period}s"]
        else:
            flags.append("--no-leader-elect")
        if self.pod_eviction_timeout is not None:
            flags += ["--pod-eviction-timeout", str(self.pod_eviction_timeout)]
        if self.root_ca_file is not None:
            flags += ["--root-ca-file", self.root_ca_file]
        return flags
