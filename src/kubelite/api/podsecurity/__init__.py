"""Pod Security Standards (privileged, baseline, restricted) as Kubernetes 1.32's
k8s.io/pod-security-admission: the levels and namespace labels, every check as a pure function of
a pod's metadata and spec, and where workloads carry their pod templates. The admission plugin
that applies them to requests is apiserver/podsecurity.py."""

from kubelite.api.podsecurity.levels import (
    BASELINE,
    LABEL_PREFIX,
    LATEST,
    PRIVILEGED,
    RESTRICTED,
    LevelVersion,
    Policy,
    Version,
    compare_levels,
    parse_level,
    parse_version,
    policy_to_evaluate,
)
from kubelite.api.podsecurity.registry import CHECKS, evaluate, forbidden_detail, forbidden_reason
from kubelite.api.podsecurity.result import Forbidden
from kubelite.api.podsecurity.templates import (
    has_pod_template,
    is_namespace,
    is_pod,
    is_significant_pod_update,
    pod_template,
)

__all__ = [
    "BASELINE", "CHECKS", "LABEL_PREFIX", "LATEST", "PRIVILEGED", "RESTRICTED", "Forbidden", "LevelVersion",
    "Policy", "Version", "compare_levels", "evaluate", "forbidden_detail", "forbidden_reason", "has_pod_template",
    "is_namespace", "is_pod", "is_significant_pod_update", "parse_level", "parse_version", "pod_template",
    "policy_to_evaluate",
]
