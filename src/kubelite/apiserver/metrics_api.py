"""metrics.k8s.io/v1beta1: NodeMetrics and PodMetrics, read from each kubelet's /stats/summary.

This is what metrics-server serves to `kubectl top`, built into the API server: a request
asks every node's kubelet (over HTTPS, with the API server's kubelet-client certificate)
for its Summary, and answers in metrics-server's shapes: usage `cpu` in nano-cores ("n") and
`memory` working set in Ki, a `window`, a `timestamp`. Summaries are cached for a moment so
one `kubectl top` (which asks several times) costs one sweep per node.

The group is not in the kind registry (it has no storage); `discovery_*` below give the
entries discovery must add so `kubectl top` finds the Metrics API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.api.selectors import parse_label_selector
from kubelite.apiserver import objects
from kubelite.apiserver.handlers import json_response
from kubelite.apiserver.proxy import kubelet_address
from kubelite.apiserver.proxy_tls import kubelet_client_context
from kubelite.apiserver.rest import ObjectStore

log = logging.getLogger("kubelite.apiserver.metrics_api")

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
PREFIX = f"/apis/{GROUP}/{VERSION}"
WINDOW = "10s"
CACHE_SECONDS = 2.0
KUBELET_TIMEOUT = 10.0
READ_VERBS = ("get", "list")

Summary = dict[str, Any]
Fetch = Callable[[dict[str, Any]], Awaitable[Summary]]


# -- discovery ------------------------------------------------------------------------------

def discovery_group() -> dict[str, Any]:
    """The entry for the /apis APIGroupList (and /apis/metrics.k8s.io)."""
    version = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {"name": GROUP, "versions": [version], "preferredVersion": version}


def discovery_resources() -> dict[str, Any]:
    """The /apis/metrics.k8s.io/v1beta1 APIResourceList."""
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
            "resources": [
                {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics",
                 "verbs": list(READ_VERBS)},
                {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics",
                 "verbs": list(READ_VERBS)},
            ]}


def discovery_aggregated() -> dict[str, Any]:
    """The APIGroupDiscovery item for aggregated discovery (/apis, apidiscovery.k8s.io)."""
    def resource(plural: str, kind: str, scope: str) -> dict[str, Any]:
        return {"resource": plural, "responseKind": {"group": GROUP, "version": VERSION, "kind": kind},
                "scope": scope, "singularResource": kind.removesuffix("Metrics").lower(),
                "verbs": list(READ_VERBS)}

    return {"metadata": {"name": GROUP, "creationTimestamp": None},
            "versions": [{"version": VERSION, "freshness": "Current", "resources": [
                resource("nodes", "NodeMetrics", "Cluster"),
                resource("pods", "PodMetrics", "Namespaced")]}]}


def add_to_group_list(doc: dict[str, Any]) -> dict[str, Any]:
    """/apis with the metrics group appended (legacy APIGroupList)."""
    doc.setdefault("groups", []).append(discovery_group())
    return doc


def add_to_aggregated(doc: dict[str, Any]) -> dict[str, Any]:
    """/apis aggregated discovery with the metrics group appended."""
    doc.setdefault("items", []).append(discovery_aggregated())
    return doc


# -- shapes ---------------------------------------------------------------------------------

def cpu_text(nano_cores: int) -> str:
    return f"{int(nano_cores)}n"


def memory_text(working_set: int) -> str:
    return f"{int(working_set) // 1024}Ki"


def node_metrics(node: dict[str, Any], summary: Summary) -> dict[str, Any] | None:
    n = summary.get("node") or {}
    cpu, mem = n.get("cpu") or {}, n.get("memory") or {}
    if "usageNanoCores" not in cpu or "workingSetBytes" not in mem:
        return None
    meta = node.get("metadata") or {}
    return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION,
            "metadata": {"name": meta.get("name", ""), "creationTimestamp": _now(),
                         "labels": dict(meta.get("labels") or {})},
            "timestamp": cpu.get("time") or _now(), "window": WINDOW,
            "usage": {"cpu": cpu_text(cpu["usageNanoCores"]),
                      "memory": memory_text(mem["workingSetBytes"])}}


def pod_metrics(pod: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any] | None:
    containers = []
    for c in stats.get("containers") or []:
        cpu, mem = c.get("cpu") or {}, c.get("memory") or {}
        if "usageNanoCores" not in cpu or "workingSetBytes" not in mem:
            return None  # metrics-server drops a pod with an incomplete container
        containers.append({"name": c.get("name", ""),
                           "usage": {"cpu": cpu_text(cpu["usageNanoCores"]),
                                     "memory": memory_text(mem["workingSetBytes"])}})
    if not containers:
        return None
    meta = pod.get("metadata") or {}
    stamp = (containers and (stats.get("cpu") or {}).get("time")) or _now()
    return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION,
            "metadata": {"name": meta.get("name", ""), "namespace": meta.get("namespace", ""),
                         "creationTimestamp": _now(), "labels": dict(meta.get("labels") or {})},
            "timestamp": stamp, "window": WINDOW, "containers": containers}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": kind, "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}


# -- the handlers ---------------------------------------------------------------------------

def _kind(plural: str) -> Any:
    kind = by_resource("", "v1", plural)
    assert kind is not None
    return kind


class MetricsApi:
    """Serves metrics.k8s.io from the kubelets; `fetch` is replaceable for tests."""

    def __init__(self, store: ObjectStore, tls_dir: Path | None = None,
                 fetch: Fetch | None = None) -> None:
        self.objects = store
        self.tls_dir = tls_dir
        self._fetch = fetch or self._fetch_summary
        self._session: aiohttp.ClientSession | None = None
        self._cache: dict[str, tuple[float, Summary]] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register before the generic `/apis/{group}/{version}/...` routes."""
        for suffix in ("", "/"):  # discovery answers with a trailing slash too
            router.add_get(f"/apis/{GROUP}{suffix}", self._group)
            router.add_get(PREFIX + suffix, self._resources)
        router.add_get(f"{PREFIX}/nodes", self._nodes)
        router.add_get(f"{PREFIX}/nodes/{{name}}", self._nodes)
        router.add_get(f"{PREFIX}/pods", self._pods)
        router.add_get(f"{PREFIX}/namespaces/{{namespace}}/pods", self._pods)
        router.add_get(f"{PREFIX}/namespaces/{{namespace}}/pods/{{name}}", self._pods)

    # -- kubelets -----------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if self.tls_dir is None:
                raise st.ServiceUnavailable("the Metrics API needs the kubelet client certificate")
            connector = aiohttp.TCPConnector(ssl=kubelet_client_context(self.tls_dir))
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=KUBELET_TIMEOUT))
        return self._session

    async def _fetch_summary(self, node: dict[str, Any]) -> Summary:
        host, port = kubelet_address(node)
        host = f"[{host}]" if ":" in host else host
        async with self._client().get(f"https://{host}:{port}/stats/summary") as resp:
            if resp.status != 200:
                raise RuntimeError(f"kubelet answered {resp.status}")
            doc: Summary = json.loads(await resp.read())
            return doc

    async def summaries(self, nodes: list[dict[str, Any]]) -> dict[str, Summary]:
        """Each reachable node's Summary (a node that cannot answer is left out, as in
        metrics-server)."""
        now = time.monotonic()

        async def one(node: dict[str, Any]) -> tuple[str, Summary | None]:
            name = (node.get("metadata") or {}).get("name", "")
            cached = self._cache.get(name)
            if cached is not None and now - cached[0] < CACHE_SECONDS:
                return name, cached[1]
            try:
                doc = await asyncio.wait_for(self._fetch(node), KUBELET_TIMEOUT)
            except Exception as e:  # noqa: BLE001 - one node's silence must not fail the list
                log.info("no stats from node %s: %s", name, e)
                return name, None
            self._cache[name] = (time.monotonic(), doc)
            return name, doc

        results = await asyncio.gather(*(one(n) for n in nodes))
        return {name: doc for name, doc in results if doc is not None}

    async def _objects(self, plural: str, namespace: str | None) -> list[dict[str, Any]]:
        page = await self.objects.list(_kind(plural), namespace)
        return [objects.decode(item) for item in page.items]

    # -- routes -------------------------------------------------------------------------

    async def _group(self, request: web.Request) -> web.Response:
        return json_response({"kind": "APIGroup", "apiVersion": "v1", **discovery_group()})

    async def _resources(self, request: web.Request) -> web.Response:
        return json_response(discovery_resources())

    async def _nodes(self, request: web.Request) -> web.Response:
        name = request.match_info.get("name")
        selector = _selector(request)
        nodes = [n for n in await self._objects("nodes", None)
                 if (name is None or (n.get("metadata") or {}).get("name") == name)
                 and selector((n.get("metadata") or {}).get("labels") or {})]
        if name is not None and not nodes:
            raise st.NotFound(f'nodemetrics.metrics.k8s.io "{name}" not found', name=name,
                              group=GROUP, kind="nodes")
        summaries = await self.summaries(nodes)
        items = [m for n in nodes
                 if (m := node_metrics(n, summaries.get(n["metadata"]["name"], {}))) is not None]
        if name is not None:
            if not items:
                raise st.NotFound(f'nodemetrics.metrics.k8s.io "{name}" not found', name=name,
                                  group=GROUP, kind="nodes")
            return json_response(items[0])
        return json_response(_list("NodeMetricsList", items))

    async def _pods(self, request: web.Request) -> web.Response:
        namespace = request.match_info.get("namespace")
        name = request.match_info.get("name")
        selector = _selector(request)
        pods = [p for p in await self._objects("pods", namespace)
                if (name is None or (p.get("metadata") or {}).get("name") == name)
                and selector((p.get("metadata") or {}).get("labels") or {})
                and (p.get("spec") or {}).get("nodeName")
                and (p.get("status") or {}).get("phase") == "Running"]
        node_names = {p["spec"]["nodeName"] for p in pods}
        nodes = [n for n in await self._objects("nodes", None)
                 if (n.get("metadata") or {}).get("name") in node_names]
        summaries = await self.summaries(nodes)
        stats_by_uid = {s["podRef"]["uid"]: s for doc in summaries.values()
                        for s in doc.get("pods") or [] if "podRef" in s}
        items = []
        for p in pods:
            stats = stats_by_uid.get((p.get("metadata") or {}).get("uid", ""))
            m = pod_metrics(p, stats) if stats is not None else None
            if m is not None:
                items.append(m)
        if name is not None:
            if not items:
                raise st.NotFound(f'podmetrics.metrics.k8s.io "{namespace}/{name}" not found',
                                  name=name, group=GROUP, kind="pods")
            return json_response(items[0])
        return json_response(_list("PodMetricsList", items))


def _selector(request: web.Request) -> Callable[[dict[str, str]], bool]:
    text = request.query.get("labelSelector", "")
    if not text:
        return lambda _labels: True
    try:
        sel = parse_label_selector(text)
    except ValueError as e:
        raise st.BadRequest(str(e)) from None
    return lambda labels: bool(sel.matches(labels))
