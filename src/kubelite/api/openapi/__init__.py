"""OpenAPI documents generated from api/definitions.json and the kind registry.

- v3: `openapi_v3_index()` (GET /openapi/v3) and `openapi_v3_document("api/v1")`
  (GET /openapi/v3/api/v1), used by kubectl >= 1.29 for apply validation and by
  every kubectl for `explain`.
- v2: `openapi_v2()` (GET /openapi/v2 as JSON) and `openapi_v2_protobuf()` (the same as
  gnostic protobuf, which kubectl 1.27/1.28 require).

Everything is computed once per set of served kinds (a CustomResourceDefinition established
or removed makes a new set); the returned bytes are shared and immutable.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from kubelite.api import registry
from kubelite.api.crd import openapi as crd_openapi
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


def _served(group: str, version: str) -> tuple[registry.Kind, ...]:
    return tuple(k for k in registry.served_kinds() if (k.group, k.version) == (group, version))


def _component_names(paths: Any, custom: dict[str, dict[str, Any]]) -> list[str]:
    """Built-in definitions the paths (and custom schemas they name) reach, then the custom ones."""
    refs = list(_refs(paths))
    named = [r for r in refs if r in custom]
    refs += [r for name in named for r in _refs(custom[name])]
    return referenced(refs) + sorted(set(named))


@lru_cache(maxsize=512)
def _v3_document(group: str, version: str, kinds: tuple[registry.Kind, ...]) -> bytes:
    """One group version's document, computed once for its set of kinds: a CRD change
    rebuilds only its own group version's."""
    defs = definitions()
    custom = crd_openapi.schemas(list(kinds))
    paths = group_version_paths(group, version)
    schemas = {name: custom.get(name) or V3_SCHEMAS.get(name) or convert(defs[name], v3=True)
               for name in _component_names(paths, custom)}
    doc = {"openapi": "3.0.0", "info": INFO, "paths": paths, "components": {"schemas": schemas}}
    return _dumps(doc)


def _v3_documents() -> dict[str, bytes]:
    return {_key(g, v): _v3_document(g, v, _served(g, v)) for g, v in registry.group_versions()}


def _v3_index() -> dict[str, Any]:
    return _v3_index_at(registry.served_generation())


@lru_cache(maxsize=2)
def _v3_index_at(generation: int) -> dict[str, Any]:
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


@lru_cache(maxsize=512)
def _v2_part(group: str, version: str, kinds: tuple[registry.Kind, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(paths, definitions) of one group version in swagger 2.0."""
    defs = definitions()
    custom = crd_openapi.schemas(list(kinds))
    paths = {name: v2.path_item(item) for name, item in group_version_paths(group, version).items()}
    names = _component_names(paths, custom)
    return paths, {name: crd_openapi.to_v2(custom[name]) if name in custom
                   else convert(defs[name], v3=False) for name in names}


def _v2() -> dict[str, Any]:
    return _v2_at(registry.served_generation())


@lru_cache(maxsize=2)
def _v2_at(generation: int) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    found: dict[str, Any] = {}
    for group, version in registry.group_versions():
        part_paths, part_defs = _v2_part(group, version, _served(group, version))
        paths.update(part_paths)
        found.update(part_defs)
    return {
        "swagger": "2.0",
        "info": INFO,
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(found.items())),
    }


def openapi_v2() -> dict[str, Any]:
    """GET /openapi/v2 (swagger 2.0) as a fresh dict."""
    return json.loads(openapi_v2_json())


def openapi_v2_json() -> bytes:
    """GET /openapi/v2 with Accept application/json, as cached bytes."""
    return _v2_json_at(registry.served_generation())


@lru_cache(maxsize=2)
def _v2_json_at(generation: int) -> bytes:
    return _dumps(_v2())


def openapi_v2_protobuf() -> bytes:
    """GET /openapi/v2 as gnostic protobuf (kubectl 1.27/1.28), as cached bytes."""
    return _v2_protobuf_at(registry.served_generation())


@lru_cache(maxsize=2)
def _v2_protobuf_at(generation: int) -> bytes:
    return gnostic.document(_v2())
