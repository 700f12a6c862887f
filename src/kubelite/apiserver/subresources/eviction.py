"""The pods/eviction subresource: a pod deletion that honours PodDisruptionBudgets.

As Kubernetes' eviction REST: a pod that is finished, pending or already being deleted goes
at once; otherwise the single budget selecting it must allow a disruption. The budget's
status.disruptionsAllowed is decremented and the pod recorded in status.disruptedPods in the
same optimistic write (a conflicting write retries), so two evictions racing for the last
allowed disruption never both win. A refusal is 429 TooManyRequests, which `kubectl drain`
retries.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.api.selectors import SelectorError, label_selector_from_struct
from kubelite.apiserver import objects
from kubelite.apiserver.decoding import check_shape
from kubelite.apiserver.deletion import rfc3339
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.responses import json_response
from kubelite.apiserver.rest import ObjectStore, WriteOptions

if TYPE_CHECKING:
    from kubelite.apiserver.handlers import ResourceHandlers

EVICTION = "io.k8s.api.policy.v1.Eviction"

VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
CAUSE_REASON = "DisruptionBudget"
MAX_DISRUPTED_PODS = 2000
CONFLICT_RETRIES = 10


async def serve(handlers: ResourceHandlers, request: web.Request, path: ResourcePath) -> web.Response:
    """POST pods/NAME/eviction: the pod deleted, or the Status that refuses it."""
    assert path.name is not None
    body = await handlers.object_body(request, path)
    check_shape(body, EVICTION)
    result = await evict(handlers.store, path.kind, path.namespace or "default", path.name, body,
                         handlers.write_options(request))
    return json_response(result, 201)


def _pdb_kind() -> Kind:
    kind = by_resource("policy", "v1", "poddisruptionbudgets")
    assert kind is not None
    return kind


def _is_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def can_ignore_budget(pod: dict[str, Any]) -> bool:
    """Finished, never-started and terminating pods are not protected by a budget."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(
        (pod.get("metadata") or {}).get("deletionTimestamp"))


def matching_budgets(pod: dict[str, Any], budgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    out = []
    for pdb in budgets:
        try:
            selector = label_selector_from_struct((pdb.get("spec") or {}).get("selector"))
        except (SelectorError, ValueError):
            continue
        if selector.matches(labels):
            out.append(pdb)
    return out


def refusal(pdb: dict[str, Any]) -> st.ApiError | None:
    """Why the budget refuses one more disruption (checkAndDecrement), or None."""
    name = pdb["metadata"]["name"]
    status = pdb.get("status") or {}
    generation = pdb["metadata"].get("generation") or 1
    if int(status.get("observedGeneration") or 0) < generation:
        return st.TooManyRequests(VIOLATION, causes=[{
            "reason": CAUSE_REASON,
            "message": f"The disruption budget {name} is still being processed by the server."}])
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        return st.Forbidden(f'poddisruptionbudgets.policy "{name}" is forbidden: pdb disruptions allowed is negative',
                            name=name, group="policy", kind="poddisruptionbudgets")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        return st.Forbidden(f'poddisruptionbudgets.policy "{name}" is forbidden: DisruptedPods map too big - '
                            "too many evictions not confirmed by PDB controller",
                            name=name, group="policy", kind="poddisruptionbudgets")
    if allowed == 0:
        return st.TooManyRequests(VIOLATION, causes=[{
            "reason": CAUSE_REASON,
            "message": f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} "
                       f"healthy pods and has {int(status.get('currentHealthy') or 0)} currently"}])
    return None


def unhealthy_may_go(pod: dict[str, Any], pdb: dict[str, Any]) -> bool:
    """A not-ready pod may be evicted without using the budget (unhealthyPodEvictionPolicy)."""
    if _is_ready(pod):
        return False
    policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") or "IfHealthyBudget"
    if policy == "AlwaysAllow":
        return True
    status = pdb.get("status") or {}
    desired = int(status.get("desiredHealthy") or 0)
    return desired > 0 and int(status.get("currentHealthy") or 0) >= desired


async def evict(store: ObjectStore, pods: Kind, namespace: str, name: str,
                body: dict[str, Any], opts: WriteOptions) -> dict[str, Any]:
    """Evict a pod; returns the Success Status, or raises the Status that refuses it."""
    body_name = (body.get("metadata") or {}).get("name")
    if body_name and body_name != name:
        raise st.BadRequest(f"name in URL does not match name in Eviction object: {name} vs {body_name}")
    options = dict(body.get("deleteOptions") or {})
    if options.get("dryRun"):
        opts.dry_run = True
    pod = objects.decode(await store.get(pods, namespace, name))
    if not can_ignore_budget(pod):
        await _take_disruption(store, pod, namespace, name, opts)
    await store.delete(pods, namespace, name, options, opts)
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


async def _take_disruption(store: ObjectStore, pod: dict[str, Any], namespace: str, name: str,
                           opts: WriteOptions) -> None:
    pdb_kind = _pdb_kind()
    for _ in range(CONFLICT_RETRIES):
        page = await store.list(pdb_kind, namespace)
        budgets = matching_budgets(pod, [objects.decode(i) for i in page.items])
        if not budgets:
            return
        if len(budgets) > 1:
            raise st.InternalError("This pod has more than one PodDisruptionBudget, which the eviction "
                                   "subresource does not support.")
        pdb = budgets[0]
        if unhealthy_may_go(pod, pdb):
            return
        refused = refusal(pdb)
        if refused is not None:
            raise refused
        if opts.dry_run:
            return
        status = dict(pdb.get("status") or {})
        status["disruptionsAllowed"] = int(status.get("disruptionsAllowed") or 0) - 1
        disrupted = dict(status.get("disruptedPods") or {})
        disrupted[name] = rfc3339(dt.datetime.now(dt.UTC))
        status["disruptedPods"] = disrupted
        if status["disruptionsAllowed"] == 0:
            for cond in status.get("conditions") or []:
                if cond.get("type") == "DisruptionAllowed":
                    cond.update(status="False", reason="InsufficientPods", message="",
                                lastTransitionTime=rfc3339(dt.datetime.now(dt.UTC)))
        pdb["status"] = status
        try:
            await store.update(pdb_kind, namespace, pdb["metadata"]["name"], pdb,
                               WriteOptions(field_manager=opts.field_manager), subresource="status")
            return
        except st.Conflict:
            continue
    raise st.TooManyRequests(VIOLATION, causes=[{"reason": CAUSE_REASON,
                                                  "message": "too many concurrent evictions; retry"}])
