"""Horizontal pod autoscaler controller (pkg/controller/podautoscaler/horizontal.go).

Every sync period (`--horizontal-pod-autoscaler-sync-period`, 15 s) each HPA reads its
target's scale subresource, the usage of the target's pods from metrics.k8s.io and the pods
themselves, asks the replica calculator for a count per metric (the highest wins), brings it
through stabilization and the scaling rules (podautoscaler/normalize.py), writes the new
count to the scale subresource and the outcome to the HPA's status: currentMetrics,
currentReplicas, desiredReplicas, lastScaleTime and the AbleToScale / ScalingActive /
ScalingLimited conditions, with Kubernetes' reasons, messages and events.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from kubelite.api.registry import by_api_version
from kubelite.api.selectors import SelectorError, parse_label_selector
from kubelite.client import ApiError, NotFound
from kubelite.controllers.podautoscaler.metrics import (
    METRICS_PATH,
    milli_quantity,
    pod_info,
    pod_metrics,
)
from kubelite.controllers.podautoscaler.normalize import Cond, Normalizer
from kubelite.controllers.podautoscaler.replica_calculator import (
    Recommendation,
    ReplicaCalculationError,
    raw_resource_replicas,
    resource_replicas,
)
from kubelite.controllers.podutil import Obj, key_of, meta, rfc3339, utcnow
from kubelite.controllers.settings import HPA_DOWNSCALE_STABILIZATION, HPA_SYNC_PERIOD
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

COMPONENT = "horizontal-pod-autoscaler"
ABLE_TO_SCALE = "AbleToScale"
SCALING_ACTIVE = "ScalingActive"
SCALING_LIMITED = "ScalingLimited"
CONDITION_ORDER = (ABLE_TO_SCALE, SCALING_ACTIVE, SCALING_LIMITED)

# Event reasons and condition words, as horizontal.go has them.
SUCCESSFUL_RESCALE = "SuccessfulRescale"
FAILED_RESCALE = "FailedRescale"
FAILED_GET_SCALE = "FailedGetScale"
FAILED_COMPUTE = "FailedComputeMetricsReplicas"
GOT_SCALE = ("True", "SucceededGetScale", "the HPA controller was able to get the target's current scale")
DISABLED = ("False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
ABOVE_MAX = "Current number of replicas above Spec.MaxReplicas"
BELOW_MIN = "Current number of replicas below Spec.MinReplicas"
ALL_BELOW = "All metrics below target"
UNABLE = "the HPA was unable to compute the replica count: {}"


class MetricError(Exception):
    """One metric could not give a count: `reason` is the ScalingActive reason and event."""

    def __init__(self, reason: str, message: str, outer: str) -> None:
        super().__init__(outer)
        self.reason = reason
        self.message = message


@dataclass
class Outcome:
    """What one reconcile decided, before it is written."""

    conditions: dict[str, Cond] = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)


class HorizontalPodAutoscalerController(SharedController):
    """The kube-controller-manager "horizontalpodautoscaling" controller."""

    name = "horizontal-pod-autoscaler"
    workers = 2

    def __init__(self, client: Any, shared: SharedInformers | None = None, *,
                 sync_period: float = HPA_SYNC_PERIOD,
                 downscale_stabilization: float = HPA_DOWNSCALE_STABILIZATION) -> None:
        super().__init__(client, shared)
        self.sync_period = sync_period
        self.normalizer = Normalizer(downscale_stabilization)

    def setup(self) -> None:
        self.hpas = self.informer("horizontalpodautoscalers", raw=True)
        self.pods = self.informer("pods", raw=True,
                                  indexers={"namespace": lambda o: [meta(o).get("namespace", "")]})
        self.hpas.on_add(lambda o: self.queue.add(key_of(o)))
        self.hpas.on_update(self._updated)
        self.hpas.on_delete(lambda o: self.normalizer.forget(key_of(o)))

    def _updated(self, old: Obj, new: Obj) -> None:
        if (old.get("spec") or {}) != (new.get("spec") or {}):
            self.queue.add(key_of(new))

    async def reconcile(self, key: str) -> float | None:
        hpa = self.hpas.get(key)
        if hpa is None:
            self.normalizer.forget(key)
            return None
        try:
            await self._reconcile(key, hpa)
        except NotFound:
            return None
        return self.sync_period

    # -- one pass -------------------------------------------------------------------------

    async def _reconcile(self, key: str, hpa: Obj) -> None:
        spec = hpa.get("spec") or {}
        out = Outcome()
        status = dict(hpa.get("status") or {})
        ref = spec.get("scaleTargetRef") or {}
        namespace = meta(hpa).get("namespace", "")
        try:
            scale_path, scale = await self._get_scale(ref, namespace)
        except (ApiError, LookupError) as e:
            out.conditions[ABLE_TO_SCALE] = ("False", FAILED_GET_SCALE,
                                             f"the HPA controller was unable to get the target's current scale: {_text(e)}")
            out.events.append(("Warning", FAILED_GET_SCALE, _text(e)))
            await self._write(hpa, status, out)
            return
        out.conditions[ABLE_TO_SCALE] = GOT_SCALE
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        minimum = int(spec.get("minReplicas") or 1)
        maximum = int(spec.get("maxReplicas") or 0)
        metric_statuses = status.get("currentMetrics")
        reason = ""
        if current == 0 and minimum != 0:
            desired = 0
            out.conditions[SCALING_ACTIVE] = DISABLED
        elif current > maximum:
            desired, reason = maximum, ABOVE_MAX
        elif current < minimum:
            desired, reason = minimum, BELOW_MIN
        else:
            selector = (scale.get("status") or {}).get("selector") or ""
            proposal, metric_name, metric_statuses, error = self._compute(
                spec, namespace, selector, current, await self._metrics(namespace, selector), out)
            if proposal is None:
                status.update(currentReplicas=current, currentMetrics=metric_statuses or None)
                out.events.append(("Warning", FAILED_COMPUTE, error))
                await self._write(hpa, status, out)
                return
            desired = proposal
            if desired > current:
                reason = f"{metric_name} above target"
            elif desired < current:
                reason = ALL_BELOW
            desired, able, limited = self.normalizer.normalize(key, spec, current, desired)
            out.conditions[ABLE_TO_SCALE] = able
            out.conditions[SCALING_LIMITED] = limited
        rescale = desired != current
        if rescale:
            scale.setdefault("spec", {})["replicas"] = desired
            try:
                await self.client.request("PUT", scale_path, body=scale)
            except ApiError as e:
                out.conditions[ABLE_TO_SCALE] = ("False", "FailedUpdateScale",
                                                 f"the HPA controller was unable to update the target scale: {_text(e)}")
                out.events.append(("Warning", FAILED_RESCALE,
                                   f"New size: {desired}; reason: {reason}; error: {_text(e)}"))
                status.update(currentReplicas=current, currentMetrics=metric_statuses)
                await self._write(hpa, status, out)
                raise
            self.normalizer.record_scale(key, spec, current, desired)
            out.conditions[ABLE_TO_SCALE] = ("True", "SucceededRescale",
                                             f"the HPA controller was able to update the target scale to {desired}")
            out.events.append(("Normal", SUCCESSFUL_RESCALE, f"New size: {desired}; reason: {reason}"))
            log.info("%s: rescaled %s/%s from %d to %d: %s", key, ref.get("kind"), ref.get("name"),
                     current, desired, reason)
        status = {"currentReplicas": current, "desiredReplicas": desired,
                  "lastScaleTime": rfc3339(utcnow()) if rescale else status.get("lastScaleTime"),
                  "currentMetrics": metric_statuses or None, "conditions": status.get("conditions")}
        await self._write(hpa, status, out)

    async def _get_scale(self, ref: Obj, namespace: str) -> tuple[str, Obj]:
        api_version = str(ref.get("apiVersion") or "")
        kind = by_api_version(api_version, str(ref.get("kind") or ""))
        if kind is not None and kind.has_subresource("scale"):
            path = self.client.path(kind, namespace, str(ref.get("name")), "scale")
        else:
            path = await self._discovered_scale_path(ref, namespace)
        return path, await self.client.request("GET", path)

    async def _discovered_scale_path(self, ref: Obj, namespace: str) -> str:
        """The scale subresource of a kind the registry does not know (a CRD's), found by
        discovery as Kubernetes' scale client finds it through its REST mapper."""
        api_version = str(ref.get("apiVersion") or "")
        group = api_version.rpartition("/")[0]
        missing = LookupError(f'no matches for kind "{ref.get("kind")}" in group "{group}"')
        if not group:
            raise missing
        try:
            listed = await self.client.request("GET", f"/apis/{api_version}")
        except ApiError:
            raise missing from None
        resources = (listed or {}).get("resources") or []
        names = {r.get("name") for r in resources}
        for resource in resources:
            plural = str(resource.get("name", ""))
            if resource.get("kind") == ref.get("kind") and "/" not in plural \
                    and f"{plural}/scale" in names:
                scope = f"/namespaces/{namespace}" if resource.get("namespaced") else ""
                return f"/apis/{api_version}{scope}/{plural}/{ref.get('name')}/scale"
        raise missing

    async def _metrics(self, namespace: str, selector: str) -> list[Obj] | str:
        """PodMetrics items of the selected pods, or the error that kept them away."""
        try:
            body = await self.client.request("GET", METRICS_PATH.format(namespace=namespace),
                                             params={"labelSelector": selector} if selector else None)
        except ApiError as e:
            return f"unable to fetch metrics from resource metrics API: {_text(e)}"
        items: list[Obj] = (body or {}).get("items") or []
        return items

    def _compute(self, spec: Obj, namespace: str, selector: str, current: int,
                 metrics: list[Obj] | str, out: Outcome) -> tuple[int | None, str, list[Obj], str]:
        """computeReplicasForMetrics: (highest proposal or None, its metric's name, statuses,
        the error when no metric could be used)."""
        proposal: int | None = None
        proposal_name = ""
        statuses: list[Obj] = []
        invalid: list[str] = []
        specs = spec.get("metrics") or []
        for metric in specs:
            try:
                replicas, name, metric_status = self._one_metric(metric, namespace, selector,
                                                                 current, metrics)
            except MetricError as e:
                statuses.append({"type": ""})
                invalid.append(str(e))
                out.conditions[SCALING_ACTIVE] = ("False", e.reason, UNABLE.format(e.message))
                out.events.append(("Warning", e.reason, e.message))
                continue
            statuses.append(metric_status)
            if proposal is None or replicas > proposal:
                proposal, proposal_name = replicas, name
        if invalid and (len(invalid) >= len(specs) or (proposal is not None and proposal < current)):
            error = f"invalid metrics ({len(invalid)} invalid out of {len(specs)}), first error is: {invalid[0]}"
            return None, "", statuses, error
        out.conditions[SCALING_ACTIVE] = ("True", "ValidMetricFound",
                                          f"the HPA was able to successfully calculate a replica count from {proposal_name}")
        return proposal, proposal_name, statuses, ""

    def _one_metric(self, metric: Obj, namespace: str, selector: str, current: int,
                    metrics: list[Obj] | str) -> tuple[int, str, Obj]:
        kind = metric.get("type")
        if kind != "Resource" or not metric.get("resource"):
            reason = f"FailedGet{kind}Metric"
            raise MetricError(reason, f"the {kind} metric source is not supported here",
                              f"failed to get {kind} metric: the {kind} metric source is not supported here")
        resource = str(metric["resource"].get("name"))
        target = metric["resource"].get("target") or {}
        utilization = target.get("type") == "Utilization"
        noun = "utilization" if utilization else "usage"
        try:
            if isinstance(metrics, str):
                raise ReplicaCalculationError(f"unable to get metrics for resource {resource}: {metrics}")
            if not selector:
                raise ReplicaCalculationError("selector is required")
            recommendation = self._recommend(resource, target, current, namespace, selector, metrics)
        except ReplicaCalculationError as e:
            inner = f"failed to get {resource} {noun}: {e}"
            raise MetricError("FailedGetResourceMetric", inner,
                              f"failed to get {resource} resource metric value: {inner}") from None
        current_value: Obj = {"averageValue": milli_quantity(recommendation.average)}
        if utilization:
            current_value["averageUtilization"] = recommendation.utilization
            name = f"{resource} resource utilization (percentage of request)"
        else:
            name = f"{resource} resource"
        status = {"type": "Resource", "resource": {"name": resource, "current": current_value}}
        return recommendation.replicas, name, status

    def _recommend(self, resource: str, target: Obj, current: int, namespace: str, selector: str,
                   items: list[Obj]) -> Recommendation:
        try:
            chosen = parse_label_selector(selector)
        except SelectorError as e:
            raise ReplicaCalculationError(f"couldn't convert selector into a corresponding internal selector object: {e}") from None
        pods = [pod_info(p, resource) for p in self.pods.by_index("namespace", namespace)
                if chosen.matches(meta(p).get("labels") or {})]
        usage = pod_metrics(items, resource)
        now = dt.datetime.now(dt.UTC)
        if target.get("type") == "Utilization":
            return resource_replicas(current, int(target.get("averageUtilization") or 0), resource,
                                     pods, usage, now)
        average = pod_metrics([{"containers": [{"usage": {resource: target.get("averageValue")}}]}],
                              resource)
        return raw_resource_replicas(current, next(iter(average.values())).value, resource, pods,
                                     usage, now)

    # -- writing --------------------------------------------------------------------------

    async def _write(self, hpa: Obj, status: Obj, out: Outcome) -> None:
        for type_, reason, message in out.events:
            await self.client.create_event(hpa, reason, message, type=type_, component=COMPONENT,
                                           involved_kind="horizontalpodautoscalers")
        conditions = merge_conditions(list(status.get("conditions") or []), out.conditions,
                                      rfc3339(utcnow()))
        new_status = {k: v for k, v in {**status, "conditions": conditions}.items() if v is not None}
        new_status.setdefault("desiredReplicas", (hpa.get("status") or {}).get("desiredReplicas", 0))
        if new_status == (hpa.get("status") or {}):
            return
        updated = {**hpa, "status": new_status}
        await self.client.update("horizontalpodautoscalers", updated, raw=True, subresource="status")


def _text(error: Exception) -> str:
    """An error as Go prints it: a Status's message alone."""
    return error.message if isinstance(error, ApiError) else str(error)


def merge_conditions(existing: list[Obj], new: dict[str, Cond], now: str) -> list[Obj]:
    """setCondition for each new one: the transition time moves only when the status does."""
    by_type = {c.get("type"): c for c in existing}
    for type_ in CONDITION_ORDER:
        if type_ not in new:
            continue
        status, reason, message = new[type_]
        old = by_type.get(type_)
        when = old.get("lastTransitionTime") if old and old.get("status") == status else now
        by_type[type_] = {"type": type_, "status": status, "lastTransitionTime": when,
                          "reason": reason, "message": message}
    ordered = [by_type[t] for t in CONDITION_ORDER if t in by_type]
    return ordered + [c for t, c in by_type.items() if t not in CONDITION_ORDER]
