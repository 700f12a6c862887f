"""The registry `Kind`s an Established CustomResourceDefinition serves: one per served
version, named by status.acceptedNames, each carrying a `CustomInfo` with what the CRD
says of that version (schema, printer columns, subresources, selectable fields)."""

from __future__ import annotations

import copy
import keyword
import logging
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Any

import msgspec

from kubelite.api.crd import tables
from kubelite.api.crd.schema import CompiledSchema, SchemaError
from kubelite.api.crd.versions import compare_versions
from kubelite.api.patch.schema import add_definition
from kubelite.api.registry import ALL_VERBS, Kind, Subresource
from kubelite.api.tables._base import Printer
from kubelite.api.types._base import K8sObject
from kubelite.api.types.meta_v1 import ObjectMeta

log = logging.getLogger(__name__)

STATUS = Subresource("status", ("get", "patch", "update"))
SCALE = Subresource("scale", ("get", "patch", "update"), ("autoscaling", "v1", "Scale"))
_META_FIELDS = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True, eq=False)
class ScalePaths:
    """A version's scale subresource: where replicas and the selector live (JSON paths)."""

    spec_replicas: str
    status_replicas: str
    label_selector: str | None


@dataclass(frozen=True, eq=False)
class CustomInfo:
    """What one version of a CRD says of its objects. Compared by identity: a changed CRD
    makes new Kinds, so caches keyed by Kind never serve a stale schema."""

    crd_name: str
    singular: str
    storage_version: str
    schema: CompiledSchema | None
    raw_schema: dict[str, Any] | None
    printer: Printer
    status: bool
    scale: ScalePaths | None
    selectable_fields: tuple[str, ...]
    deprecated: bool = False
    deprecation_warning: str | None = None
    webhook_conversion: bool = False
    # the CRD is being deleted: its objects are going, no new ones are taken
    terminating: bool = False
    # objects may be stored in another version than this one's (several versions, or a
    # storage version that changed): their apiVersion is rewritten on the way out
    rewrites_api_version: bool = False

    @property
    def storage_api_version(self) -> str:
        group = self.crd_name.split(".", 1)[1]
        return f"{group}/{self.storage_version}"


def _field_name(json_name: str, taken: set[str]) -> str:
    name = json_name if json_name.isidentifier() and not keyword.iskeyword(json_name) else ""
    if not name or name.startswith("_") or name in taken:
        name = f"field_{len(taken)}"
    taken.add(name)
    return name


def object_type(schema: dict[str, Any] | None) -> type[msgspec.Struct]:
    """A Struct of the CRD's top-level fields (the generic store needs one), each kept as
    plain JSON: apiVersion, kind, metadata, then the schema's properties (spec, status)."""
    # spec and status always (the strategies read them; pruning drops them when undeclared)
    declared = (schema or {}).get("properties")
    props = ["spec", "status"] + [p for p in (declared if isinstance(declared, dict) else {})
                                  if isinstance(p, str) and p not in (*_META_FIELDS, "spec", "status")]
    taken = {"api_version", "kind", "metadata"}
    fields: list[tuple[str, Any, Any]] = [
        ("api_version", str | None, msgspec.field(default=None, name="apiVersion")),
        ("kind", str | None, None),
        ("metadata", ObjectMeta | None, None),
    ]
    for prop in props:
        fields.append((_field_name(prop, taken), Any, msgspec.field(default=None, name=prop)))
    return msgspec.defstruct("CustomResource", fields, bases=(K8sObject,), kw_only=True,
                             omit_defaults=True)


def _compile(schema: dict[str, Any] | None, crd_name: str, version: str) -> CompiledSchema | None:
    if not schema:
        return None
    try:
        return CompiledSchema.compile(schema)
    except SchemaError as e:  # validation refuses these: only a CRD stored before could have one
        log.warning("CRD %s version %s: schema does not compile: %s", crd_name, version, e)
        return None


_OBJECT_META = {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}


def _patch_definition(crd: dict[str, Any], version: str, raw: dict[str, Any] | None) -> str:
    """Register the version's schema for server-side apply (list types, map keys, atomic maps
    as the CRD declares them) under a name unique to this state of the CRD; "" without one."""
    if not isinstance(raw, dict) or not isinstance(raw.get("properties", {}), dict):
        return ""  # not structural: validation refuses it (server-side apply treats it as opaque)
    meta = crd.get("metadata") or {}
    name = f"kubelite.customresource.{meta.get('name')}.{meta.get('uid', '')}.{meta.get('resourceVersion', '')}.{version}"
    schema = copy.deepcopy(raw)
    props = schema.setdefault("properties", {})
    props["metadata"] = _OBJECT_META
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    add_definition(name, schema)
    return name


def _scale(subresources: dict[str, Any]) -> ScalePaths | None:
    scale = subresources.get("scale")
    if not isinstance(scale, dict):
        return None
    return ScalePaths(str(scale.get("specReplicasPath", "")), str(scale.get("statusReplicasPath", "")),
                      scale.get("labelSelectorPath") or None)


def deprecation_warning(group: str, kind: str, version: dict[str, Any],
                        versions: list[dict[str, Any]]) -> str | None:
    """The Warning a request to a deprecated version gets (defaultDeprecationWarning when
    the CRD gives none): the newest served, non-deprecated, higher version to use instead."""
    if not version.get("deprecated"):
        return None
    if version.get("deprecationWarning") is not None:
        return str(version["deprecationWarning"])
    name = str(version.get("name", ""))
    message = f"{group}/{name} {kind} is deprecated"
    better = [v for v in sorted_versions(versions) if v.get("served") and not v.get("deprecated")
              and compare_versions(name, str(v.get("name", ""))) < 0]
    return message + (f"; use {group}/{better[0]['name']} {kind}" if better else "")


def sorted_versions(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Versions by Kubernetes' version priority (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > foo)."""
    def by_priority(a: dict[str, Any], b: dict[str, Any]) -> int:
        return compare_versions(str(b.get("name", "")), str(a.get("name", "")))

    return sorted(versions, key=cmp_to_key(by_priority))


def kinds_of(crd: dict[str, Any], with_schema: bool = True) -> list[Kind]:
    """The kinds an Established CRD serves (none before it is Established), the preferred
    version first; `with_schema=False` skips compiling schemas (for clients that only need
    the URLs, such as the namespace controller)."""
    status = crd.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conditions.get("Established") != "True":
        return []
    spec = crd.get("spec") or {}
    names = status.get("acceptedNames") or spec.get("names") or {}
    group = str(spec.get("group", ""))
    crd_name = str((crd.get("metadata") or {}).get("name", ""))
    versions = spec.get("versions") or []
    storage = next((str(v.get("name")) for v in versions if v.get("storage")), "")
    webhook = (spec.get("conversion") or {}).get("strategy") == "Webhook"
    plural = str(names.get("plural", ""))
    stored = set(status.get("storedVersions") or []) | {storage}
    rewrites = len(versions) > 1 or len(stored) > 1
    kinds = []
    for version in sorted_versions(versions):
        if not version.get("served"):
            continue
        name = str(version.get("name", ""))
        raw = ((version.get("schema") or {}).get("openAPIV3Schema")) or None
        subresources = version.get("subresources") or {}
        has_status = isinstance(subresources.get("status"), dict)
        scale = _scale(subresources)
        info = CustomInfo(
            crd_name=crd_name,
            singular=str(names.get("singular") or str(names.get("kind", "")).lower()),
            storage_version=storage,
            schema=_compile(raw, crd_name, name) if with_schema else None,
            raw_schema=raw,
            printer=tables.printer(list(version.get("additionalPrinterColumns") or [])),
            status=has_status,
            scale=scale,
            selectable_fields=tuple(str(f.get("jsonPath", "")).lstrip(".")
                                    for f in version.get("selectableFields") or []),
            deprecated=bool(version.get("deprecated")),
            deprecation_warning=deprecation_warning(group, str(names.get("kind", "")), version, versions),
            webhook_conversion=webhook,
            terminating=bool((crd.get("metadata") or {}).get("deletionTimestamp")),
            rewrites_api_version=rewrites,
        )
        subs = tuple(s for s, on in ((STATUS, has_status), (SCALE, scale is not None)) if on)
        kinds.append(Kind(
            group=group, version=name, kind=str(names.get("kind", "")), plural=plural,
            type=object_type(raw), namespaced=spec.get("scope") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            verbs=ALL_VERBS, subresources=subs, field_selectors=info.selectable_fields,
            definition=_patch_definition(crd, name, raw) if with_schema else "", custom=info,
        ))
    return kinds
