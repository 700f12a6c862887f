"""What apiextensions validation says of a CRD's openAPIV3Schema.

After the size and keyword-type checks of schema_shape, three passes in Kubernetes' order:
structural-schema rules (structural_rules), then defaults valid against their schema
(schema/defaulting, here), then the OpenAPI rules of
ValidateCustomResourceDefinitionOpenAPISchema (unsupported keywords, list/map types,
x-kubernetes-validations, compiled only when the schema is otherwise sound and priced by
cost.Cardinality). Paths are the caller's (`spec.versions[0].schema.openAPIV3Schema`) plus
`properties[spec].items...`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kubelite.api.crd import cel
from kubelite.api.crd.celfields import undefined_field
from kubelite.api.crd.cost import Cardinality
from kubelite.api.crd.openapi_validate import Validator
from kubelite.api.crd.pruning import prune_value
from kubelite.api.crd.rules import RuleTree, normalize_field_path, validate_rules
from kubelite.api.crd.schema_shape import bounded, go_json, key_path, properties_of, shape
from kubelite.api.crd.structural_rules import structural_errors
from kubelite.api.validation.errors import (
    FieldError,
    GoValue,
    forbidden,
    invalid,
    not_supported,
    required,
)

OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
SUPPORTED_REASONS = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid",
                     "FieldValueRequired"]


# --- pass 2: defaults ------------------------------------------------------------------

def _defaults(s: dict[str, Any], path: str, errs: list[FieldError], in_meta: bool,
              root: bool = False) -> None:
    """Defaults must be pruned and valid; the root counts as an embedded resource, so defaults
    under its metadata/apiVersion/kind are left to the OpenAPI pass (which forbids them)."""
    if "default" in s and not in_meta:
        value = s["default"]
        pruned = copy.deepcopy(value)
        if prune_value(pruned, s):
            errs.append(invalid(f"{path}.default", go_json(value), "must not have unknown fields"))
        else:
            errs.extend(Validator(f"{path}.default").run(s, value))
            errs.extend(_rules_on_default(s, value, f"{path}.default"))
    if isinstance(s.get("items"), dict):
        _defaults(s["items"], f"{path}.items", errs, in_meta)
    embedded = root or bool(s.get("x-kubernetes-embedded-resource"))
    for k, sub in properties_of(s).items():
        if isinstance(sub, dict):
            _defaults(sub, key_path(path, k), errs,
                      in_meta or (embedded and k in ("metadata", "apiVersion", "kind")))


def _rules_on_default(s: dict[str, Any], value: Any, path: str) -> list[FieldError]:
    out = []
    for e in validate_rules(RuleTree.build(s), value, None, False):
        field = e.field if e.field != "<nil>" else ""
        out.append(type(e)(e.type, f"{path}.{field}" if field else path, e.value, e.detail))
    return out


# --- pass 3: OpenAPI rules and x-kubernetes-validations -----------------------------------

class _Context:
    """Per-walk state: whether defaults are allowed here and where oldSelf stops correlating."""

    def __init__(self, allow_defaults: bool = True, reason: str = "", in_meta: bool = False,
                 uncorrelatable: str = "") -> None:
        self.allow_defaults = allow_defaults
        self.reason = reason
        self.in_meta = in_meta
        self.uncorrelatable = uncorrelatable

    def but(self, **changes: Any) -> _Context:
        c = _Context(self.allow_defaults, self.reason, self.in_meta, self.uncorrelatable)
        for k, v in changes.items():
            setattr(c, k, v)
        return c


def _openapi(s: dict[str, Any], path: str, ctx: _Context, root: bool, celok: bool,
             errs: list[FieldError], card: Cardinality, costs: list[tuple[str, int]]) -> int:
    """ValidateCustomResourceDefinitionOpenAPISchema; returns the number of schema errors."""
    start = len(errs)
    _standard(s, path, ctx, errs)
    if s.get("uniqueItems"):
        errs.append(forbidden(f"{path}.uniqueItems",
                              "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
    props = properties_of(s)
    additional = s.get("additionalProperties")
    if additional is not None:
        if props and (additional is False or isinstance(additional, dict)):
            errs.append(forbidden(f"{path}.additionalProperties",
                                  "additionalProperties and properties are mutual exclusive"))
        if isinstance(additional, dict):
            sub = ctx.but(allow_defaults=False, reason="inside additionalProperties applying to "
                          "object metadata") if ctx.in_meta else ctx
            _openapi(additional, f"{path}.additionalProperties", sub, False, celok, errs,
                     card.child(additional, many=True), costs)
    for k, sub_schema in props.items():
        if not isinstance(sub_schema, dict):
            continue
        sub = ctx
        if s.get("x-kubernetes-map-type") not in (None, "granular", "atomic") and not sub.uncorrelatable:
            sub = sub.but(uncorrelatable=path)
        if (root or s.get("x-kubernetes-embedded-resource")) and k in ("metadata", "kind", "apiVersion"):
            sub = sub.but(in_meta=True)
            if root:
                sub = sub.but(allow_defaults=False, reason=f"in top-level {k}")
        _openapi(sub_schema, key_path(path, k), sub, False, celok, errs, card.child(sub_schema), costs)
    for word in ("allOf", "oneOf", "anyOf"):
        for i, sub_schema in enumerate(s.get(word) or []):
            if isinstance(sub_schema, dict):
                _openapi(sub_schema, f"{path}.{word}[{i}]", ctx, False, False, errs, card, costs)
    if isinstance(s.get("not"), dict):
        _openapi(s["not"], f"{path}.not", ctx, False, False, errs, card, costs)
    items = s.get("items")
    if isinstance(items, dict):
        sub = ctx
        if s.get("x-kubernetes-list-type") != "map" and not sub.uncorrelatable:
            sub = sub.but(uncorrelatable=path)
        _openapi(items, f"{path}.items", sub, False, celok, errs, card.child(items, many=True), costs)
    _extensions(s, path, errs)
    if s.get("x-kubernetes-validations"):
        _validations(s, path, ctx, errs, celok and len(errs) == start, card, costs,
                     root or bool(s.get("x-kubernetes-embedded-resource")))
    return len(errs) - start


def _standard(s: dict[str, Any], path: str, ctx: _Context, errs: list[FieldError]) -> None:
    t = s.get("type")
    if t and t not in OPENAPI_TYPES and t != "null":
        errs.append(not_supported(f"{path}.type", t, OPENAPI_TYPES))
    if "default" in s and not ctx.allow_defaults:
        errs.append(forbidden(f"{path}.default", "must not be set" + (f" {ctx.reason}" if ctx.reason else "")))
    for keyword, words in (("id", "id is not supported"),
                           ("additionalItems", "additionalItems is not supported"),
                           ("patternProperties", "patternProperties is not supported"),
                           ("definitions", "definitions is not supported"),
                           ("dependencies", "dependencies is not supported"),
                           ("$ref", "$ref is not supported")):
        if s.get(keyword) not in (None, "", {}):
            errs.append(forbidden(f"{path}.{keyword}", words))
    if t == "null":
        errs.append(forbidden(f"{path}.type", "type cannot be set to null, use nullable as an alternative"))
    if isinstance(s.get("items"), list):
        errs.append(forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if ctx.in_meta and s.get("x-kubernetes-embedded-resource"):
        errs.append(forbidden(f"{path}.x-kubernetes-embedded-resource", "must not be used inside of resource meta"))


def _extensions(s: dict[str, Any], path: str, errs: list[FieldError]) -> None:
    t = s.get("type") or ""
    if s.get("x-kubernetes-preserve-unknown-fields") is False:
        errs.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False, "must be true or undefined"))
    map_type = s.get("x-kubernetes-map-type")
    if map_type is not None and t != "object":
        words = "must be object if x-kubernetes-map-type is specified"
        errs.append(required(f"{path}.type", words) if not t else invalid(f"{path}.type", t, words))
    if map_type is not None and map_type not in ("atomic", "granular"):
        errs.append(not_supported(f"{path}.x-kubernetes-map-type", map_type, ["atomic", "granular"]))
    list_type = s.get("x-kubernetes-list-type")
    items = s.get("items") if isinstance(s.get("items"), dict) else None
    if list_type is not None and t != "array":
        words = "must be array if x-kubernetes-list-type is specified"
        errs.append(required(f"{path}.type", words) if not t else invalid(f"{path}.type", t, words))
    elif list_type == "set" and items is not None:
        it = items.get("type")
        item_list_type = items.get("x-kubernetes-list-type")
        shown = GoValue('"null"') if item_list_type is None else item_list_type  # Go's nil *string
        if it == "array" and item_list_type not in (None, "atomic"):
            errs.append(invalid(f"{path}.items.x-kubernetes-list-type", shown,
                                "must be atomic as item of a list with x-kubernetes-list-type=set"))
        if it == "object" and items.get("x-kubernetes-map-type") != "atomic":
            errs.append(invalid(f"{path}.items.x-kubernetes-map-type", shown,
                                "must be atomic as item of a list with x-kubernetes-list-type=set"))
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        errs.append(not_supported(f"{path}.x-kubernetes-list-type", list_type, ["atomic", "set", "map"]))
    keys = s.get("x-kubernetes-list-map-keys") or []
    if keys:
        words = "must be map if x-kubernetes-list-map-keys is non-empty"
        if list_type is None:
            errs.append(required(f"{path}.x-kubernetes-list-type", words))
        elif list_type != "map":
            errs.append(invalid(f"{path}.x-kubernetes-list-type", list_type, words))
    if list_type == "map":
        _map_list(s, items, keys, path, errs)
    if list_type in ("set", "map") and items is not None:
        if items.get("nullable"):
            errs.append(forbidden(f"{path}.items.nullable", f"cannot be nullable when x-kubernetes-list-type is {list_type}"))
        if list_type == "map":
            req = set(items.get("required") or [])
            for k in keys:
                prop = properties_of(items).get(k)
                if not isinstance(prop, dict):
                    continue
                if k not in req and "default" not in prop:
                    errs.append(required(f"{key_path(path + '.items', k)}.default", "this property is in "
                                         "x-kubernetes-list-map-keys, so it must have a default or be a required property"))
                if prop.get("nullable"):
                    errs.append(forbidden(f"{key_path(path + '.items', k)}.nullable",
                                          "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"))


def _map_list(s: dict[str, Any], items: dict[str, Any] | None, keys: list[Any], path: str,
              errs: list[FieldError]) -> None:
    if not keys:
        errs.append(required(f"{path}.x-kubernetes-list-map-keys", "must not be empty if x-kubernetes-list-type is map"))
    if "items" not in s:
        errs.append(required(f"{path}.items", "must have a schema if x-kubernetes-list-type is map"))
    elif items is None:
        errs.append(invalid(f"{path}.items", go_json(s["items"]), "must only have a single schema if x-kubernetes-list-type is map"))
    elif items.get("type") != "object":
        errs.append(invalid(f"{path}.items.type", items.get("type") or "",
                            "must be object if parent array's x-kubernetes-list-type is map"))
    else:
        seen: set[str] = set()
        for k in keys:
            prop = properties_of(items).get(k)
            if isinstance(prop, dict):
                if prop.get("type") in ("array", "object"):
                    errs.append(invalid(f"{key_path(path + '.items', k)}.type", "object",
                                        "must be a scalar type if parent array's x-kubernetes-list-type is map"))
            else:
                errs.append(invalid(f"{path}.x-kubernetes-list-map-keys", GoValue(_go_strings(keys)),
                                    "entries must all be names of item properties"))
            if k in seen:
                errs.append(invalid(f"{path}.x-kubernetes-list-map-keys", GoValue(_go_strings(keys)),
                                    "must not contain duplicate entries"))
            seen.add(str(k))


def _go_strings(values: list[Any]) -> str:
    return "[]string{" + ", ".join(json.dumps(str(v)) for v in values) + "}"


def rule_repr(rule: dict[str, Any]) -> GoValue:
    """%#v of an apiextensions.ValidationRule, the value Kubernetes prints for a bad rule."""
    reason = rule.get("reason")
    reason_text = (f'(*apiextensions.FieldValueErrorReason)({json.dumps(reason)})' if reason
                   else "(*apiextensions.FieldValueErrorReason)(nil)")
    old = rule.get("optionalOldSelf")
    old_text = f"(*bool)({'true' if old else 'false'})" if old is not None else "(*bool)(nil)"
    return GoValue(
        f'apiextensions.ValidationRule{{Rule:{json.dumps(rule.get("rule", ""))}, '
        f'Message:{json.dumps(rule.get("message", ""))}, '
        f'MessageExpression:{json.dumps(rule.get("messageExpression", ""))}, '
        f'Reason:{reason_text}, FieldPath:{json.dumps(rule.get("fieldPath", ""))}, '
        f'OptionalOldSelf:{old_text}}}')


def _validations(s: dict[str, Any], path: str, ctx: _Context, errs: list[FieldError],
                 compile_now: bool, card: Cardinality, costs: list[tuple[str, int]],
                 root: bool) -> None:
    rules = s.get("x-kubernetes-validations")
    if not isinstance(rules, list):
        return
    before = len(errs)
    for i, rule in enumerate(rules):
        rp = f"{path}.x-kubernetes-validations[{i}]"
        if not isinstance(rule, dict):
            continue
        text = str(rule.get("rule") or "").strip()
        message = str(rule.get("message") or "")
        if not text:
            errs.append(required(f"{rp}.rule", "rule is not specified"))
        elif message and not message.strip():
            errs.append(invalid(f"{rp}.message", message, "message must be non-empty if specified"))
        elif "\n" in message.strip() or "\r" in message.strip():
            errs.append(invalid(f"{rp}.message", message, "message must not contain line breaks"))
        elif ("\n" in text or "\r" in text) and not message.strip():
            errs.append(required(f"{rp}.message", "message must be specified if rule contains line breaks"))
        mexpr = rule.get("messageExpression")
        if mexpr is not None and str(mexpr) and not str(mexpr).strip():
            errs.append(required(f"{rp}.messageExpression", "messageExpression must be non-empty if specified"))
        reason = rule.get("reason")
        if reason is not None and reason not in SUPPORTED_REASONS:
            errs.append(not_supported(f"{rp}.reason", reason, SUPPORTED_REASONS))
        fp = rule.get("fieldPath")
        if fp is not None and str(fp):
            if not str(fp).strip():
                errs.append(invalid(f"{rp}.fieldPath", fp, "fieldPath must be non-empty if specified"))
            elif "\n" in str(fp):
                errs.append(invalid(f"{rp}.fieldPath", fp, "fieldPath must not contain line breaks"))
            elif not _field_path_valid(s, str(fp)):
                errs.append(invalid(f"{rp}.fieldPath", fp, "fieldPath must be a valid path"))
    if not compile_now or len(errs) != before:
        return
    for i, rule in enumerate(rules):
        rp = f"{path}.x-kubernetes-validations[{i}]"
        if not isinstance(rule, dict) or not str(rule.get("rule") or "").strip():
            continue
        try:
            program = cel.compile_expression(str(rule["rule"]))
        except cel.CelCompileError as err:
            errs.append(invalid(f"{rp}.rule", rule_repr(rule), f"compilation failed: {err}"))
            continue
        unknown = undefined_field(program.source, s, root)
        if unknown:
            errs.append(invalid(f"{rp}.rule", rule_repr(rule), f"compilation failed: {unknown}"))
            continue
        if program.returns not in ("BOOL", "DYN"):
            errs.append(invalid(f"{rp}.rule", rule_repr(rule), "cel expression must evaluate to a bool"))
        cost = card.rule_cost(program.source)
        if cost > cel.STATIC_ESTIMATED_COST_LIMIT:
            errs.append(forbidden(f"{rp}.rule", cel.cost_error_message(
                "estimated rule cost", cost, cel.STATIC_ESTIMATED_COST_LIMIT)))
        costs.append((f"{rp}.rule", cost))
        if rule.get("messageExpression"):
            try:
                message_program = cel.compile_expression(str(rule["messageExpression"]))
            except cel.CelCompileError as err:
                errs.append(invalid(f"{rp}.messageExpression", rule_repr(rule),
                                    f"messageExpression compilation failed: {err}"))
            else:
                if message_program.returns not in ("STRING", "DYN"):
                    errs.append(invalid(f"{rp}.messageExpression", rule_repr(rule),
                                        "must evaluate to a string"))
        if program.uses_old_self:
            if ctx.uncorrelatable:
                errs.append(invalid(f"{rp}.rule", rule["rule"], "oldSelf cannot be used on the "
                                    f"uncorrelatable portion of the schema within {ctx.uncorrelatable}"))
        elif rule.get("optionalOldSelf") is not None:
            errs.append(invalid(f"{rp}.optionalOldSelf", bool(rule["optionalOldSelf"]),
                                "may not be set if oldSelf is not used in rule"))


def _field_path_valid(s: dict[str, Any], path: str) -> bool:
    normalized = normalize_field_path(path)
    if not normalized:
        return False
    node: Any = s
    for part in _split(normalized):
        props = properties_of(node) if isinstance(node, dict) else {}
        if part in props:
            node = props[part]
        elif isinstance(node, dict) and isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return False
    return True


def _split(normalized: str) -> list[str]:
    parts: list[str] = []
    buf = ""
    i = 0
    while i < len(normalized):
        ch = normalized[i]
        if ch == ".":
            if buf:
                parts.append(buf)
            buf = ""
        elif ch == "[":
            if buf:
                parts.append(buf)
            end = normalized.index("]", i)
            parts.append(normalized[i + 1:end])
            buf, i = "", end
        else:
            buf += ch
        i += 1
    if buf:
        parts.append(buf)
    return parts


# --- entry point -----------------------------------------------------------------------------

_ROOT_WITH_STATUS = {  # JSON name -> JSONSchemaProps field (allowedFieldsAtRootSchema)
    "description": "Description", "type": "Type", "format": "Format", "title": "Title",
    "maximum": "Maximum", "exclusiveMaximum": "ExclusiveMaximum", "minimum": "Minimum",
    "exclusiveMinimum": "ExclusiveMinimum", "maxLength": "MaxLength", "minLength": "MinLength",
    "pattern": "Pattern", "maxItems": "MaxItems", "minItems": "MinItems",
    "uniqueItems": "UniqueItems", "multipleOf": "MultipleOf", "required": "Required",
    "items": "Items", "properties": "Properties", "externalDocs": "ExternalDocs",
    "example": "Example", "x-kubernetes-preserve-unknown-fields": "XPreserveUnknownFields",
    "x-kubernetes-validations": "XValidations"}


def _status_root(schema: dict[str, Any], path: str) -> list[FieldError]:
    """With the status subresource, the root may only hold what survives extracting
    properties[status] (validateCustomResourceDefinitionValidation)."""
    for key, value in schema.items():
        if value in (None, False, "", 0, [], {}):
            continue
        if key == "type":
            if value != "object":
                return [invalid(f"{path}.type", value, 'only "object" is allowed as the type at '
                                "the root of the schema if the status subresource is enabled")]
            continue
        if key not in _ROOT_WITH_STATUS:
            allowed = " ".join(_ROOT_WITH_STATUS.values())
            return [invalid(path, go_json(schema), f"only [{allowed}] fields are allowed at the root "
                            "of the schema if the status subresource is enabled")]
    return []


def validate_crd_schema(schema: Any, field_path: str,
                        status_subresource: bool = False) -> list[FieldError]:
    """What Kubernetes' apiextensions validation says of `schema` (an openAPIV3Schema).

    `field_path` is where the schema sits, e.g. `spec.versions[0].schema.openAPIV3Schema`;
    `status_subresource` is whether that version serves /status (it restricts the root).
    """
    if not isinstance(schema, dict):
        return [required(f"{field_path}.type", "must not be empty at the root")]
    refused = bounded(schema, field_path) or shape(schema, field_path)
    if refused:
        return refused
    errs: list[FieldError] = _status_root(schema, field_path) if status_subresource else []
    structural = structural_errors(schema, field_path)
    celok = False
    if structural:
        errs.extend(structural)
    else:
        defaults: list[FieldError] = []
        _defaults(schema, field_path, defaults, False, root=True)
        errs.extend(defaults)
        celok = not defaults
    if schema.get("nullable"):
        errs.append(forbidden(f"{field_path}.nullable", "nullable cannot be true at the root"))
    costs: list[tuple[str, int]] = []
    _openapi(schema, field_path, _Context(), True, celok, errs, Cardinality(schema), costs)
    total = sum(c for _, c in costs)
    if total > cel.STATIC_ESTIMATED_CRD_COST_LIMIT:
        for p, _ in sorted(costs, key=lambda pc: -pc[1])[:4]:
            errs.append(forbidden(p, "contributed to estimated rule cost total exceeding cost "
                                     "limit for entire OpenAPIv3 schema"))
        errs.append(forbidden(field_path, cel.cost_error_message(
            "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
            total, cel.STATIC_ESTIMATED_CRD_COST_LIMIT)))
    return errs
