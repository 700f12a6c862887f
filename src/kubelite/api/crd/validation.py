"""A CustomResourceDefinition's own validation (apiextensions' ValidateCustomResourceDefinition):
name, group, names, scope, versions and their storage flag, subresources, printer columns,
selectable fields; the schema itself is checked by the schema engine (`schema.py`)."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.crd import jsonpath
from kubelite.api.crd.schema import validate_crd_schema
from kubelite.api.validation import names as name_rules
from kubelite.api.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
    too_many,
)
from kubelite.api.validation.meta import validate_object_meta, validate_object_meta_update

SCOPES = ("Cluster", "Namespaced")
CONVERSION_STRATEGIES = ("None", "Webhook")
COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")
COLUMN_FORMATS = ("int32", "int64", "float", "double", "byte", "date", "date-time", "password")
MAX_SELECTABLE_FIELDS = 8
APPROVAL = "api-approved.kubernetes.io"
SPEC = "spec"


def _dict(obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(obj)
    return data


def _dns1035(value: str, path: str, prefix: str = "") -> list[FieldError]:
    errs = name_rules.is_dns1035_label(value.lower() if prefix else value)
    return [invalid(path, value, prefix + ",".join(errs))] if value and errs else []


def validate_names(names: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for field in ("plural", "singular", "kind", "listKind"):
        if not names.get(field):
            errs.append(required(child(path, field)))
    errs += _dns1035(str(names.get("plural") or ""), child(path, "plural"))
    errs += _dns1035(str(names.get("singular") or ""), child(path, "singular"))
    mixed = "may have mixed case, but should otherwise match: "
    errs += _dns1035(str(names.get("kind") or ""), child(path, "kind"), mixed)
    errs += _dns1035(str(names.get("listKind") or ""), child(path, "listKind"), mixed)
    for i, short in enumerate(names.get("shortNames") or []):
        errs += [invalid(index(child(path, "shortNames"), i), short, e)
                 for e in name_rules.is_dns1035_label(str(short))]
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errs.append(invalid(child(path, "listKind"), names["listKind"],
                            "kind and listKind may not be the same"))
    for i, category in enumerate(names.get("categories") or []):
        errs += [invalid(index(child(path, "categories"), i), category, e)
                 for e in name_rules.is_dns1035_label(str(category))]
    return errs


def _validate_scale(scale: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    spec_path = str(scale.get("specReplicasPath") or "")
    status_path = str(scale.get("statusReplicasPath") or "")
    if not spec_path:
        errs.append(required(child(path, "specReplicasPath")))
    elif not spec_path.startswith(".spec."):
        errs.append(invalid(child(path, "specReplicasPath"), spec_path, "should be a json path under .spec"))
    if not status_path:
        errs.append(required(child(path, "statusReplicasPath")))
    elif not status_path.startswith(".status."):
        errs.append(invalid(child(path, "statusReplicasPath"), status_path,
                            "should be a json path under .status"))
    selector = scale.get("labelSelectorPath")
    if selector and not (str(selector).startswith(".spec.") or str(selector).startswith(".status.")):
        errs.append(invalid(child(path, "labelSelectorPath"), selector,
                            "should be a json path under either .spec or .status"))
    return errs


def _validate_columns(columns: list[dict[str, Any]], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, column in enumerate(columns):
        at = index(path, i)
        if not column.get("name"):
            errs.append(required(child(at, "name")))
        if not column.get("type"):
            errs.append(required(child(at, "type")))
        elif column["type"] not in COLUMN_TYPES:
            errs.append(not_supported(child(at, "type"), column["type"], COLUMN_TYPES))
        if column.get("format") and column["format"] not in COLUMN_FORMATS:
            errs.append(not_supported(child(at, "format"), column["format"], COLUMN_FORMATS))
        if not column.get("jsonPath"):
            errs.append(required(child(at, "jsonPath")))
        else:
            errs += _jsonpath(str(column["jsonPath"]), child(at, "jsonPath"))
    return errs


def _jsonpath(path_text: str, path: str) -> list[FieldError]:
    try:
        jsonpath.parse(path_text)
    except jsonpath.JSONPathError as e:
        return [invalid(path, path_text, f"must be a simple json path: {e}")]
    return []


def _validate_selectable(fields: list[dict[str, Any]], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if len(fields) > MAX_SELECTABLE_FIELDS:
        errs.append(too_many(path, len(fields), MAX_SELECTABLE_FIELDS))
    seen: set[str] = set()
    for i, field in enumerate(fields):
        at = child(index(path, i), "jsonPath")
        text = str(field.get("jsonPath") or "")
        if not text:
            errs.append(required(at))
            continue
        errs += _jsonpath(text, at)
        if text.lstrip(".") in ("metadata.name", "metadata.namespace") or text.startswith(".metadata"):
            errs.append(invalid(at, text, "must not select metadata fields"))
        if text in seen:
            errs.append(duplicate(at, text))
        seen.add(text)
    return errs


def _validate_version(version: dict[str, Any], path: str) -> list[FieldError]:
    errs = _dns1035(str(version.get("name") or ""), child(path, "name"))
    if not version.get("name"):
        errs.append(required(child(path, "name")))
    schema = (version.get("schema") or {}).get("openAPIV3Schema")
    schema_path = child(path, "schema", "openAPIV3Schema")
    if schema is None:
        errs.append(required(schema_path, "schemas are required"))
    else:
        errs += validate_crd_schema(schema, schema_path)
    subresources = version.get("subresources") or {}
    if isinstance(subresources.get("scale"), dict):
        errs += _validate_scale(subresources["scale"], child(path, "subresources", "scale"))
    errs += _validate_columns(list(version.get("additionalPrinterColumns") or []),
                              child(path, "additionalPrinterColumns"))
    errs += _validate_selectable(list(version.get("selectableFields") or []),
                                 child(path, "selectableFields"))
    return errs


def _validate_conversion(conversion: dict[str, Any], path: str) -> list[FieldError]:
    """validateCustomResourceConversion (paths as the internal type names them). Webhook
    conversion is accepted; kubelite serves such a CRD in its storage version only."""
    strategy = conversion.get("strategy", "None")
    client_config = (conversion.get("webhook") or {}).get("clientConfig")
    config_path = child(path, "webhookClientConfig")
    if strategy not in CONVERSION_STRATEGIES:
        return [not_supported(child(path, "strategy"), strategy, CONVERSION_STRATEGIES)]
    if strategy == "Webhook" and not client_config:
        return [required(config_path, "required when strategy is set to Webhook")]
    if strategy != "Webhook" and conversion.get("webhook"):
        return [forbidden(config_path, "should not be set when strategy is not set to Webhook")]
    return []


def validate_spec(spec: dict[str, Any], path: str = SPEC) -> list[FieldError]:
    errs: list[FieldError] = []
    group = str(spec.get("group") or "")
    if not group:
        errs.append(required(child(path, "group")))
    else:
        errs += [invalid(child(path, "group"), group, e) for e in name_rules.is_dns1123_subdomain(group)]
        if "." not in group:
            errs.append(invalid(child(path, "group"), group, "should be a domain with at least one dot"))
    scope = spec.get("scope")
    if not scope:
        errs.append(required(child(path, "scope")))
    elif scope not in SCOPES:
        errs.append(not_supported(child(path, "scope"), scope, SCOPES))
    errs += validate_names(spec.get("names") or {}, child(path, "names"))
    versions = list(spec.get("versions") or [])
    if not versions:
        errs.append(required(child(path, "versions")))
    seen: set[str] = set()
    unique = True
    for i, version in enumerate(versions):
        if version.get("name") in seen:
            unique = False
        seen.add(str(version.get("name")))
        errs += _validate_version(version, index(child(path, "versions"), i))
    if versions and not unique:
        errs.append(invalid(child(path, "versions"), versions, "must contain unique version names"))
    if versions and sum(1 for v in versions if v.get("storage")) != 1:
        errs.append(invalid(child(path, "versions"), versions,
                            "must have exactly one version marked as storage version"))
    if versions and not any(v.get("served") for v in versions):
        errs.append(invalid(child(path, "versions"), versions, "must have at least one served version"))
    errs += _validate_conversion(spec.get("conversion") or {}, child(path, "conversion"))
    if spec.get("preserveUnknownFields"):
        errs.append(invalid(child(path, "preserveUnknownFields"), True,
                            "must be false in order to use defaults in the schema"))
    return errs


def validate_crd(crd: Any) -> list[FieldError]:
    """ValidateCustomResourceDefinition."""
    data = _dict(crd)
    errs = validate_object_meta(crd.metadata, False, name_rules.name_is_dns_subdomain)
    spec = data.get("spec") or {}
    name = (data.get("metadata") or {}).get("name", "")
    expected = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"
    if name and name != expected:
        errs.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    errs += _validate_approval(str(spec.get("group", "")), (data.get("metadata") or {}).get("annotations") or {})
    return errs + validate_spec(spec)


def _protected(group: str) -> bool:
    return any(group == g or group.endswith("." + g) for g in ("k8s.io", "kubernetes.io"))


def _validate_approval(group: str, annotations: dict[str, str]) -> list[FieldError]:
    """Groups under k8s.io and kubernetes.io belong to the Kubernetes project: a CRD there
    names the API review that approved it (KEP 1111)."""
    if not _protected(group) or annotations.get(APPROVAL):
        return []
    return [required(f"metadata.annotations[{APPROVAL}]",
                     f'protected groups must have approval annotation "{APPROVAL}", see '
                     "https://github.com/kubernetes/enhancements/pull/1111")]


def _established(data: dict[str, Any]) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (data.get("status") or {}).get("conditions") or [])


def validate_crd_update(new: Any, old: Any) -> list[FieldError]:
    """ValidateCustomResourceDefinitionUpdate: the checks of a create, and once Established
    the scope and group stay; a version still in status.storedVersions stays in spec.versions."""
    errs = validate_object_meta_update(new.metadata, old.metadata) + validate_crd(new)
    before, after = _dict(old), _dict(new)
    old_spec, new_spec = before.get("spec") or {}, after.get("spec") or {}
    if _established(before):
        for field in ("scope", "group"):
            if old_spec.get(field) != new_spec.get(field):
                errs.append(invalid(child(SPEC, field), new_spec.get(field), "field is immutable"))
    names = {str(v.get("name")) for v in new_spec.get("versions") or []}
    for i, stored in enumerate((after.get("status") or {}).get("storedVersions") or []):
        if stored not in names:
            errs.append(invalid(index("status.storedVersions", i), stored,
                                "must appear in spec.versions"))
    return errs

