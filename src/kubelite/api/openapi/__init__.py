"""OpenAPI documents generated from api/definitions.json and the kind registry.

- v3: `openapi_v3_index()` (GET /openapi/v3) and `openapi_v3_document("api/v1")`
  (GET /openapi/v3/api/v1), used by kubectl >= 1.29 for apply validation and by
  every kubectl for `explain`.
- v2: `openapi_v2()` (GET /openapi/v2 as JSON) and `openapi_v2_protobuf()` (the same as
  gnostic protobuf, which kubectl 1.27/1.28 require).

Everything is computed once per process; the returned bytes are shared and immutable.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from kubelite.api import registry
from kubelite.api.openapi import gnostic, v2
from kubelite.api.openapi.meta import V3_SCHEMAS
from kubelite.api.openapi.paths import group_version_paths
from kubelite.api.openapi.schemas import _refs, convert, definitions, referenced

__all__ = [
    "PROTOBUF_ACCEPT",
    "PROTOBUF_CONTENT_TYPE",
    "openapi_v2",
    "openapi_v2_json",
    "openapi_v2_protobuf",
    "openapi_v3_document",
    "openapi_v3_index",
]

# Serve openapi_v2_protobuf() when the Accept header contains "protobuf" (kubectl sends
# PROTOBUF_ACCEPT), with Content-Type PROTOBUF_CONTENT_TYPE.
PROTOBUF_ACCEPT = gnostic.ACCEPT
PROTOBUF_CONTENT_TYPE = gnostic.CONTENT_TYPE
INFO = {"title": "Kubernetes", "version": "v1.32.0"}


def _key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


@cache
def _v3_documents() -> dict[str, bytes]:
    defs = definitions()
    docs: dict[str, bytes] = {}
    for group, version in registry.group_versions():
        paths = group_version_paths(group, version)
        schemas = {name: V3_SCHEMAS.get(name) or convert(defs[name], v3=True)
                   for name in referenced(_refs(paths))}
        doc = {"openapi": "3.0.0", "info": INFO, "paths": paths, "components": {"schemas": schemas}}
        docs[_key(group, version)] = _dumps(doc)
    return docs


@cache
def _v3_index() -> dict[str, Any]:
    paths = {}
    for key, body in _v3_documents().items():
        digest = hashlib.sha512(body).hexdigest().upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def openapi_v3_index() -> dict[str, Any]:
    """GET /openapi/v3: each group version's document URL, with a content hash for caching."""
    return json.loads(json.dumps(_v3_index()))


def openapi_v3_document(path: str) -> bytes | None:
    """GET /openapi/v3/<path> (path like "api/v1" or "apis/apps/v1"), None if unknown."""
    path = path.strip("/").removeprefix("openapi/v3/")
    return _v3_documents().get(path)


@cache
def _v2() -> dict[str, Any]:
    defs = definitions()
    paths: dict[str, Any] = {}
    for group, version in registry.group_versions():
        for name, item in group_version_paths(group, version).items():
            paths[name] = v2.path_item(item)
    names = referenced(_refs(paths))
    return {
        "swagger": "2.0",
        "info": INFO,
        "paths": dict(sorted(paths.items())),
        "definitions": {name: convert(defs[name], v3=False) for name in names},
    }


def openapi_v2() -> dict[str, Any]:
    """GET /openapi/v2 (swagger 2.0) as a fresh dict."""
    return json.loads(openapi_v2_json())


@cache
def openapi_v2_json() -> bytes:
    """GET /openapi/v2 with Accept application/json, as cached bytes."""
    return _dumps(_v2())


@cache
def openapi_v2_protobuf() -> bytes:
    """GET /openapi/v2 as gnostic protobuf (kubectl 1.27/1.28), as cached bytes."""
    return gnostic.document(_v2())
