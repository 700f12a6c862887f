"""NetworkPolicy enforced on each node with nftables: policies, pods and namespaces in, one
table of this cluster's own out (`kubelite_<id>_pol`). Never imports apiserver/ or store/."""

from kubelite.network.policy.enforcer import PolicyEnforcer, remove_table
from kubelite.network.policy.model import PodInfo, compile_rules, dns_pod, pod_info
from kubelite.network.policy.ruleset import render

__all__ = ["PodInfo", "PolicyEnforcer", "compile_rules", "dns_pod", "pod_info", "remove_table", "render"]
