"""What a request asks, in authorizer words: k8s.io/apiserver's RequestInfoFactory.

    /api/v1/namespaces/NS/pods/NAME/log   -> get pods/log "NAME" in NS (group "")
    /apis/apps/v1/deployments?watch=1     -> watch deployments.apps, all namespaces
    /healthz                              -> non-resource: get path "/healthz"

The verb of a resource request comes from the HTTP method and the URL's shape (a GET
without a name lists, a DELETE without one is deletecollection); a non-resource request's
verb is the lower-cased method, as Kubernetes has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from kubelite.apiserver.authz import Attributes, UserInfo

# the verb of a resource request by HTTP method (GET and HEAD refine to list or watch)
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update",
                 "PATCH": "patch", "DELETE": "delete"}
# sub-paths of a namespace that are its subresources, not a namespaced resource
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class RequestInfo:
    """The parsed request (RequestInfo), without a user."""

    resource_request: bool
    verb: str
    path: str
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    def attributes(self, user: UserInfo) -> Attributes:
        return Attributes(user=user, verb=self.verb, resource_request=self.resource_request,
                          namespace=self.namespace, api_group=self.api_group,
                          api_version=self.api_version, resource=self.resource,
                          subresource=self.subresource, name=self.name, path=self.path)


def _true(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def _selected_name(selector: str) -> str:
    """The name a field selector requires (`metadata.name=X`), as RequiresExactMatch."""
    for term in selector.split(","):
        for op in ("==", "="):
            field, sep, value = term.partition(op)
            if sep and field.strip() == "metadata.name" and value and "/" not in value:
                return value.strip()
    return ""


def request_info(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    """Parse one request; `query` holds the query parameters (first value of each)."""
    non_resource = RequestInfo(False, method.lower(), path)
    trimmed = path.strip("/")
    parts = trimmed.split("/") if trimmed else []
    if "%" in trimmed:
        parts = [unquote(p) for p in parts]
    if not parts or parts[0] not in ("api", "apis"):
        return non_resource
    parts = parts[1:]
    group = ""
    if path.startswith("/apis"):
        if len(parts) < 3:  # /apis, /apis/GROUP, /apis/GROUP/VERSION: discovery
            return non_resource
        group, parts = parts[0], parts[1:]
    elif len(parts) < 2:  # /api, /api/v1
        return non_resource
    version, parts = parts[0], parts[1:]
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    if parts and parts[0] == "watch":  # the deprecated /api/v1/watch/... paths
        verb, parts = "watch", parts[1:]
    namespace = ""
    if parts and parts[0] == "namespaces":
        if len(parts) > 1:
            namespace = parts[1]
            if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
                parts = parts[2:]
    resource = parts[0] if parts else ""
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if _true(query.get("watch")) else "list"
        name = _selected_name(query.get("fieldSelector", ""))  # kubectl get -w NAME
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(True, verb, path, group, version, namespace, resource, subresource, name)
