"""Defaulting of autoscaling/v2 HorizontalPodAutoscaler (pkg/apis/autoscaling/v2/defaults.go)."""

from __future__ import annotations

from kubelite.api.types import autoscaling_v2 as v2

DEFAULT_CPU_UTILIZATION = 80
MAX_POLICY = "Max"


def scale_up_rules(rules: v2.HPAScalingRules | None) -> v2.HPAScalingRules:
    """GenerateHPAScaleUpRules: no stabilization; 4 pods or 100% every 15 s, the larger."""
    out = rules or v2.HPAScalingRules()
    if out.stabilization_window_seconds is None:
        out.stabilization_window_seconds = 0
    if out.select_policy is None:
        out.select_policy = MAX_POLICY
    if not out.policies:
        out.policies = [v2.HPAScalingPolicy(type="Pods", value=4, period_seconds=15),
                        v2.HPAScalingPolicy(type="Percent", value=100, period_seconds=15)]
    return out


def scale_down_rules(rules: v2.HPAScalingRules | None) -> v2.HPAScalingRules:
    """GenerateHPAScaleDownRules: 100% every 15 s; the window stays unset (the controller's
    --horizontal-pod-autoscaler-downscale-stabilization applies)."""
    out = rules or v2.HPAScalingRules()
    if out.select_policy is None:
        out.select_policy = MAX_POLICY
    if not out.policies:
        out.policies = [v2.HPAScalingPolicy(type="Percent", value=100, period_seconds=15)]
    return out


def default_hpa(hpa: v2.HorizontalPodAutoscaler) -> None:
    spec = hpa.spec
    if spec is None:
        return
    if spec.min_replicas is None:
        spec.min_replicas = 1
    if not spec.metrics:
        spec.metrics = [v2.MetricSpec(type="Resource", resource=v2.ResourceMetricSource(
            name="cpu", target=v2.MetricTarget(type="Utilization",
                                               average_utilization=DEFAULT_CPU_UTILIZATION)))]
    if spec.behavior is not None:
        spec.behavior.scale_up = scale_up_rules(spec.behavior.scale_up)
        spec.behavior.scale_down = scale_down_rules(spec.behavior.scale_down)
