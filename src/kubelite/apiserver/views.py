"""Kinds served as a view over another kind's storage (registry `stored_as`).

Requests for such a kind are converted (api/conversion) to the stored kind, run through
the same ObjectStore (its strategy, admission, watch cache), and the answers converted
back, as kube-apiserver serves events.k8s.io/v1 Events over the core/v1 Event storage.
Server-side apply is not offered for views.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from aiohttp import web

from kubelite.api import status as st
from kubelite.api.conversion import Conversion, conversion_for
from kubelite.api.patch import (
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from kubelite.api.registry import KINDS, Kind, by_resource
from kubelite.api.tables import table
from kubelite.apiserver import objects
from kubelite.apiserver.handlers import RESOURCE, WATCH, ResourceHandlers, json_response
from kubelite.apiserver.negotiation import decode_body, media_type, wants_table
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.query import query_int64
from kubelite.apiserver.rest import JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, WriteResult
from kubelite.apiserver.watch import serve_watch

VIEW_PATCH_TYPES = (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH)


class View:
    """One served kind over its stored kind."""

    def __init__(self, served: Kind, handlers: ResourceHandlers) -> None:
        assert served.stored_as is not None
        stored = by_resource(*served.stored_as)
        assert stored is not None
        self.served = served
        self.stored = stored
        self.conv: Conversion = conversion_for(served.group, served.version, served.kind)
        self.handlers = handlers
        self.store = handlers.store

    def routes(self) -> list[str]:
        base = self.served.url_prefix()
        return [f"{base}/{self.served.plural}", f"{base}/namespaces/{{namespace}}/{self.served.plural}",
                f"{base}/namespaces/{{namespace}}/{self.served.plural}/{{name}}"]

    def out(self, data: bytes) -> bytes:
        return objects.encode(self.conv.from_storage(objects.decode(data)))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request[RESOURCE] = self.served.plural
        namespace = request.match_info.get("namespace")
        name = request.match_info.get("name")
        method = request.method
        verb = {("GET", False): "list", ("POST", False): "create", ("DELETE", False): "deletecollection",
                ("GET", True): "get", ("PUT", True): "update", ("PATCH", True): "patch",
                ("DELETE", True): "delete"}.get((method, name is not None))
        if verb is None or verb not in self.served.verbs or (verb == "create" and namespace is None):
            raise st.MethodNotAllowed("the server does not allow this method on the requested resource")
        if verb == "list":
            if request.query.get("watch", "").lower() in ("true", "1"):
                return await self._watch(request, namespace)
            return await self._list(request, namespace)
        if verb == "get":
            assert name is not None
            return self._one(request, await self.store.get(self.stored, namespace, name))
        if verb == "create":
            body = await self.handlers.object_body(request, ResourcePath(self.served, namespace, name, None))
            self._check_type(body)
            result = await self.store.create(self.stored, namespace, self.conv.to_storage(body),
                                             self.handlers.write_options(request))
            return self._respond(request, result)
        assert name is not None
        if verb == "update":
            body = await self.handlers.object_body(request, ResourcePath(self.served, namespace, name, None))
            self._check_type(body)
            result = await self.store.update(self.stored, namespace, name, self.conv.to_storage(body),
                                             self.handlers.write_options(request))
            return self._respond(request, result)
        if verb == "patch":
            return await self._patch(request, namespace, name)
        options = await self.handlers._delete_options(request)
        result = await self.store.delete(self.stored, namespace, name, options, self.handlers.write_options(request))
        return self._respond(request, result)

    def _check_type(self, body: dict[str, Any]) -> None:
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version and api_version != self.served.api_version:
            raise st.BadRequest(f"the API version in the data ({api_version}) does not match the "
                                f"expected API version ({self.served.api_version})")
        if kind and kind != self.served.kind:
            raise st.BadRequest(f"the kind in the data ({kind}) does not match the expected kind "
                                f"({self.served.kind})")

    def _one(self, request: web.Request, data: bytes, code: int = 200,
             warnings: list[str] | None = None) -> web.Response:
        if wants_table(request.headers.get("Accept", "")):
            include = request.query.get("includeObject", "PartialObjectMetadata")
            return json_response(table(self.stored, [objects.decode(data)], dt.datetime.now(dt.UTC), include),
                                 code, warnings)
        return json_response(self.out(data), code, warnings)

    def _respond(self, request: web.Request, result: WriteResult) -> web.Response:
        if result.body is not None:
            return json_response(result.body, result.code, result.warnings)
        return self._one(request, result.data, result.code, result.warnings)

    def _matcher(self, request: web.Request) -> tuple[Any, str | None]:
        """The stored kind's matcher, the selector's field labels renamed to the stored ones."""
        query = dict(request.query)
        if query.get("fieldSelector"):
            terms = []
            for term in query["fieldSelector"].split(","):
                for op in ("!=", "==", "="):
                    if op in term:
                        label, value = term.split(op, 1)
                        label = label.strip()
                        if label not in self.conv.field_labels:
                            raise st.BadRequest(f'"{label}" is not a known field selector: only '
                                                f'"{", ".join(sorted(self.conv.field_labels))}"')
                        terms.append(f"{self.conv.field_labels[label]}{op}{value}")
                        break
                else:
                    terms.append(term)
            query["fieldSelector"] = ",".join(terms)
        return self.handlers._matcher(SimpleNamespace(query=query), self.stored)  # type: ignore[arg-type]

    async def _list(self, request: web.Request, namespace: str | None) -> web.Response:
        q = request.query
        matches, exact_name = self._matcher(request)
        page = await self.store.list(self.stored, namespace, matches=matches,
                                     limit=max(query_int64(q, "limit") or 0, 0),
                                     continue_token=q.get("continue", ""), exact_name=exact_name)
        meta = {"resourceVersion": str(page.revision)}
        if page.continue_token:
            meta["continue"] = page.continue_token
        if wants_table(request.headers.get("Accept", "")):
            t = table(self.stored, [objects.decode(i) for i in page.items], dt.datetime.now(dt.UTC),
                      q.get("includeObject", "PartialObjectMetadata"))
            t["metadata"] = meta
            return json_response(t)
        head = objects.encode({"kind": self.served.list_kind, "apiVersion": self.served.api_version,
                               "metadata": meta})
        return json_response(b"%s,\"items\":[%s]}" % (head[:-1], b",".join(self.out(i) for i in page.items)))

    async def _watch(self, request: web.Request, namespace: str | None) -> web.StreamResponse:
        q = request.query
        matches, exact_name = self._matcher(request)
        seconds = query_int64(q, "timeoutSeconds")
        request[WATCH] = True
        return await serve_watch(
            request, self.stored, namespace, cache=self.handlers.cache, objects_store=self.store,
            matches=matches, resource_version=q.get("resourceVersion", ""),
            as_table=wants_table(request.headers.get("Accept", "")),
            timeout=float(seconds) if seconds and seconds > 0 else None,
            bookmarks=q.get("allowWatchBookmarks", "").lower() in ("true", "1"), exact_name=exact_name,
            convert=self.out, served=self.served,
        )

    async def _patch(self, request: web.Request, namespace: str | None, name: str) -> web.Response:
        patch_type = media_type(request.headers.get("Content-Type", ""))
        if patch_type not in VIEW_PATCH_TYPES:
            raise st.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(VIEW_PATCH_TYPES))
        patch = decode_body(await request.read(), "application/json")
        current = self.conv.from_storage(objects.decode(await self.store.get(self.stored, namespace, name)))
        try:
            if patch_type == JSON_PATCH:
                patched = apply_json_patch(current, patch)
            elif not isinstance(patch, dict):
                raise st.BadRequest("the patch must be a JSON object")
            elif patch_type == MERGE_PATCH:
                patched = apply_merge_patch(current, patch)
            else:
                patched = apply_strategic_merge_patch(current, patch, self.served.definition)
        except PatchError as e:
            raise st.BadRequest(e.message) from None
        if not isinstance(patched, dict):
            raise st.BadRequest("the patch must produce a JSON object")
        result = await self.store.update(self.stored, namespace, name, self.conv.to_storage(patched),
                                         self.handlers.write_options(request))
        return self._respond(request, result)


def add_view_routes(router: web.UrlDispatcher, handlers: ResourceHandlers) -> None:
    """Routes of every view kind, before the generic resource routes take the path."""
    for kind in KINDS:
        if kind.stored_as is not None:
            view = View(kind, handlers)
            for path in view.routes():
                router.add_route("*", path, view.handle)
