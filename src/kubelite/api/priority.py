"""Pod priority constants of scheduling.k8s.io (pkg/apis/scheduling/types.go), shared by the
PriorityClass validation, the Priority admission plugin and the system classes the API
server creates at start."""

from __future__ import annotations

from dataclasses import dataclass

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY
SYSTEM_PRIORITY_CLASS_PREFIX = "system-"
SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"
SYSTEM_NODE_CRITICAL = "system-node-critical"
DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS = 0
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"
PREEMPTION_POLICIES = (PREEMPT_LOWER_PRIORITY, PREEMPT_NEVER)


@dataclass(frozen=True)
class SystemPriorityClass:
    name: str
    value: int
    description: str
    global_default: bool = False


SYSTEM_PRIORITY_CLASSES = (
    SystemPriorityClass(SYSTEM_NODE_CRITICAL, SYSTEM_CRITICAL_PRIORITY + 1000,
                        "Used for system critical pods that must not be moved from their "
                        "current node."),
    SystemPriorityClass(SYSTEM_CLUSTER_CRITICAL, SYSTEM_CRITICAL_PRIORITY,
                        "Used for system critical pods that must run in the cluster, but can "
                        "be moved to another node if necessary."),
)


def known_system_class_error(name: str, value: int, global_default: bool) -> str:
    """IsKnownSystemPriorityClass: "" when (name, value, globalDefault) is a system class."""
    for spc in SYSTEM_PRIORITY_CLASSES:
        if spc.name == name:
            if spc.value != value:
                return f"value of {spc.name} PriorityClass must be {spc.value}"
            if spc.global_default != global_default:
                return f"globalDefault of {spc.name} PriorityClass must be {str(spc.global_default).lower()}"
            return ""
    return f"{name} is not a known system priority class"
