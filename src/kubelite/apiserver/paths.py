"""Parse resource URLs (/api/v1/namespaces/NS/pods/NAME/status ...) against the registry."""

from __future__ import annotations

from dataclasses import dataclass

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource


@dataclass(frozen=True)
class ResourcePath:
    kind: Kind
    namespace: str | None  # None: all namespaces (or a cluster-scoped kind)
    name: str | None
    subresource: str | None


def parse_resource_path(group: str, version: str, rest: list[str]) -> ResourcePath:
    """`rest` is the path after /api/VERSION or /apis/GROUP/VERSION, split on '/'."""
    rest = [seg for seg in rest if seg]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        candidate = by_resource(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace = rest[1]
            rest = rest[2:]
    if not rest:
        raise st.NotFound("the server could not find the requested resource")
    kind = by_resource(group, version, rest[0])
    if kind is None:
        raise st.NotFound("the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if len(rest) > 3 and not (sub == "proxy"):
        raise st.NotFound("the server could not find the requested resource")
    if sub is not None and not kind.has_subresource(sub):
        raise st.NotFound("the server could not find the requested resource")
    if kind.namespaced and namespace is None and name is not None:
        raise st.NotFound("the server could not find the requested resource")
    return ResourcePath(kind, namespace, name, sub)
