"""HTTP handlers for every resource URL, generic over kinds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from kubelite.api import status as st
from kubelite.api.registry import Kind
from kubelite.api.selectors import SelectorError, parse_field_selector, parse_label_selector
from kubelite.api.strategy import strategy_for
from kubelite.api.tables import table
from kubelite.apiserver import objects
from kubelite.apiserver.decoding import check_shape, unrecognized_body
from kubelite.apiserver.list_cache import cached_page, from_cache
from kubelite.apiserver.negotiation import decode_body, media_type, wants_table
from kubelite.apiserver.paths import ResourcePath, parse_resource_path
from kubelite.apiserver.query import parse_resource_version, query_int64
from kubelite.apiserver.request_context import add_warning
from kubelite.apiserver.responses import JSON, escape_html, json_response
from kubelite.apiserver.rest import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    PATCH_TYPES,
    ObjectStore,
    WriteOptions,
    WriteResult,
)
from kubelite.apiserver.subresources import SERVED_BY, SUBRESOURCES
from kubelite.apiserver.watch import serve_watch
from kubelite.apiserver.watchcache import WatchCache

__all__ = ["RESOURCE", "WATCH", "ResourceHandlers", "json_response"]
STREAM_LIST_OVER = 2000  # lists longer than this are sent in chunks of this many items
RESOURCE = web.RequestKey("resource", str)  # "pods", "pods/status": for request metrics
WATCH = web.RequestKey("watch", bool)
# the definition of DELETE's body, which is no kind of its own here: checked with check_shape
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
# custom resources have no strategic merge patch (no patch strategies in a CRD schema)
CUSTOM_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)


def body_kind(path: ResourcePath) -> str:
    """The kind a request body to `path` must be (a subresource may speak another)."""
    for sub in path.kind.subresources:
        if sub.name == path.subresource and sub.kind is not None:
            return sub.kind[2]
    return path.kind.kind


def check_convertible(kind: Kind) -> None:
    """Versions of a custom kind other than its storage one need a conversion webhook when
    the CRD asks for one, and kubelite calls no webhooks: say so rather than serve wrong data."""
    info = kind.custom
    if info is not None and info.webhook_conversion and info.storage_version != kind.version:
        raise st.ServiceUnavailable(
            f"conversion webhook for {kind.group}/{info.storage_version}, Kind={kind.kind} is not "
            f"supported by kubelite: {kind.plural}.{kind.group} is served in its storage version "
            f"{info.storage_version} only")


def _bool(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


class ResourceHandlers:
    """Routes /api and /apis resource requests to the object store."""

    def __init__(self, store: ObjectStore, cache: WatchCache, subresources: Any = None) -> None:
        self.store = store
        self.cache = cache
        self.subresources = subresources  # kubelet proxy and friends, set by the server

    async def core(self, request: web.Request) -> web.StreamResponse:
        version = request.match_info["version"]
        rest = request.match_info.get("rest", "").split("/")
        return await self._dispatch(request, "", version, rest)

    async def grouped(self, request: web.Request) -> web.StreamResponse:
        group = request.match_info["group"]
        version = request.match_info["version"]
        rest = request.match_info.get("rest", "").split("/")
        return await self._dispatch(request, group, version, rest)

    async def _dispatch(self, request: web.Request, group: str, version: str, rest: list[str]) -> web.StreamResponse:
        path = parse_resource_path(group, version, rest)
        check_convertible(path.kind)
        if path.kind.custom is not None and path.kind.custom.deprecation_warning:
            add_warning(path.kind.custom.deprecation_warning)
        request[RESOURCE] = path.kind.plural + (f"/{path.subresource}" if path.subresource else "")
        method = request.method
        kind = path.kind
        serve = SUBRESOURCES.get(path.subresource or "")
        if serve is not None:
            return await serve(self, request, path)
        served_by = strategy_for(kind).served_by
        if served_by and method == "POST" and path.name is None:
            return await SERVED_BY[served_by](self, request, path)
        if path.name is None:
            if method == "GET":
                self._check_verb(kind, "list", path)
                if _bool(request.query.get("watch")):
                    return await self._watch(request, path)
                return await self._list(request, path)
            if method == "POST":
                self._check_verb(kind, "create", path)
                return await self._create(request, path)
            if method == "DELETE":
                self._check_verb(kind, "deletecollection", path)
                return await self._delete_collection(request, path)
            raise st.MethodNotAllowed("the server does not allow this method on the requested resource")
        if method == "GET":
            self._check_verb(kind, "get", path)
            return await self._get(request, path)
        if method == "PUT":
            self._check_verb(kind, "update", path)
            return await self._update(request, path)
        if method == "PATCH":
            self._check_verb(kind, "patch", path)
            return await self._patch(request, path)
        if method == "DELETE":
            self._check_verb(kind, "delete", path)
            return await self._delete(request, path)
        raise st.MethodNotAllowed("the server does not allow this method on the requested resource")

    @staticmethod
    def _check_verb(kind: Kind, verb: str, path: ResourcePath) -> None:
        if path.subresource is None and verb not in kind.verbs:
            raise st.MethodNotAllowed("the server does not allow this method on the requested resource")

    @staticmethod
    def write_options(request: web.Request) -> WriteOptions:
        q = request.query
        dry = q.getall("dryRun", [])
        for d in dry:
            if d != "All":
                raise st.BadRequest(f'dryRun: Unsupported value: "{d}": supported values: "All"')
        validation = q.get("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise st.BadRequest(f'fieldValidation: Unsupported value: "{validation}": supported values: "Ignore", "Strict", "Warn"')
        manager = q.get("fieldManager", "")
        if not manager:
            agent = request.headers.get("User-Agent", "")
            manager = agent.split("/", 1)[0][:128] if agent else "unknown"
        return WriteOptions(
            dry_run=bool(dry), field_manager=manager, field_validation=validation,
            force=_bool(q.get("force")),
        )

    def _respond(self, request: web.Request, kind: Kind, result: WriteResult) -> web.Response:
        if result.body is not None:
            return json_response(result.body, result.code, result.warnings)
        if wants_table(request.headers.get("Accept", "")):
            return json_response(table(kind, [result.obj], dt.datetime.now(dt.UTC), "PartialObjectMetadata"), result.code, result.warnings)
        convert = objects.served_version(kind)
        return json_response(convert(result.data) if convert else result.data, result.code, result.warnings)

    # ----- reads

    async def _get(self, request: web.Request, path: ResourcePath) -> web.Response:
        assert path.name is not None
        rv = request.query.get("resourceVersion", "")
        if rv not in ("", "0"):  # "at least this fresh": wait for the cache to get there
            await self.cache.wait_until_fresh(parse_resource_version(rv))
        data = await self.store.get(path.kind, path.namespace, path.name)
        if wants_table(request.headers.get("Accept", "")):
            include = request.query.get("includeObject", "PartialObjectMetadata")
            t = table(path.kind, [objects.decode(data)], dt.datetime.now(dt.UTC), include)
            return json_response(t)
        convert = objects.served_version(path.kind)
        return json_response(convert(data) if convert else data)

    def _matcher(self, request: web.Request, kind: Kind) -> tuple[Any, str | None]:
        q = request.query
        label_text = q.get("labelSelector", "")
        field_text = q.get("fieldSelector", "")
        matchers = []
        exact_name = None
        try:
            if label_text:
                labels = parse_label_selector(label_text)
                matchers.append(lambda o: labels.matches(o.get("metadata", {}).get("labels")))
            if field_text:
                fields = parse_field_selector(field_text, set(kind.field_selectors))
                exact_name = fields.exact_value("metadata.name")
                matchers.append(fields.matches)
        except SelectorError as e:
            raise st.BadRequest(str(e)) from None
        except ValueError as e:
            raise st.BadRequest(str(e)) from None
        if not matchers:
            return None, exact_name
        if len(matchers) == 1:
            return matchers[0], exact_name
        return (lambda o: all(m(o) for m in matchers)), exact_name

    async def _list(self, request: web.Request, path: ResourcePath) -> web.StreamResponse:
        q = request.query
        kind = path.kind
        matches, exact_name = self._matcher(request, kind)
        limit = max(query_int64(q, "limit") or 0, 0)  # Kubernetes ignores a limit <= 0
        rv = q.get("resourceVersion", "")
        exact = bool(rv) and q.get("resourceVersionMatch") == "Exact"
        page = None
        if from_cache(rv, limit, q.get("continue", ""), exact):  # from memory, as kube-apiserver
            page = await cached_page(self.cache, self.store.store, kind, path.namespace,
                                     resource_version=rv, matches=matches, exact_name=exact_name)
        if page is None:
            if rv not in ("", "0") and not exact:  # NotOlderThan: wait until the cache is there
                await self.cache.wait_until_fresh(parse_resource_version(rv))
            page = await self.store.list(
                kind, path.namespace, matches=matches, limit=limit, continue_token=q.get("continue", ""),
                revision=parse_resource_version(rv) if exact else 0, exact_name=exact_name,
            )
        meta = {"resourceVersion": str(page.revision)}
        if page.continue_token:
            meta["continue"] = page.continue_token
        if wants_table(request.headers.get("Accept", "")):
            include = q.get("includeObject", "PartialObjectMetadata")
            t = table(kind, [objects.decode(i) for i in page.items], dt.datetime.now(dt.UTC), include)
            t["metadata"] = meta
            return json_response(t)
        convert = objects.served_version(kind)
        if convert is not None:
            page.items = [convert(i) for i in page.items]
        head = objects.encode({"kind": kind.list_kind, "apiVersion": kind.api_version, "metadata": meta})
        head = head[:-1] + b',"items":['
        if len(page.items) <= STREAM_LIST_OVER:
            return json_response(b"%s%s]}" % (head, b",".join(page.items)))
        return await self._stream_list(request, head, page.items)

    @staticmethod
    async def _stream_list(request: web.Request, head: bytes, items: list[bytes]) -> web.StreamResponse:
        """Send a big list in chunks: the first bytes leave at once and no giant copy is made."""
        response = web.StreamResponse(headers={"Content-Type": JSON})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(escape_html(head))
        for start in range(0, len(items), STREAM_LIST_OVER):
            part = items[start : start + STREAM_LIST_OVER]
            if start:
                part.insert(0, b"")  # the comma after the previous chunk, without copying this one
            await response.write(escape_html(b",".join(part)))
        await response.write(b"]}\n")
        await response.write_eof()
        return response

    async def _watch(self, request: web.Request, path: ResourcePath) -> web.StreamResponse:
        q = request.query
        matches, exact_name = self._matcher(request, path.kind)
        seconds = query_int64(q, "timeoutSeconds")
        timeout = float(seconds) if seconds and seconds > 0 else None
        request[WATCH] = True
        return await serve_watch(
            request, path.kind, path.namespace, cache=self.cache, objects_store=self.store,
            matches=matches, resource_version=q.get("resourceVersion", ""),
            as_table=wants_table(request.headers.get("Accept", "")), timeout=timeout,
            bookmarks=_bool(q.get("allowWatchBookmarks")), exact_name=exact_name,
            convert=objects.served_version(path.kind),
        )

    # ----- writes

    async def object_body(self, request: web.Request, path: ResourcePath) -> dict[str, Any]:
        """A create or update body (of the path's kind or subresource): an object, or the
        words kube-apiserver refuses anything else with."""
        if request.content_length is not None and request.content_length > 3 * 1024 * 1024:
            raise st.RequestEntityTooLarge("the request body is too large: limit is 3 MiB")
        raw = await request.read()
        content_type = request.headers.get("Content-Type", JSON)
        try:
            body = decode_body(raw, content_type)
        except st.BadRequest:
            body = None
        if not isinstance(body, dict):
            raise unrecognized_body(body_kind(path), raw, content_type)
        return body

    async def _create(self, request: web.Request, path: ResourcePath) -> web.Response:
        if path.kind.namespaced and path.namespace is None:
            raise st.MethodNotAllowed("the server does not allow this method on the requested resource")
        body = await self.object_body(request, path)
        result = await self.store.create(path.kind, path.namespace, body, self.write_options(request))
        return self._respond(request, path.kind, result)

    async def _update(self, request: web.Request, path: ResourcePath) -> web.Response:
        assert path.name is not None
        body = await self.object_body(request, path)
        result = await self.store.update(
            path.kind, path.namespace, path.name, body, self.write_options(request), path.subresource or ""
        )
        return self._respond(request, path.kind, result)

    async def _patch(self, request: web.Request, path: ResourcePath) -> web.Response:
        assert path.name is not None
        patch_type = media_type(request.headers.get("Content-Type", ""))
        accepted = PATCH_TYPES if path.kind.custom is None else CUSTOM_PATCH_TYPES
        if patch_type not in accepted:
            raise st.UnsupportedMediaType(
                f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}"
            )
        raw = await request.read()
        patch = decode_body(raw, "application/yaml" if patch_type.endswith("yaml") else JSON)
        result = await self.store.patch(
            path.kind, path.namespace, path.name, patch_type, patch, self.write_options(request),
            path.subresource or "",
        )
        return self._respond(request, path.kind, result)

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                body = decode_body(raw, request.headers.get("Content-Type", JSON))
                if not isinstance(body, dict):
                    raise st.BadRequest("DeleteOptions must be a JSON object")
                check_shape(body, DELETE_OPTIONS)
                options.update(body)
        q = request.query
        if "gracePeriodSeconds" in q:
            options["gracePeriodSeconds"] = query_int64(q, "gracePeriodSeconds")
        if "propagationPolicy" in q:
            options["propagationPolicy"] = q["propagationPolicy"]
        if "orphanDependents" in q:
            options["orphanDependents"] = _bool(q["orphanDependents"])
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise st.BadRequest(f'propagationPolicy: Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"')
        return options

    async def _delete(self, request: web.Request, path: ResourcePath) -> web.Response:
        assert path.name is not None
        options = await self._delete_options(request)
        opts = self.write_options(request)
        if options.get("dryRun"):  # DeleteOptions in the body may carry dryRun too
            if options["dryRun"] != ["All"]:
                raise st.BadRequest(f'dryRun: Unsupported value: {options["dryRun"]!r}: supported values: "All"')
            opts.dry_run = True
        result = await self.store.delete(path.kind, path.namespace, path.name, options, opts)
        return self._respond(request, path.kind, result)

    async def _delete_collection(self, request: web.Request, path: ResourcePath) -> web.Response:
        options = await self._delete_options(request)
        matches, exact_name = self._matcher(request, path.kind)
        page = await self.store.list(path.kind, path.namespace, matches=matches, exact_name=exact_name)
        items = []
        for data in page.items:
            meta = objects.decode(data)["metadata"]
            try:
                result = await self.store.delete(path.kind, meta.get("namespace"), meta["name"], options, self.write_options(request))
                items.append(result.obj)
            except st.NotFound:
                continue
        return json_response({"kind": path.kind.list_kind, "apiVersion": path.kind.api_version, "metadata": {}, "items": items})
