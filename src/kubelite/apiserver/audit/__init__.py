"""The audit log, as kube-apiserver's (--audit-policy-file, --audit-log-path): one audit.k8s.io/v1
Event per request stage, at the level the policy gives the request, written as JSON lines by
a thread of its own (writer.py).

Stages: RequestReceived and ResponseComplete for every request; ResponseStarted when a
long-running response (a watch) sends its headers; Panic when the handler fails with no
answer. Authentication happens inside the API server's own middleware, so the RequestReceived
event is written once the user is known (at the first byte of the answer or at its end) with
the time the request arrived. Other filters (authorization) add annotations with `annotate`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kubelite.apiserver.audit.policy import Decision, Policy
from kubelite.apiserver.audit.writer import AuditWriter
from kubelite.apiserver.authz import Attributes, UserInfo
from kubelite.apiserver.negotiation import decode_body

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AUDIT_ID_HEADER = "Audit-Id"
DECISION_ANNOTATION = "authorization.k8s.io/decision"
REASON_ANNOTATION = "authorization.k8s.io/reason"
_WRITE_VERBS = ("create", "update", "patch")
_VERB_OF_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass
class _Record:
    audit_id: str
    received: dt.datetime
    decision: Decision | None = None
    attributes: Attributes | None = None
    received_logged: bool = False
    annotations: dict[str, str] = field(default_factory=dict)


RECORD = web.RequestKey("audit", _Record)


def annotate(request: web.Request, key: str, value: str) -> None:
    """Add an annotation to the request's audit events (e.g. the authorization decision)."""
    record = request.get(RECORD)
    if record is not None:
        record.annotations[key] = value


def _timestamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def attributes_of(method: str, path: str, query: Any, user: str, groups: tuple[str, ...]) -> Attributes:
    """The verb and resource of a request, as k8s' RequestInfoFactory reads its path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Attributes(UserInfo(user, groups), method.lower(), False, path=path)
    watch = bool(rest) and rest[0] == "watch"
    rest = rest[1:] if watch else rest
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces" and (len(rest) == 2 or rest[2] in _NAMESPACE_SUBRESOURCES):
        pass  # the namespace itself (or its status/finalize)
    elif len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return Attributes(UserInfo(user, groups), method.lower(), False, path=path)
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if resource == "namespaces" and name:
        namespace = name
    if method == "GET":
        watch = watch or query.get("watch") in ("true", "1")
        verb = "watch" if watch else ("get" if name else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERB_OF_METHOD.get(method, method.lower())
    return Attributes(UserInfo(user, groups), verb, True, namespace, group, version, resource, subresource, name, path)


def _object(body: bytes | None, content_type: str) -> Any:
    """A request or response body as JSON-able data, whatever its encoding (None if not an object)."""
    if not body:
        return None
    try:
        return decode_body(body, content_type)
    except Exception:  # noqa: BLE001 - a body the log cannot show is left out, not an error
        return None


def _without_managed_fields(obj: Any) -> Any:
    if isinstance(obj, dict) and isinstance(obj.get("metadata"), dict) and "managedFields" in obj["metadata"]:
        return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "managedFields"}}
    return obj


class Auditor:
    """Decides each request's level by the policy and writes its events."""

    def __init__(self, policy: Policy, writer: AuditWriter) -> None:
        self.policy = policy
        self.writer = writer
        self._user_key: web.RequestKey[Any] | None = None

    def install(self, app: web.Application, user_key: web.RequestKey[Any]) -> None:
        """Hook the response-start signal; the middleware is placed by the app builder."""
        self._user_key = user_key
        app.on_response_prepare.append(self._on_prepare)

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.close()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        record = _Record(str(uuid.uuid4()), dt.datetime.now(dt.UTC))
        request[RECORD] = record
        try:
            response = await handler(request)
        except asyncio.CancelledError:
            raise
        except web.HTTPException as e:
            await self._complete(request, record, e.status, None)
            raise
        except BaseException:
            self._event(request, record, "Panic", {"metadata": {}, "status": "Failure", "code": 500,
                                                    "message": "APIServer panic'd"})
            raise
        await self._complete(request, record, response.status, response)
        return response

    async def _on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        record = request.get(RECORD)
        if record is None:
            return
        response.headers[AUDIT_ID_HEADER] = record.audit_id
        if not isinstance(response, web.Response) and not record.received_logged:  # long-running
            self._event(request, record, "ResponseStarted", {"metadata": {}, "code": response.status})

    def _decide(self, request: web.Request, record: _Record) -> Decision:
        if record.decision is None:
            user = request.get(self._user_key) if self._user_key is not None else None
            record.attributes = attributes_of(request.method, request.path, request.query,
                                              user.name if user else "", tuple(user.groups) if user else ())
            record.decision = self.policy.decide(record.attributes)
        return record.decision

    def _event(self, request: web.Request, record: _Record, stage: str, status: dict[str, Any] | None,
               request_object: Any = None, response_object: Any = None) -> None:
        decision = self._decide(request, record)
        if decision.level == "None":
            return
        if not record.received_logged:  # always first, stamped with the arrival
            record.received_logged = True
            if "RequestReceived" not in decision.omit_stages:
                self.writer.write(self._build(request, record, "RequestReceived", record.received, None))
        if stage in decision.omit_stages:
            return
        event = self._build(request, record, stage, dt.datetime.now(dt.UTC), status)
        if request_object is not None:
            event["requestObject"] = request_object
        if response_object is not None:
            event["responseObject"] = response_object
        self.writer.write(event)

    def _build(self, request: web.Request, record: _Record, stage: str, at: dt.datetime,
               status: dict[str, Any] | None) -> dict[str, Any]:
        a, decision = record.attributes, record.decision
        assert a is not None and decision is not None
        user = request.get(self._user_key) if self._user_key is not None else None
        event: dict[str, Any] = {
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": decision.level,
            "auditID": record.audit_id, "stage": stage, "requestURI": str(request.rel_url),
            "verb": a.verb, "user": user.info() if user is not None else {},
            "sourceIPs": [request.remote] if request.remote else [],  # none over the local socket
            "userAgent": request.headers.get("User-Agent", ""),
        }
        if a.resource_request:
            ref = {"resource": a.resource, "namespace": a.namespace, "name": a.name,
                   "apiGroup": a.api_group, "apiVersion": a.api_version, "subresource": a.subresource}
            event["objectRef"] = {k: v for k, v in ref.items() if v}
        if status is not None:
            event["responseStatus"] = status
        event["requestReceivedTimestamp"] = _timestamp(record.received)
        event["stageTimestamp"] = _timestamp(at)
        if record.annotations:
            event["annotations"] = dict(record.annotations)
        return event

    async def _complete(self, request: web.Request, record: _Record, code: int,
                        response: web.StreamResponse | None) -> None:
        decision = self._decide(request, record)
        if decision.level == "None":
            return
        body = response.body if isinstance(response, web.Response) and isinstance(response.body, bytes) else None
        content_type = response.content_type if response is not None else ""
        status: dict[str, Any] = {"metadata": {}, "code": code}
        if code >= 400:
            failure = _object(body, content_type)
            if isinstance(failure, dict) and failure.get("kind") == "Status":
                status.update({k: failure[k] for k in ("status", "message", "reason") if k in failure})
        request_object = response_object = None
        assert record.attributes is not None
        if decision.level in ("Request", "RequestResponse") and record.attributes.verb in _WRITE_VERBS \
                and request.body_exists:  # read by the handler already: aiohttp keeps it
            request_object = _object(await request.read(), request.content_type)
        if decision.level == "RequestResponse" and body is not None and record.attributes.verb != "watch":
            response_object = _object(body, content_type)
        if decision.omit_managed_fields:
            request_object = _without_managed_fields(request_object)
            response_object = _without_managed_fields(response_object)
        self._event(request, record, "ResponseComplete", status, request_object, response_object)
