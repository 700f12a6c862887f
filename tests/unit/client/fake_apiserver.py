"""A small fake API server (aiohttp) speaking Kubernetes' HTTP shapes, for client tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web


def status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    return web.json_response(body, status=code)


class FakeApiServer:
    """Objects by (plural, namespace, name), a revision counter and an event history."""

    def __init__(self) -> None:
        self.rv = 100
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.history: list[tuple[int, str, str, dict[str, Any]]] = []  # rv, plural, type, obj
        self.compacted = 0  # watches from below this revision get 410
        self.gone_as_event = False  # send 410 as an ERROR event instead of an HTTP 410
        self.page_size: int | None = None
        self.requests: list[web.Request] = []
        self.bodies: list[Any] = []
        self.watch_count = 0
        self.changed = asyncio.Condition()
        self.close_watches = asyncio.Event()

    # -- store operations tests call directly ---------------------------------------------

    async def put(self, plural: str, obj: dict[str, Any], etype: str | None = None) -> dict[str, Any]:
        self.rv += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self.rv)
        key = (plural, meta.get("namespace", ""), meta["name"])
        etype = etype or ("MODIFIED" if key in self.objects else "ADDED")
        if etype == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        self.history.append((self.rv, plural, etype, json.loads(json.dumps(obj))))
        async with self.changed:
            self.changed.notify_all()
        return obj

    async def delete(self, plural: str, namespace: str, name: str) -> None:
        obj = self.objects[(plural, namespace, name)]
        await self.put(plural, dict(obj), "DELETED")

    # -- HTTP -------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        for prefix in ("/api/v1", "/apis/{group}/{version}"):
            app.router.add_route("*", prefix + "/namespaces/{ns}/{plural}", self.collection)
            app.router.add_route("*", prefix + "/{plural}", self.collection)
            app.router.add_route("*", prefix + "/namespaces/{ns}/{plural}/{name}", self.item)
            app.router.add_route("*", prefix + "/namespaces/{ns}/{plural}/{name}/{sub}", self.item)
            app.router.add_route("*", prefix + "/{plural}/{name}", self.item)
        return app

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.requests.append(request)
        self.bodies.append(body)
        return body

    async def collection(self, request: web.Request) -> web.StreamResponse:
        plural, ns = request.match_info["plural"], request.match_info.get("ns", "")
        body = await self._body(request)
        if request.method == "POST":
            name = body["metadata"]["name"]
            body["metadata"].setdefault("namespace", ns)
            if (plural, ns, name) in self.objects:
                return status(409, "AlreadyExists", f'{plural} "{name}" already exists')
            return web.json_response(await self.put(plural, body), status=201)
        if request.query.get("watch") == "true":
            return await self.watch(request, plural, ns)
        items = [o for (p, n, _), o in sorted(self.objects.items())
                 if p == plural and (not ns or n == ns)]
        start = int(request.query.get("continue", "0"))
        limit = int(request.query.get("limit", "0")) or self.page_size or len(items) or 1
        page = items[start:start + limit]
        meta: dict[str, Any] = {"resourceVersion": str(self.rv)}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        return web.json_response({"kind": "List", "apiVersion": "v1", "metadata": meta,
                                  "items": page})

    async def watch(self, request: web.Request, plural: str, ns: str) -> web.StreamResponse:
        self.watch_count += 1
        since = int(request.query.get("resourceVersion") or 0)
        if since and since < self.compacted and not self.gone_as_event:
            return status(410, "Expired", "too old resource version")
        resp = web.StreamResponse()
        resp.content_type = "application/json"
        await resp.prepare(request)
        if since and since < self.compacted:
            gone = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410,
                    "reason": "Expired", "message": "too old resource version"}
            await resp.write(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
            return resp
        sent = since
        timeout = float(request.query.get("timeoutSeconds", "30"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and not self.close_watches.is_set():
            for rv, p, etype, obj in self.history:
                if rv > sent and p == plural and (not ns or obj["metadata"].get("namespace") == ns):
                    line = json.dumps({"type": etype, "object": obj}).encode() + b"\n"
                    await resp.write(line)
                if rv > sent:
                    sent = rv
            async with self.changed:
                try:
                    await asyncio.wait_for(self.changed.wait(), 0.05)
                except TimeoutError:
                    pass
        return resp

    async def item(self, request: web.Request) -> web.StreamResponse:
        plural, ns = request.match_info["plural"], request.match_info.get("ns", "")
        name, sub = request.match_info["name"], request.match_info.get("sub")
        body = await self._body(request)
        if sub == "binding":
            pod = self.objects.get(("pods", ns, name))
            if pod is None:
                return status(404, "NotFound", f'pods "{name}" not found')
            pod.setdefault("spec", {})["nodeName"] = body["target"]["name"]
            await self.put("pods", pod)
            return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success",
                                      "code": 201}, status=201)
        obj = self.objects.get((plural, ns, name))
        if obj is None:
            return status(404, "NotFound", f'{plural} "{name}" not found')
        if request.method == "GET":
            return web.json_response(obj)
        if request.method == "PUT":
            if body["metadata"].get("resourceVersion") != obj["metadata"]["resourceVersion"]:
                return status(409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}"')
            return web.json_response(await self.put(plural, body))
        if request.method == "PATCH":
            merged = dict(obj)
            for k, v in body.items():
                merged[k] = {**merged.get(k, {}), **v} if isinstance(v, dict) else v
            return web.json_response(await self.put(plural, merged))
        if request.method == "DELETE":
            await self.delete(plural, ns, name)
            return web.json_response(obj)
        return status(405, "MethodNotAllowed", "nope")
