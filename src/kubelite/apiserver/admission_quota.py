"""LimitRanger and ResourceQuota admission, in Kubernetes' words.

Both are admission callables of the shape `apiserver/admission.py` uses
(`await plugin(kind, namespace, obj, old)`, raising a `Status` error to refuse), and both act
on creates only, as Kubernetes' plugins do for pods. Order matters: `LimitRanger` first (it
fills in requests and limits), then `ResourceQuotaAdmission` (it charges what was filled in).

Quota usage is computed from the store at admission time rather than read from the quota's
`status.used`, so a quota refuses correctly before its controller has run. Pods admitted
but not yet written are remembered for a few seconds per namespace, so two creates racing
each other cannot both take the last unit of a quota on this API server.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

from kubelite.api import status as st
from kubelite.api.defaults import pod_qos_class
from kubelite.api.quantity import Quantity, QuantityError, canonical, parse_quantity
from kubelite.api.quota import (
    LEGACY_COUNTS,
    Usage,
    add,
    count_resource_name,
    counted_plural,
    matches_scopes,
    missing_constraints,
    pod_usage,
    pretty,
    quota_hard,
    resource_list,
)
from kubelite.api.registry import KINDS, Kind, by_resource
from kubelite.api.strategy import strategy_for
from kubelite.api.types import core_v1
from kubelite.api.validation.errors import invalid_message, status_causes
from kubelite.apiserver import objects
from kubelite.apiserver.admission import WatchedKind
from kubelite.store.interface import Store

LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger"
PENDING_SECONDS = 3.0

LIMIT_RANGES = by_resource("", "v1", "limitranges")
RESOURCE_QUOTAS = by_resource("", "v1", "resourcequotas")
PODS = by_resource("", "v1", "pods")

Obj = dict[str, Any]


async def _list(store: Store, kind: Kind | None, namespace: str) -> list[Obj]:
    assert kind is not None
    page = await store.list(objects.collection_prefix(kind, namespace))
    return [objects.decode(kv.value) for kv in page.items]


def _forbidden(kind: Kind, name: str, message: str) -> st.Forbidden:
    resource = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
    return st.Forbidden(f'{resource} "{name}" is forbidden: {message}', name=name,
                        group=kind.group, kind=kind.plural)


def _aggregate(errors: list[str]) -> str:
    """Go's utilerrors.NewAggregate text: one message, or `[a, b]`."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


# -- LimitRanger ----------------------------------------------------------------------------

def defaulted_item(item: Obj) -> Obj:
    """A Container LimitRangeItem with Kubernetes' defaulting: default from max, defaultRequest
    from default, then from min (SetDefaults_LimitRangeItem)."""
    if item.get("type") != "Container":
        return item
    default = dict(item.get("default") or {})
    default_request = dict(item.get("defaultRequest") or {})
    for key, value in (item.get("max") or {}).items():
        default.setdefault(key, value)
    for key, value in default.items():
        default_request.setdefault(key, value)
    for key, value in (item.get("min") or {}).items():
        default_request.setdefault(key, value)
    return {**item, "default": default, "defaultRequest": default_request}


def _value(q: Quantity) -> int:
    """Milli-units, as requestLimitEnforcedValues compares when it can."""
    return q.milli_value()


def _min_error(kind: str, name: str, enforced: Quantity, requests: Usage, limits: Usage) -> str:
    if name not in requests:
        return f"Minimum {name} usage per {kind} is {enforced}.  No request is specified."
    if _value(requests[name]) < _value(enforced):
        return f"Minimum {name} usage per {kind} is {enforced}, but request is {requests[name]}."
    if name in limits and _value(limits[name]) < _value(enforced):
        return f"Minimum {name} usage per {kind} is {enforced}, but limit is {limits[name]}."
    return ""


def _max_error(kind: str, name: str, enforced: Quantity, requests: Usage, limits: Usage) -> str:
    if name not in limits:
        return f"Maximum {name} usage per {kind} is {enforced}.  No limit is specified."
    if _value(limits[name]) > _value(enforced):
        return f"Maximum {name} usage per {kind} is {enforced}, but limit is {limits[name]}."
    if name in requests and _value(requests[name]) > _value(enforced):
        return f"Maximum {name} usage per {kind} is {enforced}, but request is {requests[name]}."
    return ""


def _ratio_error(kind: str, name: str, enforced: Quantity, requests: Usage, limits: Usage) -> str:
    req, lim = requests.get(name), limits.get(name)
    if req is None or req.is_zero():
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no request "
                "is specified or request is 0.")
    if lim is None or lim.is_zero():
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no limit "
                "is specified or limit is 0.")
    ratio = _value(lim) / _value(req)
    if ratio * 1000 > _value(enforced):
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but provided "
                f"ratio is {ratio:f}.")
    return ""


def _check(kind: str, item: Obj, requests: Usage, limits: Usage) -> list[str]:
    errors: list[str] = []
    for field, check in (("min", _min_error), ("max", _max_error),
                         ("maxLimitRequestRatio", _ratio_error)):
        for name, enforced in resource_list(item.get(field)).items():
            message = check(kind, name, enforced, requests, limits)
            if message:
                errors.append(message)
    return errors


def _sum_all(lists: list[Usage]) -> Usage:
    """Per resource, the total over every list, only where every list has it (as the plugin's
    `sum` does)."""
    out: Usage = {}
    for name in {n for lst in lists for n in lst}:
        if all(name in lst for lst in lists):
            out[name] = parse_quantity(0)
            for lst in lists:
                out[name] = out[name] + lst[name]
    return out


def _resources(container: Obj) -> tuple[Usage, Usage]:
    res = container.get("resources") or {}
    return resource_list(res.get("requests")), resource_list(res.get("limits"))


def limit_errors(limit_range: Obj, pod: Obj) -> list[str]:
    """Every min/max/ratio violation of `pod` (a dict, defaults already applied)."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or [])
    init = list(spec.get("initContainers") or [])
    errors: list[str] = []
    for raw_item in (limit_range.get("spec") or {}).get("limits") or []:
        item = defaulted_item(raw_item)
        if item.get("type") == "Container":
            for c in containers + init:
                errors += _check("Container", item, *_resources(c))
        elif item.get("type") == "Pod":
            pairs = [_resources(c) for c in containers]
            requests = _sum_all([p[0] for p in pairs])
            limits = _sum_all([p[1] for p in pairs])
            for c in init:  # an init container runs alone: the pod needs at least its amount
                req, lim = _resources(c)
                for name, q in req.items():
                    if name in requests and q > requests[name]:
                        requests[name] = q
                for name, q in lim.items():
                    if name in limits and q > limits[name]:
                        limits[name] = q
            errors += _check("Pod", item, requests, limits)
    return errors


def apply_defaults(limit_ranges: list[Obj], pod: core_v1.Pod) -> list[str]:
    """Fill in missing container requests and limits from the Container defaults; returns
    the annotation parts (`cpu, memory request for container app`)."""
    default: dict[str, str] = {}
    default_request: dict[str, str] = {}
    for lr in limit_ranges:
        for raw_item in (lr.get("spec") or {}).get("limits") or []:
            item = defaulted_item(raw_item)
            if item.get("type") == "Container":
                default.update({k: str(v) for k, v in (item.get("default") or {}).items()})
                default_request.update(
                    {k: str(v) for k, v in (item.get("defaultRequest") or {}).items()})
    if not default and not default_request or pod.spec is None:
        return []
    notes: list[str] = []
    for c in list(pod.spec.containers) + list(pod.spec.init_containers or []):
        if c.resources is None:
            c.resources = core_v1.ResourceRequirements()
        limits = dict(c.resources.limits or {})
        requests = dict(c.resources.requests or {})
        set_limits = sorted(k for k in default if k not in limits)
        set_requests = sorted(k for k in default_request if k not in requests)
        for k in set_limits:
            limits[k] = _canonical(default[k])
        for k in set_requests:
            requests[k] = _canonical(default_request[k])
        c.resources.limits = limits or None
        c.resources.requests = requests or None
        if set_requests:
            notes.append(f"{', '.join(set_requests)} request for container {c.name}")
        if set_limits:
            notes.append(f"{', '.join(set_limits)} limit for container {c.name}")
    return notes


def _canonical(value: str) -> str:
    try:
        return canonical(parse_quantity(value))
    except QuantityError:
        return value


class LimitRanger:
    """Applies a namespace's LimitRanges to new pods: defaults first, then min/max/ratio."""

    def __init__(self, store: Store, ranges: WatchedKind | None = None) -> None:
        self.store = store
        self.ranges = ranges

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if kind.kind != "Pod" or old is not None or not namespace:
            return
        ranges = (await self.ranges.in_namespace(namespace) if self.ranges is not None
                  else await _list(self.store, LIMIT_RANGES, namespace))
        if not ranges:
            return
        pod: core_v1.Pod = obj
        notes = apply_defaults(ranges, pod)
        if notes:
            meta = pod.metadata
            assert meta is not None
            meta.annotations = {**(meta.annotations or {}),
                                LIMIT_RANGER_ANNOTATION: "LimitRanger plugin set: " + "; ".join(notes)}
            if pod.status is not None:
                pod.status.qos_class = pod_qos_class(pod)
            field_errors = strategy_for(kind).validate(pod)  # e.g. a default limit below a request
            if field_errors:
                name = meta.name or ""
                raise st.Invalid(invalid_message(kind.kind, name, field_errors, kind.group),
                                 name=name, group=kind.group, kind=kind.kind,
                                 causes=status_causes(field_errors))
        as_dict = msgspec.to_builtins(pod)
        errors = [e for lr in ranges for e in limit_errors(lr, as_dict)]
        if errors:
            raise _forbidden(kind, pod.metadata.name or "" if pod.metadata else "",
                             _aggregate(errors))


# -- ResourceQuota --------------------------------------------------------------------------

def _kind_for(plural: str, group: str) -> Kind | None:
    return next((k for k in KINDS if k.plural == plural and k.group == group), None)


def object_usage(kind: Kind, obj: Obj) -> Usage:
    """What creating `obj` charges: a pod's compute usage, or one more object of its kind."""
    if kind.kind == "Pod":
        return pod_usage(obj)
    one = parse_quantity(1)
    out: Usage = {count_resource_name(kind.plural, kind.group): one}
    if not kind.group and kind.plural in LEGACY_COUNTS:
        out[kind.plural] = one
    return out


class ResourceQuotaAdmission:
    """Refuses a create that would take a namespace over one of its ResourceQuotas (403)."""

    def __init__(self, store: Store, quotas: WatchedKind | None = None) -> None:
        self.store = store
        self.quotas = quotas
        self._locks: dict[str, asyncio.Lock] = {}
        # namespace -> uid -> (expiry, usage, plural, group): admitted, maybe not yet stored.
        self._pending: dict[str, dict[str, tuple[float, Usage, str, str]]] = {}

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if old is not None or not namespace:
            return
        if self.quotas is not None and not await self.quotas.in_namespace(namespace):
            return  # the common case, answered from memory
        quotas = await _list(self.store, RESOURCE_QUOTAS, namespace)
        if not quotas:
            return
        as_dict = msgspec.to_builtins(obj)
        delta = object_usage(kind, as_dict)
        name = (as_dict.get("metadata") or {}).get("name", "")
        async with self._locks.setdefault(namespace, asyncio.Lock()):
            for quota in sorted(quotas, key=lambda q: (q.get("metadata") or {}).get("name", "")):
                await self._check(kind, namespace, name, as_dict, delta, quota)
            uid = (as_dict.get("metadata") or {}).get("uid") or name
            self._pending.setdefault(namespace, {})[uid] = (
                time.monotonic() + PENDING_SECONDS, delta, kind.plural, kind.group)

    async def _check(self, kind: Kind, namespace: str, name: str, obj: Obj, delta: Usage,
                     quota: Obj) -> None:
        hard = quota_hard(quota)
        quota_name = (quota.get("metadata") or {}).get("name", "")
        if kind.kind == "Pod":
            if not matches_scopes(quota, obj):
                return
            missing = missing_constraints(obj, hard)
            if missing:
                raise _forbidden(kind, name, f"failed quota: {quota_name}: {missing}")
        requested = {k: v for k, v in delta.items() if k in hard}
        if not requested:
            return
        used = await self.used(namespace, quota, list(requested))
        total = add(used, requested)
        exceeded = sorted(k for k in requested if total[k] > hard[k])
        if exceeded:
            raise _forbidden(kind, name, (
                f"exceeded quota: {quota_name}, "
                f"requested: {pretty({k: requested[k] for k in exceeded})}, "
                f"used: {pretty({k: used.get(k, parse_quantity(0)) for k in exceeded})}, "
                f"limited: {pretty({k: hard[k] for k in exceeded})}"))

    async def used(self, namespace: str, quota: Obj, names: list[str]) -> Usage:
        """Current usage of `names` in the namespace: stored objects plus pending admissions."""
        used: Usage = {n: parse_quantity(0) for n in names}
        pending = self._live_pending(namespace)
        pod_names = [n for n in names if counted_plural(n) is None]
        if pod_names:
            pods = await _list(self.store, PODS, namespace)
            stored = {(p.get("metadata") or {}).get("uid") for p in pods}
            for pod in pods:
                if matches_scopes(quota, pod):
                    used = _add_masked(used, pod_usage(pod), pod_names)
            for uid, (_exp, usage, plural, group) in pending.items():
                if plural == "pods" and not group and uid not in stored:
                    used = _add_masked(used, usage, pod_names)
        for n in names:
            target = counted_plural(n)
            if target is None:
                continue
            counted = _kind_for(*target)
            if counted is None:
                continue
            items = await _list(self.store, counted, namespace)
            stored = {(o.get("metadata") or {}).get("uid") for o in items}
            extra = sum(1 for uid, (_e, _u, plural, group) in pending.items()
                        if (plural, group) == target and uid not in stored)
            used[n] = parse_quantity(len(items) + extra)
        return used

    def _live_pending(self, namespace: str) -> dict[str, tuple[float, Usage, str, str]]:
        now = time.monotonic()
        entries = self._pending.get(namespace, {})
        for uid in [u for u, e in entries.items() if e[0] < now]:
            del entries[uid]
        return entries


def _add_masked(used: Usage, usage: Usage, names: list[str]) -> Usage:
    return add(used, {k: v for k, v in usage.items() if k in names})


def admission_plugins(
    store: Store, ranges: WatchedKind | None = None, quotas: WatchedKind | None = None
) -> list[Any]:
    """The two plugins in the order they must run (after NamespaceLifecycle); with watched
    copies of LimitRanges and ResourceQuotas, a namespace without any costs no store read."""
    return [LimitRanger(store, ranges), ResourceQuotaAdmission(store, quotas)]
