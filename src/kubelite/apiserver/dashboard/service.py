"""The dashboard as the API server holds it: its routes, the sampler that fills the
utilization history, and the authorization of the history's readers.

The scheduler's explanation of a pod (`/dashboard/api/explain`, explain.py) needs `get` on
the pod and `list` on nodes. The history's endpoints (`/dashboard/api/history`,
`/dashboard/metrics`) are authenticated
as every API request (401 without credentials), then authorized per series with the API
server's own authorizer as the Metrics API would be: a pod's series needs `get` on
`pods.metrics.k8s.io` in its namespace, a node's `get` on `nodes.metrics.k8s.io`. A reader
sees only the series it may get; asking for one by name that it may not is a 403.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from kubelite.api import status as st
from kubelite.apiserver.authz import Attributes, Decision, UserInfo
from kubelite.apiserver.authz.filter import forbidden
from kubelite.apiserver.dashboard import assets
from kubelite.apiserver.dashboard.explain import Explainer
from kubelite.apiserver.dashboard.feed import SamplerFeed
from kubelite.apiserver.dashboard.history import DEFAULT_INTERVAL, History, Series, samples_from
from kubelite.apiserver.handlers import json_response
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.interface import Store

log = logging.getLogger("kubelite.apiserver.dashboard")

API = f"{assets.PREFIX}/api/"
METRICS = f"{assets.PREFIX}/metrics"
METRICS_GROUP = "metrics.k8s.io"
# What each kind of series is read as: the cluster's totals as the node metrics they sum.
KINDS = {"node": "nodes", "pod": "pods", "cluster": "nodes"}
Summaries = Callable[[list[dict[str, Any]]], Awaitable[dict[str, dict[str, Any]]]]


class Dashboard:
    """Serves /dashboard/ and samples utilization every `interval` seconds."""

    def __init__(self, store: Store, summaries: Summaries, authorizer: Any = None,
                 interval: float = DEFAULT_INTERVAL, static: Path = assets.STATIC) -> None:
        self.feed = SamplerFeed(store)
        self.explainer = Explainer(store)
        self.summaries = summaries
        self.authorizer = authorizer
        self.history = History(interval)
        self.static = static
        self._task: asyncio.Task[None] | None = None

    # -- wiring ----------------------------------------------------------------------------

    @staticmethod
    def is_public(path: str) -> bool:
        return assets.is_public(path)

    @staticmethod
    def authorizes_itself(path: str) -> bool:
        return path.startswith(API) or path == METRICS

    def add_routes(self, router: web.UrlDispatcher, user_key: web.RequestKey[Any]) -> None:
        assets.add_routes(router, self.static)

        async def history(request: web.Request) -> web.Response:
            return self._history(request, request[user_key])

        async def metrics(request: web.Request) -> web.Response:
            return self._prometheus(request[user_key])

        async def explain(request: web.Request) -> web.Response:
            return await self._explain(request, request[user_key])

        router.add_get(API + "history", history)
        router.add_get(API + "explain", explain)
        router.add_get(METRICS, metrics)

    async def start(self, cache: WatchCache) -> None:
        await self.feed.start(cache)
        self._task = asyncio.create_task(self._run(), name="dashboard-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.feed.stop()

    # -- sampling --------------------------------------------------------------------------

    async def sample_once(self) -> None:
        nodes = dict(self.feed.nodes)
        summaries = await self.summaries(list(nodes.values())) if nodes else {}
        self.history.record(time.time(), list(samples_from(summaries, nodes, self.feed.pods)))

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.sample_once()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - one failed sweep leaves a gap, not a dead loop
                log.info("utilization sample failed: %s", e)
            await asyncio.sleep(max(0.0, self.history.interval - (time.monotonic() - started)))

    # -- reading ---------------------------------------------------------------------------

    def _attributes(self, user: Any, kind: str, namespace: str, name: str) -> Attributes:
        info = UserInfo(user.name, user.groups, user.uid, user.extra)
        return Attributes(info, "get", True, namespace=namespace, api_group=METRICS_GROUP,
                          api_version="v1beta1", resource=KINDS[kind], name=name)

    def _allowed(self, user: Any, series: Series) -> bool:
        if self.authorizer is None:
            return True
        attrs = self._attributes(user, series.kind, series.namespace, series.name)
        return bool(self.authorizer.authorize(attrs).decision is Decision.ALLOW)

    def _history(self, request: web.Request, user: Any) -> web.Response:
        q = request.query
        kind, namespace, name = q.get("kind", ""), q.get("namespace", ""), q.get("name", "")
        try:
            since = float(q.get("since", "0"))
        except ValueError:
            raise st.BadRequest(f'invalid value for since: "{q.get("since")}"') from None
        if kind and kind not in KINDS:
            raise st.BadRequest(f'unknown kind "{kind}": want node, pod or cluster')
        if kind and name:  # one series: 403 if the user may not read it, 404 if not sampled
            if self.authorizer is not None:
                attrs = self._attributes(user, kind, namespace if kind == "pod" else "", name)
                verdict = self.authorizer.authorize(attrs)
                if verdict.decision is not Decision.ALLOW:
                    raise forbidden(attrs, verdict.reason)
            series = self.history.get(kind, namespace if kind == "pod" else "", name)
            if series is None:
                raise st.NotFound(f'no utilization history for {kind} "{name}"')
            return json_response(self.history.as_json(series, since))
        items = [self.history.as_json(s, since) for s in self.history.all()
                 if (not kind or s.kind == kind) and (not namespace or s.namespace == namespace)
                 and self._allowed(user, s)]
        return json_response({"interval": self.history.interval, "items": items})

    async def _explain(self, request: web.Request, user: Any) -> web.Response:
        """The scheduler's per-node explanation of one pod, for a user who may `get` that pod
        and `list` nodes (what `kubelite explain-schedule` needs of them, and what it shows)."""
        namespace, name = request.query.get("namespace", ""), request.query.get("name", "")
        if not namespace or not name:
            raise st.BadRequest("namespace and name are required")
        if self.authorizer is not None:
            info = UserInfo(user.name, user.groups, user.uid, user.extra)
            for attrs in (Attributes(info, "get", True, namespace=namespace, api_version="v1", resource="pods", name=name),
                          Attributes(info, "list", True, api_version="v1", resource="nodes")):
                verdict = self.authorizer.authorize(attrs)
                if verdict.decision is not Decision.ALLOW:
                    raise forbidden(attrs, verdict.reason)
        # Copies of the feed's current views (taken on the loop; the thread reads only these).
        result = await self.explainer.explain(namespace, name, list(self.feed.nodes.values()),
                                              list(self.feed.bound.values()))
        return json_response(result)

    def _prometheus(self, user: Any) -> web.Response:
        return web.Response(text=render_prometheus(self.history, lambda s: self._allowed(user, s)),
                            content_type="text/plain", charset="utf-8")


PROMETHEUS_SERIES = (
    ("cpu_usage_cores", "CPU used, in cores, at the last sample", "gauge"),
    ("memory_working_set_bytes", "Memory working set, in bytes, at the last sample", "gauge"),
    ("cpu_request_cores", "CPU requested (a node: allocatable), in cores", "gauge"),
    ("cpu_limit_cores", "CPU limit (0: none; a node: allocatable), in cores", "gauge"),
    ("memory_request_bytes", "Memory requested (a node: allocatable), in bytes", "gauge"),
    ("memory_limit_bytes", "Memory limit (0: none; a node: allocatable), in bytes", "gauge"),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_prometheus(history: History, allowed: Callable[[Series], bool]) -> str:
    """The last sample of every series `allowed`, in the Prometheus text format:
    `kubelite_node_*{node=...}`, `kubelite_pod_*{namespace=...,pod=...,node=...}` and
    `kubelite_cluster_*` (requested by pods as its request, allocatable as its limit), with
    `kubelite_pod_container_restarts` and `kubelite_cluster_container_restarts`."""
    rows: dict[str, list[str]] = {}
    for series in history.all():
        if not allowed(series):
            continue
        latest = history.latest(series)
        r = series.resources
        values = (latest[0] if latest else None, latest[1] if latest else None,
                  r.cpu_request, r.cpu_limit, r.memory_request, r.memory_limit)
        if series.kind == "cluster":
            labels = ""
        elif series.kind == "node":
            labels = f'node="{_label(series.name)}"'
        else:
            labels = (f'namespace="{_label(series.namespace)}",pod="{_label(series.name)}",'
                      f'node="{_label(series.node)}"')
        if latest and series.restarts is not None:
            restarts = float(series.restarts[(history.head - 1) % history.size])
            rows.setdefault(f"kubelite_{series.kind}_container_restarts", []).append(
                f"{{{labels}}} {restarts!r}" if labels else f" {restarts!r}")
        for (suffix, _, _), value in zip(PROMETHEUS_SERIES, values, strict=True):
            if value is not None:
                rows.setdefault(f"kubelite_{series.kind}_{suffix}", []).append(
                    f"{{{labels}}} {float(value)!r}" if labels else f" {float(value)!r}")
    out: list[str] = []
    for kind in ("node", "pod", "cluster"):
        for suffix, help_text, mtype in PROMETHEUS_SERIES:
            metric = f"kubelite_{kind}_{suffix}"
            out += [f"# HELP {metric} {help_text}.", f"# TYPE {metric} {mtype}"]
            out += [metric + row for row in rows.get(metric, [])]
    for kind, whose in (("pod", "the pod's containers"), ("cluster", "the containers of every pod bound to a node")):
        metric = f"kubelite_{kind}_container_restarts"
        out += [f"# HELP {metric} Restarts of {whose}, at the last sample.",
                f"# TYPE {metric} gauge", *(metric + row for row in rows.get(metric, []))]
    return "\n".join(out) + "\n"
