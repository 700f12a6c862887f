"""networking.k8s.io/v1 defaults (pkg/apis/networking/v1/defaults.go).

An Ingress has none: a path's `pathType` is required, never defaulted.
"""

from __future__ import annotations

from kubelite.api.types import networking_v1

SCOPE_CLUSTER = "Cluster"


def default_ingress_class(ic: networking_v1.IngressClass) -> None:
    """SetDefaults_IngressClass: a parameters reference without a scope is cluster-scoped."""
    params = ic.spec.parameters if ic.spec else None
    if params is not None and params.scope is None:
        params.scope = SCOPE_CLUSTER


def default_network_policy(np: networking_v1.NetworkPolicy) -> None:
    """SetDefaults_NetworkPolicy and _NetworkPolicyPort: without policyTypes a policy is for
    Ingress, and for Egress too when it has egress rules; a port's protocol is TCP."""
    spec = np.spec
    if spec is None:
        return
    if not spec.policy_types:
        spec.policy_types = ["Ingress", "Egress"] if spec.egress else ["Ingress"]
    ports = [p for r in spec.ingress or [] for p in r.ports or []]
    ports += [p for r in spec.egress or [] for p in r.ports or []]
    for port in ports:
        if port.protocol is None:
            port.protocol = "TCP"
